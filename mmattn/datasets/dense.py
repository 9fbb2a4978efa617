"""Small synthetic dense-prediction sets in the COCO and ADE20K layouts, deterministic for a seed.

Both draw coloured shapes on a noisy background, as the classification set does: each class is a shape with a
colour of its own (jittered), so that a detector or segmentor started from the demo's classifier learns it in
a few hundred CPU steps. Objects are painted in order, later ones over earlier ones; every annotation is
derived from the final picture (what is visible), so overlaps and the image border are handled the way real
annotations handle them.
"""
import json
import os
import os.path as osp
from typing import List, Sequence, Tuple

import numpy as np
from PIL import Image

from .synthetic import (CLASS_COLOURS, SHAPE_CLASSES, is_complete, jittered_colour, mark_complete,
                        noisy_background)

# ADE20K's first class ids (1-based in the label PNGs): the segmentation set paints its background as ``wall``
# and the shapes as the next classes, so that the real ADE20KDataset (its class names and
# ``reduce_zero_label``) reads it with ``metainfo=dict(classes=ADE20K_CLASSES[:num_classes])``.
ADE20K_CLASSES = ('wall', 'building', 'sky', 'floor', 'tree')


def shape_polygon(shape: str, cx: float, cy: float, half: float) -> np.ndarray:
    """Vertices ``(N, 2)`` (x, y) of ``shape`` centred at ``(cx, cy)`` with half-size ``half``."""
    if shape == 'circle':
        angles = np.linspace(0, 2 * np.pi, 32, endpoint=False)
        return np.stack([cx + half * np.cos(angles), cy + half * np.sin(angles)], axis=1)
    if shape == 'square':
        return np.array([[cx - half, cy - half], [cx + half, cy - half], [cx + half, cy + half],
                         [cx - half, cy + half]])
    if shape == 'triangle':
        return np.array([[cx, cy - half], [cx + half, cy + half], [cx - half, cy + half]])
    if shape == 'bar':
        return np.array([[cx - half, cy - half / 4], [cx + half, cy - half / 4], [cx + half, cy + half / 4],
                         [cx - half, cy + half / 4]])
    raise ValueError(f'Unknown shape {shape!r}; expected one of {SHAPE_CLASSES}.')


def _paint_scene(rng: np.random.Generator, size: Tuple[int, int], num_objects: int,
                 classes: Sequence[str]) -> Tuple[np.ndarray, np.ndarray, List[int]]:
    """Paint ``num_objects`` random shapes; return the image, an instance-id map (0 = none) and the labels.

    Sizes and positions are drawn so that some shapes overlap and some cross the image border.
    """
    import cv2
    width, height = size
    image = noisy_background(rng, width, height)
    instances = np.zeros((height, width), np.int32)
    labels = []
    for index in range(1, num_objects + 1):
        label = int(rng.integers(len(classes)))
        half = rng.uniform(0.12, 0.3) * min(width, height)
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)  # may cross the border
        polygon = np.round(shape_polygon(classes[label], cx, cy, half)).astype(np.int32)
        mask = np.zeros((height, width), np.uint8)
        cv2.fillPoly(mask, [polygon], 1)
        colour = jittered_colour(rng, CLASS_COLOURS[label % len(CLASS_COLOURS)])
        image[mask > 0] = colour
        instances[mask > 0] = index
        labels.append(label)
    return image, instances, labels


def _visible_polygons(mask: np.ndarray) -> List[List[float]]:
    """COCO polygons (flat x, y lists of >= 3 points) outlining a binary mask's visible parts."""
    import cv2
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    return [c.reshape(-1).astype(float).tolist() for c in contours if len(c) >= 3]


