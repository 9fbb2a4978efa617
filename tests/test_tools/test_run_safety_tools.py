"""What the tools refuse or stop on (issue 10): checkpoints from URLs that would run code, misspelt
--cfg-options keys, unreadable images (named, and found beforehand by tools/misc/verify_dataset.py), a stuck
rank (the collective timeout ends the run)."""
import shutil
import time

import pytest
import torch
from mmengine.config import Config

from tests.conftest import free_port, run_command, run_tool
from tests.smoke import make_smoke_config
from tests.test_models.test_backbones.test_pretrained import Exploit, http_root  # noqa: F401  (fixture)

CONFIG = 'configs/davit/davit-tiny_in1k.py'


def test_checkpoint_urls_are_read_weights_only_by_test_and_resume(http_root, imagenet_shapes, tmp_path):
    root, url = http_root
    marker = tmp_path / 'pwned'
    torch.save({'state_dict': {'backbone.x': torch.zeros(1)}, 'evil': Exploit(marker)}, root / 'evil.pth')
    config = make_smoke_config(CONFIG, imagenet_shapes, str(tmp_path), max_iters=2)
    for command in (['tools/test.py', config, f'{url}/evil.pth'],
                    ['tools/train.py', config, '--resume', f'{url}/evil.pth'],
                    ['tools/train.py', config, '--cfg-options', f'load_from={url}/evil.pth']):
        result = run_tool(*command)  # TORCH_HOME: the fixture's hub cache
        assert result.returncode != 0, command
        assert 'UnsafeCheckpointError' in result.stdout and 'system' in result.stdout, result.stdout[-3000:]
    assert not marker.exists()


def test_misspelt_cfg_option_is_an_error_with_a_suggestion(imagenet_shapes, tmp_path):
    config = make_smoke_config(CONFIG, imagenet_shapes, str(tmp_path), max_iters=2)
    (tmp_path / 'any.pth').touch()
    for tool in (['tools/train.py', config], ['tools/test.py', config, str(tmp_path / 'any.pth')]):
        result = run_tool(*tool, '--cfg-options', 'train_dataloder.batch_size=2', 'model.backbone.arch=small')
        assert result.returncode != 0
        assert "train_dataloder.batch_size: the config has no top-level key 'train_dataloder'; did you mean " \
               "'train_dataloader'?" in result.stdout, result.stdout[-2000:]
        assert 'model.backbone.arch' not in result.stdout  # a key that exists is fine


def broken_copy(imagenet_shapes, tmp_path):
    """The shapes set with one empty (0-byte) training image."""
    data = tmp_path / 'data'
    shutil.copytree(imagenet_shapes, data)
    first = open(data / 'meta' / 'train.txt').readline().split()[0]
    bad = data / 'train' / first
    bad.write_bytes(b'')
    return str(data), str(bad)


def test_unreadable_image_is_named_in_training_and_found_by_verify_dataset(imagenet_shapes, tmp_path):
    data, bad = broken_copy(imagenet_shapes, tmp_path)
    config = make_smoke_config(CONFIG, data, str(tmp_path), max_iters=2)
    result = run_tool('tools/misc/verify_dataset.py', config, '--num-process', '2',
                      '--out-path', str(tmp_path / 'bad.txt'))
    assert result.returncode == 1, result.stdout[-2000:]
    assert '1 of ' in result.stdout and bad in result.stdout
    assert open(tmp_path / 'bad.txt').read().split(':')[0] == bad

    result = run_tool('tools/train.py', config, '--cfg-options', 'train_dataloader.sampler.shuffle=False')  # read first
    assert result.returncode != 0
    assert f'DataFileError: {bad}: cannot be read' in result.stdout and 'verify_dataset.py' in result.stdout

    intact = make_smoke_config(CONFIG, imagenet_shapes, str(tmp_path), max_iters=2,
                               out_path=str(tmp_path / 'intact.py'))
    result = run_tool('tools/misc/verify_dataset.py', intact, '--num-process', '2')
    assert result.returncode == 0 and 'can be read' in result.stdout, result.stdout[-2000:]


def test_a_stuck_rank_ends_the_run_after_the_collective_timeout(imagenet_shapes, tmp_path):
    config = make_smoke_config(CONFIG, imagenet_shapes, str(tmp_path), max_iters=4, batch_size=2)
    cfg = Config.fromfile(config)
    cfg.custom_imports = dict(imports=['mmattn.models', 'tests.fault_hooks'], allow_failed_imports=False)
    cfg.custom_hooks = [dict(type='StuckRankHook')]
    cfg.dump(config)
    start = time.time()
    result = run_command(['bash', 'tools/dist_train.sh', config, '2', '--no-validate', '--dist-timeout', '10'],
                         env={'PORT': str(free_port())}, timeout=300)
    assert result.returncode != 0
    assert time.time() - start < 200  # not the default 30 minutes, nor forever
    assert 'timed out' in result.stdout.lower() or 'timeout' in result.stdout.lower(), result.stdout[-3000:]


@pytest.mark.parametrize('task', ['detection', 'segmentation'])
def test_verify_dataset_checks_detection_and_segmentation_records(task, coco_shapes, ade_shapes, tmp_path):
    import glob

    from PIL import Image

    from mmattn.datasets import ADE20K_CLASSES, SHAPE_CLASSES
    from tests.smoke import make_dense_smoke_config
    if task == 'detection':  # an image whose size is not the one its COCO record states
        root = shutil.copytree(coco_shapes, tmp_path / 'data')
        config = make_dense_smoke_config('configs/davit/mask-rcnn_davit-tiny_fpn_ms-crop-1x_coco.py', str(root),
                                         str(tmp_path), SHAPE_CLASSES, 0.1)
        bad = sorted(glob.glob(f'{root}/val2017/*.jpg'))[0]
        expected = 'the annotation says'
    else:  # a label map of another size than its image
        root = shutil.copytree(ade_shapes, tmp_path / 'data')
        config = make_dense_smoke_config('configs/davit/davit-tiny_upernet_8xb2-160k_ade20k-512x512.py', str(root),
                                         str(tmp_path), ADE20K_CLASSES[:4], 1 / 16)
        bad = sorted(glob.glob(f'{root}/annotations/training/*.png'))[0]
        expected = 'label map'
    verify = ['tools/misc/verify_dataset.py', config, '--num-process', '2', '--out-path', str(tmp_path / 'bad.txt')]
    result = run_tool(*verify)
    assert result.returncode == 0 and 'can be read' in result.stdout, result.stdout[-2000:]
    image = Image.open(bad)
    image.resize((image.width + 3, image.height)).save(bad)
    result = run_tool(*verify)
    assert result.returncode == 1 and '1 of ' in result.stdout, result.stdout[-2000:]
    assert f'{bad}: ' in result.stdout and expected in result.stdout


def test_verify_dataset_explains_a_dataset_that_holds_no_samples(coco_shapes):
    """COCO's 80 class names match none of the generated set's categories: every image is filtered out."""
    import runpy
    main = runpy.run_path('tools/misc/verify_dataset.py', run_name='verify_dataset')['main']
    with pytest.raises(SystemExit, match=r'train_dataloader: the dataset holds no samples.*metainfo\.classes'):
        main(['configs/davit/mask-rcnn_davit-tiny_fpn_ms-crop-1x_coco.py', '--split', 'train',
              '--cfg-options', f'train_dataloader.dataset.data_root={coco_shapes}/'])
