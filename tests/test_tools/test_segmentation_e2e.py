"""ADE20K segmentation through the real command lines, on the generated ADE20K-format set: UPerNet with DAT and
DilateFormer (from a classifier checkpoint), test (mIoU, --out label maps, --show-dir, --tta, slide inference),
Semantic FPN, 2-process training on CPU."""
import glob
import os.path as osp
import re

import numpy as np
import pytest
from PIL import Image

from mmattn.datasets import ADE20K_CLASSES
from tests.conftest import free_port, run_command, run_tool
from tests.smoke import make_dense_smoke_config, save_classifier_checkpoint

CLASSES = ADE20K_CLASSES[:4]
SIZE_FACTOR = 1 / 16  # 2048x512 -> 128x32, 512x512 crops -> 32x32


def config_of(model, head='upernet'):
    paths = sorted(glob.glob(f'configs/{model}/{model}-tiny_{head}_*ade20k*.py'))
    assert paths, f'no {head} ADE20K config for {model}-tiny'
    return paths[0]


def train_segmentor(config_path, ade_root, work_dir, pretrained=None, extra=()):
    config = make_dense_smoke_config(config_path, ade_root, work_dir, CLASSES, SIZE_FACTOR, pretrained=pretrained)
    result = run_tool('tools/train.py', config, '--work-dir', work_dir, *extra)
    assert result.returncode == 0, result.stdout[-6000:]
    assert re.search(r'Iter\(train\) \[2/2\].*loss: [\d.]+', result.stdout)
    return config, result.stdout


def assert_miou(output):
    assert re.search(r'mIoU: [\d.]+', output), output[-3000:]


# a UPerNet per backbone, trained from a classifier checkpoint, then tested in the ways tools/test.py offers:
# sliding-window inference with a crop that does not divide the image and drawn overlays; multi-scale + flip
# with the label maps written to a directory. (DaViT's UPerNet: the user guide's run, tests/test_docs_commands.py)
TEST_MODES = {
    'dat': ('--cfg-options', 'model.test_cfg.mode=slide', 'model.test_cfg.crop_size=24,24',
            'model.test_cfg.stride=16,16', '--show-dir', '{tmp}/shown'),
    'dilateformer': ('--tta', '--out', '{tmp}/label_maps'),
}


class TestUPerNet:
    """One scope (pytest-xdist worker) for the three UPerNet runs, another for the rest."""

    @pytest.mark.parametrize('model', sorted(TEST_MODES))
    def test_trains_from_a_classifier_and_tests(self, model, ade_shapes, tmp_path):
        classifier = tmp_path / f'{model}-tiny_in1k.pth'
        save_classifier_checkpoint(sorted(glob.glob(f'configs/{model}/{model}-tiny_in1k.py'))[0], classifier)
        config, log = train_segmentor(config_of(model), ade_shapes, str(tmp_path), str(classifier),
                                      extra=('--no-validate', ))
        assert re.search(rf'loaded \d+ tensors from {re.escape(str(classifier))}; not in the checkpoint, as '
                         r'expected for a classifier: norm0, norm1, norm2 ', log)
        test_args = [arg.format(tmp=tmp_path) for arg in TEST_MODES[model]]
        result = run_tool('tools/test.py', config, str(tmp_path / 'iter_2.pth'), '--work-dir',
                          str(tmp_path / 'test'), *test_args)
        assert result.returncode == 0, result.stdout[-6000:]
        assert_miou(result.stdout)
        if model == 'dat':
            assert "mode='slide'" in result.stdout
            assert len(glob.glob(str(tmp_path / 'shown' / '**' / '*.png'), recursive=True)) == 3
        else:
            assert 'SegTTAModel' in result.stdout
            maps = sorted(glob.glob(str(tmp_path / 'label_maps' / '*.png')))
            assert len(maps) == 3
            label_map = np.asarray(Image.open(maps[0]))
            assert label_map.shape == (80, 96)  # the original image size
            assert 1 <= label_map.min() and label_map.max() <= len(CLASSES)  # written back in ADE's 1-based ids


def test_semantic_fpn_trains_and_validates(ade_shapes, tmp_path):
    _, log = train_segmentor(config_of('dat', 'fpn'), ade_shapes, str(tmp_path))
    assert_miou(log)


def test_two_process_distributed_segmentation_on_cpu(ade_shapes, tmp_path):
    """tools/dist_train.sh with a dense model on CPU (gloo, DDP without device_ids, SyncBN heads made BN): the
    same launcher and mmattn.compat path as a detector's, which is not run a second time."""
    config = make_dense_smoke_config(config_of('dilateformer'), ade_shapes, str(tmp_path), CLASSES, SIZE_FACTOR,
                                     batch_size=2)
    result = run_command(['bash', 'tools/dist_train.sh', config, '2', '--work-dir', str(tmp_path),
                          '--no-validate'], env={'PORT': str(free_port())})
    assert result.returncode == 0, result.stdout[-6000:]
    assert 'Distributed training: True' in result.stdout and 'device_ids=None' in result.stdout
    assert osp.isfile(tmp_path / 'iter_2.pth')


def test_missing_ade20k_explains_the_layout(tmp_path):
    result = run_tool('tools/train.py', config_of('davit'), '--work-dir', str(tmp_path),
                      '--cfg-options', f'train_dataloader.dataset.data_root={tmp_path}/no_ade')
    assert result.returncode != 0 and 'Traceback' not in result.stdout
    assert 'no_ade' in result.stdout and 'ADE20K layout' in result.stdout
