"""Small synthetic datasets in the layouts the real ones use, deterministic for a seed.

The classification set is learnable: each class is a shape (circle, square, triangle, bar) at a random size and
position on a noisy background. Its colour is random, or, with ``class_colours=True``, drawn around a colour of
the class's own (a cue that a model trained from scratch picks up within a few hundred steps on a CPU, which is
what the demo needs).
"""
import os
import os.path as osp
from typing import Optional, Tuple

import numpy as np
from PIL import Image, ImageDraw

SHAPE_CLASSES = ('circle', 'square', 'triangle', 'bar')


CLASS_COLOURS = ((220, 60, 60), (60, 200, 60), (70, 90, 230), (230, 210, 50))


def noisy_background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A ``(height, width, 3)`` uint8 image: a dim random colour plus Gaussian noise."""
    background = rng.integers(0, 256, size=3)
    noise = rng.normal(0, 18, size=(height, width, 3))
    return np.clip(background[None, None] * 0.5 + 64 + noise, 0, 255).astype(np.uint8)


def jittered_colour(rng: np.random.Generator,
                    colour: Optional[Tuple[int, int, int]] = None) -> Tuple[int, int, int]:
    """``colour`` with each channel jittered by up to 30, or a random colour if None."""
    if colour is None:
        return tuple(int(c) for c in rng.integers(0, 256, size=3))
    return tuple(int(np.clip(c + rng.integers(-30, 31), 0, 255)) for c in colour)


def draw_shape(rng: np.random.Generator, shape: str, size: Tuple[int, int],
               colour: Optional[Tuple[int, int, int]] = None) -> Image.Image:
    """One RGB image of ``shape`` on a noisy background; ``colour`` jittered if given, else random."""
    width, height = size
    image = Image.fromarray(noisy_background(rng, width, height))
    draw = ImageDraw.Draw(image)
    colour = jittered_colour(rng, colour)
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
                         classes: Tuple[str, ...] = SHAPE_CLASSES,
                         class_colours: bool = False) -> str:
    """Write a classification set in mmpretrain's ImageNet layout and return ``root``.

    Layout::

        root/meta/{train,val}.txt      "<relative path> <label>" per line
        root/{train,val}/<class>/<class>_<i>.JPEG
        root/classes.txt               one class name per line

    Re-running with the same arguments is a no-op (an existing complete set is kept).
    """
    signature = f'{num_train_per_class} {num_val_per_class} {image_size} {seed} {classes} {class_colours}'
    if is_complete(root, signature):
        return root
    rng = np.random.default_rng(seed)
    os.makedirs(osp.join(root, 'meta'), exist_ok=True)
    for split, per_class in (('train', num_train_per_class), ('val', num_val_per_class)):
        lines = []
        for label, name in enumerate(classes):
            os.makedirs(osp.join(root, split, name), exist_ok=True)
            for i in range(per_class):
                relative = f'{name}/{name}_{i:05d}.JPEG'
                colour = CLASS_COLOURS[label % len(CLASS_COLOURS)] if class_colours else None
                draw_shape(rng, name, image_size, colour).save(osp.join(root, split, relative), quality=95)
                lines.append(f'{relative} {label}')
        with open(osp.join(root, 'meta', f'{split}.txt'), 'w') as f:
            f.write('\n'.join(lines) + '\n')
    with open(osp.join(root, 'classes.txt'), 'w') as f:
        f.write('\n'.join(classes) + '\n')
    return mark_complete(root, signature)


def is_complete(root: str, signature: str) -> bool:
    """Whether ``root`` holds a finished set written with the arguments that ``signature`` describes."""
    marker = osp.join(root, '.complete')
    return osp.isfile(marker) and open(marker).read() == signature


def mark_complete(root: str, signature: str) -> str:
    """Record that ``root`` is finished (written last, so an interrupted run is redone); return ``root``."""
    with open(osp.join(root, '.complete'), 'w') as f:
        f.write(signature)
    return root
