"""Sharded data-parallel training on torch's FSDP2 (``torch.distributed.fsdp.fully_shard``) for mmengine's
``FlexibleRunner``, on GPUs (NCCL) and on CPUs (gloo).

mmengine 0.10.7's own ``FSDPStrategy`` wraps with FSDP1, which on torch 2.13 refuses to run without an
accelerator. FSDP2 keeps the module and its parameter names: each parameter becomes a ``DTensor`` whose local
part is this rank's shard, so a full state dict gathered from the shards is the state dict of the ordinary model.
"""
import time
from typing import Callable, List, Optional, Sequence, Union

import mmengine
import torch
import torch.nn as nn
from mmengine._strategy import DDPStrategy
from mmengine.device import get_device
from mmengine.dist import is_main_process
from mmengine.model import BaseDataPreprocessor
from mmengine.utils import get_git_hash
from torch.distributed.checkpoint.state_dict import (StateDictOptions, get_model_state_dict,
                                                     get_optimizer_state_dict, set_model_state_dict,
                                                     set_optimizer_state_dict)
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

from mmattn.registry import STRATEGIES
from mmattn.utils.checkpoint import apply_key_revisions
from .loading import require_fit

# gathered onto rank 0 only, in CPU memory: what a checkpoint file needs, without a full copy on every GPU
_GATHER_FULL = StateDictOptions(full_state_dict=True, cpu_offload=True)


def mixed_precision_policy(mixed_precision: Optional[dict]) -> MixedPrecisionPolicy:
    """Build FSDP2's ``MixedPrecisionPolicy`` from a config dict whose dtypes may be names (``'bfloat16'``).

    Raises:
        ValueError: for a dtype name that is not a torch floating-point dtype.
    """
    settings = dict(mixed_precision or {})
    for key, value in settings.items():
        if key.endswith('_dtype') and isinstance(value, str):
            dtype = getattr(torch, value, None)
            if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
                raise ValueError(f'mixed_precision.{key}: {value!r} is not a torch floating-point dtype '
                                 "(e.g. 'bfloat16', 'float16', 'float32').")
            settings[key] = dtype
    return MixedPrecisionPolicy(**settings)


def shard_modules(model: nn.Module, wrap_modules: Sequence[str], **shard_kwargs) -> List[str]:
    """``fully_shard`` every submodule whose class name is in ``wrap_modules`` (innermost first, as FSDP2
    requires), then the whole model; return the names of the submodules sharded on their own.

    Each sharded submodule gathers its parameters just before its forward (and backward) and frees them after,
    so the unsharded memory at any time is one such module; the rest (stem, heads) belongs to the root.

    Raises:
        ValueError: naming the ``wrap_modules`` entries that match no module of the model.
    """
    wanted = set(wrap_modules)
    present = {type(module).__name__ for module in model.modules()}
    if wanted - present:
        raise ValueError(f'wrap_modules {sorted(wanted - present)} match no module of {type(model).__name__}; '
                         f'its module classes are {sorted(present)}.')
    named = [(name, module) for name, module in model.named_modules()
             if name and type(module).__name__ in wanted]
    for _, module in reversed(named):  # named_modules() lists parents before their children
        fully_shard(module, **shard_kwargs)
    fully_shard(model, **shard_kwargs)
    return [name for name, _ in named]


