"""mmattn: DaViT, DilateFormer and DAT backbones for the OpenMMLab stack."""
from . import compat  # noqa: F401  (applies the torch 2.13 x mmengine 0.10.7 fixes on import)
from .apis import get_model, inference_model, list_models
from .version import __version__

__all__ = ['__version__', 'get_model', 'inference_model', 'list_models']
