from .optim_wrapper import CpuAmpOptimWrapper

__all__ = ['CpuAmpOptimWrapper']
