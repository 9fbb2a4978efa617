from .dat import DAT
from .davit import DaViT
from .dilateformer import DilateFormer

__all__ = ['DAT', 'DaViT', 'DilateFormer']
