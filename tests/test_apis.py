"""Inference on one image (issue 11): list_models / get_model / inference_model for each task, and
demo/image_demo.py drawing a PNG of the image's size."""
import importlib.util
import os.path as osp

import mmcv
import numpy as np
import pytest
import torch

import mmattn
from mmattn.apis import UnknownModelError, model_config_path
from mmattn.engine import CheckpointMismatchError
from tests.conftest import REPO

# one model per task, its test-time resize shrunk (a random detector at 1333x800 costs seconds on a CPU)
MODELS = {
    'classification': ('davit-tiny_in1k', None),
    'detection': ('mask-rcnn_davit-tiny_fpn_ms-crop-1x_coco',
                  {'test_dataloader.dataset.pipeline.1.scale': (160, 96),
                   'model.test_cfg.rpn.nms_pre': 100, 'model.test_cfg.rpn.max_per_img': 50}),
    'segmentation': ('davit-tiny_upernet_8xb2-160k_ade20k-512x512', {'test_pipeline.1.scale': (160, 96)}),
}


@pytest.fixture(scope='module')
def odd_image(tmp_path_factory):
    """An 83x61 image (width x height) of coloured rectangles, not a multiple of any patch or window size."""
    image = np.full((61, 83, 3), 200, np.uint8)
    rng = np.random.default_rng(0)
    for _ in range(4):
        x, y = rng.integers(0, 60), rng.integers(0, 40)
        image[y:y + 20, x:x + 25] = rng.integers(0, 255, 3)
    path = str(tmp_path_factory.mktemp('image') / 'shapes.png')
    mmcv.imwrite(image, path)
    return path


def test_list_models_covers_every_task_and_names_resolve_to_configs():
    names = mmattn.list_models()
    by_task = {task: mmattn.list_models(task=task) for task in MODELS}
    assert sorted(sum(by_task.values(), [])) == names  # each model in one task
    for task, (name, _) in MODELS.items():
        assert name in by_task[task]
    assert mmattn.list_models('davit-tiny') == [n for n in names if 'davit-tiny' in n]
    assert mmattn.list_models('retinanet_*') and all(n.startswith('retinanet_') for n in
                                                     mmattn.list_models('retinanet_*'))
    assert all(osp.isfile(model_config_path(name)) for name in names)
    with pytest.raises(ValueError, match='classification'):
        mmattn.list_models(task='detect')


def test_an_unknown_model_name_lists_the_closest_ones():
    with pytest.raises(UnknownModelError, match=r"'davit-tiny-in1k'.*closest: davit-tiny_in1k"):
        mmattn.get_model('davit-tiny-in1k')


@pytest.mark.parametrize('task', list(MODELS))
def test_get_model_and_inference_model_give_the_task_result(task, odd_image):
    name, shrink = MODELS[task]
    model = mmattn.get_model(name, cfg_options=shrink)
    assert not model.training
    image = mmcv.imread(odd_image)
    result = mmattn.inference_model(model, image)
    if task == 'classification':
        assert result['pred_scores'].shape == (1000, ) and len(result['topk']) == 5
        assert result['topk'][0] == (result['pred_class'], pytest.approx(result['pred_score']))
        assert result['pred_class'] == model.dataset_meta['classes'][result['pred_label']]  # ImageNet names
        # the config's top-level data_preprocessor is the model's (as the Runner merges it): normalised RGB
        from mmengine.config import Config
        expected = Config.fromfile(model_config_path(name)).data_preprocessor
        assert model.data_preprocessor.mean.flatten().tolist() == pytest.approx(expected.mean)
        assert model.data_preprocessor.std.flatten().tolist() == pytest.approx(expected.std)
    elif task == 'detection':
        instances = result.pred_instances
        assert instances.bboxes.shape[1] == 4 and len(instances.scores) == len(instances.labels)
        assert instances.masks.shape[1:] == image.shape[:2]  # masks at the original image's size
        assert len(model.dataset_meta['classes']) == 80
    else:
        assert result.pred_sem_seg.data.shape == (1, *image.shape[:2])
        assert len(model.dataset_meta['classes']) == 150
    # a path gives the same result as the decoded array
    again = mmattn.inference_model(model, odd_image)
    if task == 'classification':
        np.testing.assert_allclose(again['pred_scores'], result['pred_scores'], rtol=1e-5, atol=1e-6)
    elif task == 'segmentation':
        assert torch.equal(again.pred_sem_seg.data, result.pred_sem_seg.data)


def test_a_checkpoint_of_another_task_is_a_clear_error(tmp_path):
    classifier = mmattn.get_model('davit-tiny_in1k')
    torch.save({'state_dict': classifier.state_dict()}, tmp_path / 'classifier.pth')
    with pytest.raises(CheckpointMismatchError, match=r'unexpected key.*head\.fc|missing key.*neck'):
        mmattn.get_model(MODELS['segmentation'][0], checkpoint=str(tmp_path / 'classifier.pth'))
    # its own weights load, and give the same scores
    model = mmattn.get_model('davit-tiny_in1k', checkpoint=str(tmp_path / 'classifier.pth'))
    for mine, theirs in zip(model.state_dict().values(), classifier.state_dict().values()):
        assert torch.equal(mine, theirs)


def image_demo():
    spec = importlib.util.spec_from_file_location('image_demo', osp.join(REPO, 'demo', 'image_demo.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize('task', list(MODELS))
def test_image_demo_draws_a_png_of_the_image_size(task, odd_image, tmp_path, capsys):
    name, shrink = MODELS[task]
    out = tmp_path / f'{task}.png'
    args = [odd_image, model_config_path(name), '--out-file', str(out)]
    if shrink:
        args += ['--cfg-options', *(f'{key}={value}'.replace(' ', '') for key, value in shrink.items())]
    image_demo().main(args)
    drawn = mmcv.imread(str(out))
    assert drawn is not None and drawn.shape[:2] == (61, 83)
    printed = capsys.readouterr().out
    assert f'{task} result drawn to {out}' in printed
    if task == 'classification':
        assert len([line for line in printed.splitlines() if line[:1].isdigit()]) == 5


def test_image_demo_refuses_an_unreadable_image_and_an_unknown_model(tmp_path, odd_image):
    (tmp_path / 'empty.jpg').write_bytes(b'')
    with pytest.raises(SystemExit, match='DataFileError: .*empty.jpg: not a readable image'):
        image_demo().main([str(tmp_path / 'empty.jpg'), 'davit-tiny_in1k'])
    with pytest.raises(SystemExit, match='closest: davit-tiny_in1k'):
        image_demo().main([odd_image, 'davit-tiny_in1k_'])