@STRATEGIES.register_module()
class FSDP2Strategy(DDPStrategy):
    """Fully sharded data parallel training with torch's FSDP2, for mmengine's ``FlexibleRunner``.

    Parameters, gradients and optimizer states are split across all ranks; the modules named in
    ``wrap_modules`` gather their full parameters only while they run. Checkpoints hold the full (unsharded)
    state dict under the ordinary model's keys, written by rank 0, so ``tools/test.py`` evaluates them with any
    runner and any number of processes; the optimizer state is saved full as well, keyed by parameter name
    (torch.distributed.checkpoint's layout), and ``--resume`` re-shards both across however many ranks the
    resumed run has. One optimizer only (no ``OptimWrapperDict``); use ``mixed_precision`` rather than
    ``AmpOptimWrapper``.

    Without a distributed launcher the model runs unsharded (mixed precision off), which is how
    ``python tools/test.py`` evaluates a sharded config's checkpoint in one process.

    Args:
        wrap_modules (Sequence[str]): Class names of the submodules to shard as units (e.g. the blocks:
            ``('DualBlock', )`` for DaViT). Defaults to ``()``: the model is one unit, gathered whole in forward
            and backward (memory still drops for gradients and optimizer states).
        reshard_after_forward (bool): Free each unit's gathered parameters after its forward and gather them
            again in backward (less memory, one more all-gather per unit). Defaults to True.
        mixed_precision (dict, optional): ``MixedPrecisionPolicy`` arguments, dtypes by name, e.g.
            ``dict(param_dtype='bfloat16', reduce_dtype='float32')``: compute in bf16 while the sharded master
            weights, the optimizer and the gradient reduction stay fp32. Defaults to None (fp32).
        **kwargs: :class:`mmengine._strategy.DDPStrategy` arguments (``sync_bn``, ``work_dir``, ...), filled in
            by the runner.
    """

    def __init__(self, *, wrap_modules: Sequence[str] = (), reshard_after_forward: bool = True,
                 mixed_precision: Optional[dict] = None, **kwargs):
        if kwargs.get('model_wrapper') is not None:
            raise ValueError('FSDP2Strategy shards the model itself; model_wrapper is not used.')
        super().__init__(**kwargs)
        if isinstance(wrap_modules, str):
            wrap_modules = (wrap_modules, )
        self.wrap_modules = tuple(wrap_modules)
        self.reshard_after_forward = reshard_after_forward
        self.mp_policy = mixed_precision_policy(mixed_precision)
        self._resuming = False

    def _wrap_model(self, model: nn.Module) -> nn.Module:
        model = self.convert_model(model)
        if not self.distributed:
            self.logger.info('FSDP2Strategy without a distributed launcher: the model runs unsharded, in fp32.')
            return model.to(get_device())
        for module in model.modules():
            if isinstance(module, BaseDataPreprocessor):
                # FSDP2 moves the tensors to the GPU but not a preprocessor's record of where to send the batches
                module.to(get_device())
        mesh = init_device_mesh(get_device(), (self.world_size, ))
        names = shard_modules(model, self.wrap_modules, mesh=mesh, mp_policy=self.mp_policy,
                              reshard_after_forward=self.reshard_after_forward)
        self.logger.info(f'FSDP2: {len(names)} modules ({", ".join(self.wrap_modules) or "none"}) and the root '
                         f'sharded across {self.world_size} ranks')
        return model

    def model_state_dict(self) -> dict:
        """The full state dict on rank 0 (an empty dict on the other ranks); every rank must call it."""
        return get_model_state_dict(self.model, options=_GATHER_FULL)

    def optim_state_dict(self) -> dict:
        """The full optimizer state, keyed by parameter name, on rank 0; every rank must call it."""
        return get_optimizer_state_dict(self.model, self.optim_wrapper.optimizer, options=_GATHER_FULL)

    def load_model_state_dict(self, state_dict: dict, *, strict: bool = False,
                              revise_keys: list = [(r'^module\.', '')]) -> None:
        """Load a full state dict (present on every rank); each rank keeps its shard.

        Raises:
            CheckpointMismatchError: with ``strict``, listing missing, unexpected and mis-shaped keys.
        """
        state_dict = apply_key_revisions(state_dict, revise_keys)
        if strict:
            require_fit(state_dict, self.model, 'the checkpoint', revise_keys=())
        set_model_state_dict(self.model, state_dict, options=StateDictOptions(full_state_dict=True, strict=strict))

    def load_optim_state_dict(self, state_dict: dict) -> None:
        set_optimizer_state_dict(self.model, self.optim_wrapper.optimizer, state_dict,
                                 options=StateDictOptions(full_state_dict=True))

    def load_checkpoint(self, filename: str, *, map_location: Union[str, Callable] = 'cpu', strict: bool = False,
                        **kwargs) -> dict:
        # into CPU memory whatever map_location asks: set_model_state_dict moves each shard to its device, where
        # mmengine's 'default' would put a whole copy of the model on every GPU first
        return super().load_checkpoint(filename, map_location='cpu', strict=strict or self._resuming, **kwargs)

    def resume(self, filename: str, **kwargs) -> dict:
        # the checkpoint resumed from must be this model's, key for key (mmengine loads it non-strictly)
        self._resuming = True
        try:
            return super().resume(filename, **kwargs)
        finally:
            self._resuming = False

    def save_checkpoint(self, filename: str, *, save_optimizer: bool = True, save_param_scheduler: bool = True,
                        extra_ckpt: Optional[dict] = None, callback: Optional[Callable] = None) -> None:
        """Gather the full model (and optimizer) state on rank 0 and write one checkpoint file there.

        Every rank must call it (the runner's ``CheckpointHook`` does), since gathering is collective.
        """
        from mmengine.runner.checkpoint import save_checkpoint
        checkpoint = dict(state_dict=self.model_state_dict())
        if save_optimizer and hasattr(self, 'optim_wrapper'):
            checkpoint['optimizer'] = self.optim_state_dict()
        if not is_main_process():
            return
        if save_param_scheduler and hasattr(self, 'param_schedulers'):
            checkpoint['param_schedulers'] = self.scheduler_state_dict()
        checkpoint.update(extra_ckpt or {})
        checkpoint.setdefault('meta', {}).update(seed=self.seed, time=time.strftime('%Y%m%d_%H%M%S'),
                                                 mmengine=mmengine.__version__ + get_git_hash())
        if callback is not None:
            callback(checkpoint)
        save_checkpoint(checkpoint, filename)
