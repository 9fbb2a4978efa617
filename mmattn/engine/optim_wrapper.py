from contextlib import contextmanager

import torch
from mmengine.optim import OptimWrapper

from mmattn.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class CpuAmpOptimWrapper(OptimWrapper):
    """Mixed precision on CPU: bfloat16 autocast around the forward pass.

    mmengine's ``AmpOptimWrapper`` requires a CUDA (or NPU/MLU/MUSA) device. bfloat16 keeps fp32's exponent
    range, so no loss scaling is needed; ``tools/train.py --amp`` picks this wrapper when no GPU is present.
    """

    @contextmanager
    def optim_context(self, model):
        with super().optim_context(model), torch.autocast('cpu', dtype=torch.bfloat16):
            yield
