from .dense import ADE20K_CLASSES, make_ade20k_layout, make_coco_layout
from .synthetic import SHAPE_CLASSES, make_imagenet_layout

__all__ = ['ADE20K_CLASSES', 'SHAPE_CLASSES', 'make_ade20k_layout', 'make_coco_layout', 'make_imagenet_layout']
