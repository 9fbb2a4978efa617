"""Small synthetic datasets in the layouts the real ones use, deterministic for a seed.

The classification set is learnable: each class is a shape (circle, square, triangle, bar) drawn in a random
colour, size and position on a noisy background, so a model must learn shape, not colour.
"""
import os
import os.path as osp
from typing import Tuple

import numpy as np
from PIL import Image, ImageDraw

SHAPE_CLASSES = ('circle', 'square', 'triangle', 'bar')


def draw_shape(rng: np.random.Generator, shape: str, size: Tuple[int, int]) -> Image.Image:
    """One RGB image of ``shape`` on a noisy background."""
    width, height = size
    background = rng.integers(0, 256, size=3)
    noise = rng.normal(0, 18, size=(height, width, 3))
    pixels = np.clip(background[None, None] * 0.5 + 64 + noise, 0, 255).astype(np.uint8)
    image = Image.fromarray(pixels)
    draw = ImageDraw.Draw(image)
    colour = tuple(int(c) for c in rng.integers(0, 256, size=3))
    side = rng.uniform(0.35, 0.7) * min(width, height)
    cx = rng.uniform(side / 2, width - side / 2)
    cy = rng.uniform(side / 2, height - side / 2)
    half = side / 2
    if shape == 'circle':
        draw.ellipse([cx - half, cy - half, cx + half, cy + half], fill=colour)
    elif shape == 'square':
        draw.rectangle([cx - half, cy - half, cx + half, cy + half], fill=colour)
    elif shape == 'triangle':
        draw.polygon([(cx, cy - half), (cx - half, cy + half), (cx + half, cy + half)], fill=colour)
    elif shape == 'bar':
        draw.rectangle([cx - half, cy - half / 4, cx + half, cy + half / 4], fill=colour)
    else:
        raise ValueError(f'Unknown shape {shape!r}; expected one of {SHAPE_CLASSES}.')
    return image


def make_imagenet_layout(root: str,
                         num_train_per_class: int = 32,
                         num_val_per_class: int = 8,
                         image_size: Tuple[int, int] = (64, 64),
                         seed: int = 0,
                         classes: Tuple[str, ...] = SHAPE_CLASSES) -> str:
    """Write a classification set in mmpretrain's ImageNet layout and return ``root``.

    Layout::

        root/meta/{train,val}.txt      "<relative path> <label>" per line
        root/{train,val}/<class>/<class>_<i>.JPEG
        root/classes.txt               one class name per line

    Re-running with the same arguments is a no-op (an existing complete set is kept).
    """
    done_marker = osp.join(root, '.complete')
    signature = f'{num_train_per_class} {num_val_per_class} {image_size} {seed} {classes}'
    if osp.isfile(done_marker) and open(done_marker).read() == signature:
        return root
    rng = np.random.default_rng(seed)
    os.makedirs(osp.join(root, 'meta'), exist_ok=True)
    for split, per_class in (('train', num_train_per_class), ('val', num_val_per_class)):
        lines = []
        for label, name in enumerate(classes):
            os.makedirs(osp.join(root, split, name), exist_ok=True)
            for i in range(per_class):
                relative = f'{name}/{name}_{i:05d}.JPEG'
                draw_shape(rng, name, image_size).save(osp.join(root, split, relative), quality=95)
                lines.append(f'{relative} {label}')
        with open(osp.join(root, 'meta', f'{split}.txt'), 'w') as f:
            f.write('\n'.join(lines) + '\n')
    with open(osp.join(root, 'classes.txt'), 'w') as f:
        f.write('\n'.join(classes) + '\n')
    with open(done_marker, 'w') as f:
        f.write(signature)
    return root
