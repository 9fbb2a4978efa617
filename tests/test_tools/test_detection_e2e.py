"""COCO detection through the real command lines, on the generated COCO-format set: train from a classifier
checkpoint, test (bbox and segm mAP, --out, --show-dir), RetinaNet, Cascade. (2-process training of a dense
model on CPU: tests/test_tools/test_segmentation_e2e.py.)"""
import glob
import pickle
import re

import pytest

from mmattn.datasets import SHAPE_CLASSES
from tests.conftest import run_tool
from tests.smoke import make_dense_smoke_config, save_classifier_checkpoint

SIZE_FACTOR = 0.1  # 1333x800 -> 133x80, crops 38x60: a few seconds per step on a CPU


def config_of(model, detector, schedule='1x'):
    paths = sorted(glob.glob(f'configs/{model}/{detector}_{model}-tiny_*{schedule}_coco.py'))
    assert paths, f'no {detector} {schedule} config for {model}-tiny'
    return paths[0]


def train_detector(config_path, coco_root, work_dir, pretrained=None, extra=()):
    config = make_dense_smoke_config(config_path, coco_root, work_dir, SHAPE_CLASSES, SIZE_FACTOR,
                                     pretrained=pretrained)
    result = run_tool('tools/train.py', config, '--work-dir', work_dir, *extra)
    assert result.returncode == 0, result.stdout[-6000:]
    assert re.search(r'Iter\(train\) \[2/2\].*loss: [\d.]+', result.stdout)
    return config, result.stdout


def assert_coco_metrics(output, with_masks=True):
    assert re.search(r'coco/bbox_mAP: -?[\d.]+', output), output[-3000:]
    if with_masks:
        assert re.search(r'coco/segm_mAP: -?[\d.]+', output)


class TestMaskRCNN:
    """One scope (pytest-xdist worker) for the two Mask R-CNN runs, one for Cascade, another for the rest."""

    # DaViT's: the user guide's run (tests/test_docs_commands.py)
    @pytest.mark.parametrize('model', ['dat', 'dilateformer'])
    def test_trains_from_a_classifier_and_tests(self, model, coco_shapes, tmp_path):
        classifier = tmp_path / f'{model}-tiny_in1k.pth'
        save_classifier_checkpoint(sorted(glob.glob(f'configs/{model}/{model}-tiny_in1k.py'))[0], classifier)
        config, log = train_detector(config_of(model, 'mask-rcnn'), coco_shapes, str(tmp_path), str(classifier),
                                     extra=('--no-validate', ))
        assert re.search(rf'loaded \d+ tensors from {re.escape(str(classifier))}; not in the checkpoint, as '
                         r'expected for a classifier: norm0, norm1, norm2 ', log)
        out = tmp_path / 'results.pkl'
        result = run_tool('tools/test.py', config, str(tmp_path / 'iter_2.pth'), '--work-dir', str(tmp_path),
                          '--out', str(out))
        assert result.returncode == 0, result.stdout[-6000:]
        assert_coco_metrics(result.stdout)
        results = pickle.load(open(out, 'rb'))
        assert len(results) == 3 and {'bboxes', 'scores', 'labels', 'masks'} <= set(results[0]['pred_instances'])


def test_retinanet_trains_validates_and_draws(coco_shapes, tmp_path):
    config, log = train_detector(config_of('davit', 'retinanet'), coco_shapes, str(tmp_path))
    assert_coco_metrics(log, with_masks=False)  # validation at the end of training
    show_dir = tmp_path / 'shown'
    result = run_tool('tools/test.py', config, str(tmp_path / 'iter_2.pth'), '--work-dir', str(tmp_path),
                      '--show-dir', str(show_dir))
    assert result.returncode == 0, result.stdout[-6000:]
    drawn = glob.glob(str(show_dir / '**' / '*.jpg'), recursive=True) + \
        glob.glob(str(show_dir / '**' / '*.png'), recursive=True)
    assert len(drawn) == 3


class TestCascadeMaskRCNN:
    """A scope of its own: the slowest detector to train and validate."""

    def test_trains_and_validates(self, coco_shapes, tmp_path):
        _, log = train_detector(config_of('dat', 'cascade-mask-rcnn', '3x'), coco_shapes, str(tmp_path))
        assert_coco_metrics(log)


def test_missing_coco_explains_the_layout(tmp_path):
    result = run_tool('tools/train.py', config_of('davit', 'mask-rcnn'), '--work-dir', str(tmp_path),
                      '--cfg-options', f'train_dataloader.dataset.data_root={tmp_path}/no_coco')
    assert result.returncode != 0 and 'Traceback' not in result.stdout
    assert 'no_coco' in result.stdout and 'COCO layout' in result.stdout
    assert 'annotations/instances_train2017.json' in result.stdout
