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


def test_dense_generators_are_deterministic_for_a_seed(tmp_path):
    from mmattn.datasets import make_ade20k_layout, make_coco_layout
    for make in (make_coco_layout, make_ade20k_layout):
        a = make(str(tmp_path / f'{make.__name__}_a'), 3, 1, (40, 32), seed=3)
        b = make(str(tmp_path / f'{make.__name__}_b'), 3, 1, (40, 32), seed=3)
        c = make(str(tmp_path / f'{make.__name__}_c'), 3, 1, (40, 32), seed=4)
        assert digest(a) == digest(b) != digest(c)


def test_coco_layout_annotations_describe_the_visible_shapes(tmp_path):
    import numpy as np
    from pycocotools import mask as mask_utils
    from pycocotools.coco import COCO

    root = make_coco_layout_for_test(tmp_path)
    coco = COCO(os.path.join(root, 'annotations', 'instances_train2017.json'))
    assert [c['name'] for c in coco.loadCats(coco.getCatIds())] == list(SHAPE_CLASSES)
    per_image = [len(coco.getAnnIds(imgIds=i)) for i in coco.getImgIds()]
    assert 0 in per_image and max(per_image) > 1  # empty images and images with several objects
    touching = overlapping = 0
    for image_id in coco.getImgIds():
        info = coco.loadImgs(image_id)[0]
        boxes = []
        for ann in coco.loadAnns(coco.getAnnIds(imgIds=image_id)):
            rle = mask_utils.merge(mask_utils.frPyObjects(ann['segmentation'], info['height'], info['width']))
            mask = mask_utils.decode(rle).astype(bool)
            # the polygons outline the visible pixels that the box and the area were computed from
            points = np.concatenate([np.reshape(p, (-1, 2)) for p in ann['segmentation']])
            x, y, w, h = ann['bbox']
            assert np.allclose(points.min(0), [x, y]) and np.allclose(points.max(0) + 1, [x + w, y + h])
            assert abs(mask.sum() - ann['area']) <= 0.5 * ann['area'] + 8
            touching += x <= 0 or y <= 0 or x + w >= info['width'] or y + h >= info['height']
            overlapping += any(x < ox + ow and ox < x + w and y < oy + oh and oy < y + h for ox, oy, ow, oh in boxes)
            boxes.append((x, y, w, h))
    assert touching and overlapping  # some shapes cross the border, some hide parts of others


def make_coco_layout_for_test(tmp_path):
    from mmattn.datasets import make_coco_layout
    return make_coco_layout(str(tmp_path / 'coco'), num_train=16, num_val=2, image_size=(64, 48), seed=0)


def test_coco_layout_loads_with_mmdet_coco_dataset(tmp_path):
    from mmdet.registry import DATASETS
    root = make_coco_layout_for_test(tmp_path)
    with DefaultScope.overwrite_default_scope('mmdet'):
        dataset = DATASETS.build(dict(
            type='CocoDataset', data_root=root, ann_file='annotations/instances_train2017.json',
            data_prefix=dict(img='train2017/'), metainfo=dict(classes=SHAPE_CLASSES), filter_cfg=None,
            pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', with_bbox=True, with_mask=True)]))
        sample = next(dataset[i] for i in range(len(dataset)) if len(dataset[i]['gt_bboxes']))
    assert len(dataset) == 16
    assert sample['img'].shape == (48, 64, 3)
    assert sample['gt_masks'].masks.shape[0] == len(sample['gt_bboxes_labels'])
    assert set(sample['gt_bboxes_labels']) <= set(range(len(SHAPE_CLASSES)))


def test_ade20k_layout_follows_ade_label_conventions(tmp_path):
    import numpy as np
    from mmseg.registry import DATASETS

    from mmattn.datasets import ADE20K_CLASSES, make_ade20k_layout
    root = make_ade20k_layout(str(tmp_path / 'ade'), num_train=4, num_val=2, image_size=(64, 48), seed=0,
                              num_classes=4)
    with DefaultScope.overwrite_default_scope('mmseg'):
        dataset = DATASETS.build(dict(
            type='ADE20KDataset', data_root=root, metainfo=dict(classes=ADE20K_CLASSES[:4]),
            data_prefix=dict(img_path='images/training', seg_map_path='annotations/training'),
            pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', reduce_zero_label=True)]))
        labels = np.concatenate([dataset[i]['gt_seg_map'].ravel() for i in range(len(dataset))])
    assert len(dataset) == 4
    values = set(np.unique(labels).tolist())
    assert 255 in values  # ADE's "other" (0) is ignored after reduce_zero_label
    assert values - {255} <= {0, 1, 2, 3} and len(values - {255}) >= 3


def test_ade20k_layout_rejects_too_many_classes(tmp_path):
    from mmattn.datasets import make_ade20k_layout
    with pytest.raises(ValueError, match='num_classes must be in'):
        make_ade20k_layout(str(tmp_path / 'x'), 1, 1, (16, 16), num_classes=9)
