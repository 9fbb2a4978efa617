import hashlib
import os

import pytest
from mmengine.registry import DefaultScope

from mmattn.datasets import SHAPE_CLASSES, make_imagenet_layout


def digest(root):
    h = hashlib.sha256()
    for dirpath, _, files in sorted(os.walk(root)):
        for name in sorted(files):
            h.update(name.encode())
            h.update(open(os.path.join(dirpath, name), 'rb').read())
    return h.hexdigest()


def test_generator_is_deterministic_for_a_seed(tmp_path):
    a = make_imagenet_layout(str(tmp_path / 'a'), 2, 1, (24, 24), seed=3)
    b = make_imagenet_layout(str(tmp_path / 'b'), 2, 1, (24, 24), seed=3)
    c = make_imagenet_layout(str(tmp_path / 'c'), 2, 1, (24, 24), seed=4)
    assert digest(a) == digest(b) != digest(c)


def test_layout_loads_with_mmpretrain_imagenet_dataset(tmp_path):
    from mmpretrain.registry import DATASETS
    root = make_imagenet_layout(str(tmp_path / 'set'), 3, 2, (24, 24), seed=0)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        train = DATASETS.build(dict(type='ImageNet', data_root=root, split='train', pipeline=[]))
        val = DATASETS.build(dict(type='ImageNet', data_root=root, split='val', pipeline=[]))
    assert len(train) == 3 * len(SHAPE_CLASSES) and len(val) == 2 * len(SHAPE_CLASSES)
    labels = sorted({int(train.get_data_info(i)['gt_label']) for i in range(len(train))})
    assert labels == list(range(len(SHAPE_CLASSES)))


def test_unknown_shape_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="Unknown shape 'hexagon'"):
        make_imagenet_layout(str(tmp_path / 'x'), 1, 1, (16, 16), classes=('hexagon', ))
