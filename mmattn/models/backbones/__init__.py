from .davit import DaViT
from .dilateformer import DilateFormer

__all__ = ['DaViT', 'DilateFormer']
