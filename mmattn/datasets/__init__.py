from .synthetic import SHAPE_CLASSES, make_imagenet_layout

__all__ = ['SHAPE_CLASSES', 'make_imagenet_layout']
