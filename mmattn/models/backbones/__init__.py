from .dat import DAT
from .dat_pp import DATPlusPlus
from .davit import DaViT
from .dilateformer import DilateFormer

__all__ = ['DAT', 'DATPlusPlus', 'DaViT', 'DilateFormer']
