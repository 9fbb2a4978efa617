"""What every mmattn backbone shares: arch lookup, stage freezing, ``norm_eval`` and checkpointed blocks."""
import copy
from typing import Dict, Iterable, Sequence, Union

import torch.nn as nn
import torch.utils.checkpoint as cp
from mmengine.model import BaseModule
from torch.nn.modules.batchnorm import _BatchNorm


def resolve_arch(arch: Union[str, dict], arch_zoo: Dict[str, dict], required_keys: Iterable[str],
                 model_name: str) -> dict:
    """Return a copy of the arch settings named by ``arch`` or validate a custom dict.

    ``arch_zoo`` maps every accepted name (canonical names and aliases) to a settings dict. A string is looked
    up case-insensitively; a dict must hold exactly ``required_keys``.

    Raises:
        ValueError: naming the unknown arch and the accepted names, or the missing / unexpected keys.
    """
    required = set(required_keys)
    if isinstance(arch, str):
        key = arch.lower()
        if key not in arch_zoo:
            raise ValueError(f'Unknown {model_name} arch {arch!r}; expected one of {sorted(arch_zoo)} '
                             f'or a dict with keys {sorted(required)}.')
        return copy.deepcopy(arch_zoo[key])
    if not isinstance(arch, dict):
        raise TypeError(f'{model_name} arch must be a str or a dict, got {type(arch).__name__}.')
    missing, unexpected = required - set(arch), set(arch) - required
    if missing or unexpected:
        raise ValueError(f'Custom {model_name} arch dict: missing keys {sorted(missing)}, unexpected keys '
                         f'{sorted(unexpected)}; expected exactly {sorted(required)}.')
    return copy.deepcopy(arch)


def normalize_out_indices(out_indices: Union[int, Sequence[int]], num_stages: int) -> tuple:
    """Turn ``out_indices`` (ints, negatives allowed) into sorted non-negative stage indices."""
    if isinstance(out_indices, int):
        out_indices = [out_indices]
    result = []
    for index in out_indices:
        if not -num_stages <= index < num_stages:
            raise ValueError(f'out_indices entry {index} is out of range for {num_stages} stages.')
        result.append(index % num_stages)
    return tuple(sorted(set(result)))


def checkpointed(module: nn.Module, *args, enabled: bool):
    """Run ``module(*args)``, recomputing its activations in backward when ``enabled`` (``with_cp``)."""
    if enabled and any(getattr(a, 'requires_grad', False) for a in args):
        return cp.checkpoint(module, *args, use_reentrant=False)
    return module(*args)


class StagedBackbone(BaseModule):
    """Base for backbones made of a stem, stages and per-output norms.

    Subclasses set ``self.frozen_stages``, ``self.norm_eval`` and implement :meth:`frozen_modules`, the
    modules that ``frozen_stages`` stops (in order: stem, stage 0, stage 1, ...).
    """

    def frozen_modules(self):
        raise NotImplementedError

    def _freeze_stages(self):
        for module in self.frozen_modules():
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True):
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self