def make_coco_layout(root: str,
                     num_train: int = 16,
                     num_val: int = 8,
                     image_size: Tuple[int, int] = (96, 80),
                     seed: int = 0,
                     max_objects: int = 4,
                     empty_every: int = 8,
                     classes: Tuple[str, ...] = SHAPE_CLASSES) -> str:
    """Write an instance-segmentation set in the COCO layout and return ``root``.

    Layout (what mmdet's ``CocoDataset`` reads with ``metainfo=dict(classes=classes)``)::

        root/annotations/instances_{train,val}2017.json
        root/{train,val}2017/<id>.jpg

    Every ``empty_every``-th image has no object; the others hold 1..``max_objects`` shapes. Each annotation
    is the visible part of its shape: polygons (one per visible piece of 3 or more outline points), the box
    ``[x, y, w, h]`` around them and the visible pixel area. Objects hidden to fewer than 4 visible pixels are left out. ``image_size`` is ``(width,
    height)``. Re-running with the same arguments is a no-op.
    """
    signature = f'coco {num_train} {num_val} {image_size} {seed} {max_objects} {empty_every} {classes}'
    if is_complete(root, signature):
        return root
    rng = np.random.default_rng(seed)
    categories = [dict(id=i + 1, name=name, supercategory='shape') for i, name in enumerate(classes)]
    image_id = annotation_id = 0
    for split, count in (('train', num_train), ('val', num_val)):
        os.makedirs(osp.join(root, f'{split}2017'), exist_ok=True)
        images, annotations = [], []
        for i in range(count):
            image_id += 1
            num_objects = 0 if i % empty_every == empty_every - 1 else int(rng.integers(1, max_objects + 1))
            pixels, instances, labels = _paint_scene(rng, image_size, num_objects, classes)
            file_name = f'{image_id:06d}.jpg'
            Image.fromarray(pixels).save(osp.join(root, f'{split}2017', file_name), quality=95)
            images.append(dict(id=image_id, file_name=file_name, width=image_size[0], height=image_size[1]))
            for index, label in enumerate(labels, start=1):
                mask = instances == index
                polygons = _visible_polygons(mask)
                if mask.sum() < 4 or not polygons:
                    continue
                points = np.concatenate([np.reshape(p, (-1, 2)) for p in polygons])
                (x0, y0), (x1, y1) = points.min(0), points.max(0)
                annotation_id += 1
                annotations.append(dict(
                    id=annotation_id, image_id=image_id, category_id=label + 1, iscrowd=0,
                    area=float(mask.sum()), segmentation=polygons,
                    bbox=[float(x0), float(y0), float(x1 - x0 + 1), float(y1 - y0 + 1)]))
        os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
        with open(osp.join(root, 'annotations', f'instances_{split}2017.json'), 'w') as f:
            json.dump(dict(images=images, annotations=annotations, categories=categories), f)
    return mark_complete(root, signature)


def make_ade20k_layout(root: str,
                       num_train: int = 16,
                       num_val: int = 8,
                       image_size: Tuple[int, int] = (96, 80),
                       seed: int = 0,
                       max_objects: int = 4,
                       num_classes: int = len(ADE20K_CLASSES)) -> str:
    """Write a semantic-segmentation set in the ADE20K layout and return ``root``.

    Layout (what mmseg's ``ADE20KDataset`` reads)::

        root/images/{training,validation}/ADE_<split>_<i>.jpg
        root/annotations/{training,validation}/ADE_<split>_<i>.png   uint8 labels

    The label PNGs follow ADE20K's conventions: 0 is "other" (ignored after ``reduce_zero_label``; a band
    along the left border here), then class ids from 1: the background is ``wall`` (1) and the shapes are
    classes 2..``num_classes`` (``ADE20K_CLASSES``). Read it with
    ``metainfo=dict(classes=ADE20K_CLASSES[:num_classes])`` and a ``num_classes``-way decode head.
    ``image_size`` is ``(width, height)``. Re-running with the same arguments is a no-op.
    """
    if not 2 <= num_classes <= len(ADE20K_CLASSES):
        raise ValueError(f'num_classes must be in [2, {len(ADE20K_CLASSES)}], got {num_classes}.')
    signature = f'ade20k {num_train} {num_val} {image_size} {seed} {max_objects} {num_classes}'
    if is_complete(root, signature):
        return root
    rng = np.random.default_rng(seed)
    shapes = SHAPE_CLASSES[:num_classes - 1]
    for split, folder, count in (('train', 'training', num_train), ('val', 'validation', num_val)):
        os.makedirs(osp.join(root, 'images', folder), exist_ok=True)
        os.makedirs(osp.join(root, 'annotations', folder), exist_ok=True)
        for i in range(count):
            num_objects = int(rng.integers(1, max_objects + 1))
            pixels, instances, labels = _paint_scene(rng, image_size, num_objects, shapes)
            label_map = np.ones(instances.shape, np.uint8)  # wall
            for index, label in enumerate(labels, start=1):
                label_map[instances == index] = label + 2
            label_map[:, :max(1, image_size[0] // 32)] = 0  # "other": ignored
            name = f'ADE_{split}_{i:08d}'
            Image.fromarray(pixels).save(osp.join(root, 'images', folder, f'{name}.jpg'), quality=95)
            Image.fromarray(label_map).save(osp.join(root, 'annotations', folder, f'{name}.png'))
    return mark_complete(root, signature)

