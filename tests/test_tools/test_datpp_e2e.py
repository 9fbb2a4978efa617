"""DAT++ through the real command lines on the synthetic sets: a few iterations of training (with validation at
the end) of one classification, one detection and one segmentation config, the backbone shrunk to a small custom
arch (the configs' own pipelines, heads and schedules otherwise)."""
import re

from mmengine.config import Config

from mmattn.datasets import ADE20K_CLASSES, SHAPE_CLASSES
from tests.conftest import run_tool
from tests.smoke import make_dense_smoke_config, make_smoke_config
from tests.test_models.test_backbones.test_datpp import SMALL


def _small_backbone(config, channels_key, channels):
    """Give the dumped smoke ``config`` the small DAT++ arch and its channels at ``channels_key``."""
    cfg = Config.fromfile(config)
    cfg.model.backbone.arch = SMALL
    node = cfg.model
    *parents, last = channels_key.split('.')
    for key in parents:
        node = node[key]
    node[last] = channels
    cfg.dump(config)
    return config


def _train(config, work_dir):
    result = run_tool('tools/train.py', config, '--work-dir', work_dir)
    assert result.returncode == 0, result.stdout[-6000:]
    assert re.search(r'Iter\(train\) \[\d/\d\].*loss: [\d.]+', result.stdout)
    return result.stdout


def test_classifier_trains_and_validates(imagenet_shapes, tmp_path):
    config = make_smoke_config('configs/datpp/datpp-tiny_in1k.py', imagenet_shapes, str(tmp_path), max_iters=2,
                               batch_size=2)
    log = _train(_small_backbone(config, 'head.in_channels', 128), str(tmp_path))
    assert re.search(r'accuracy/top1: [\d.]+', log)


def test_retinanet_trains_and_validates(coco_shapes, tmp_path):
    config = make_dense_smoke_config('configs/datpp/retinanet_datpp-tiny_fpn_ms-crop-1x_coco.py', coco_shapes,
                                     str(tmp_path), SHAPE_CLASSES, 0.1)
    log = _train(_small_backbone(config, 'neck.in_channels', [32, 64, 128]), str(tmp_path))
    assert re.search(r'coco/bbox_mAP: -?[\d.]+', log), log[-3000:]


def test_semantic_fpn_trains_and_validates(ade_shapes, tmp_path):
    config = make_dense_smoke_config('configs/datpp/datpp-tiny_fpn_8xb2-80k_ade20k-512x512.py', ade_shapes,
                                     str(tmp_path), ADE20K_CLASSES[:4], 1 / 16)
    log = _train(_small_backbone(config, 'neck.in_channels', [16, 32, 64, 128]), str(tmp_path))
    assert re.search(r'mIoU: [\d.]+', log), log[-3000:]
