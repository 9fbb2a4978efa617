"""What every mmattn backbone shares: arch lookup, stage freezing, ``norm_eval`` and checkpointed blocks."""
import copy
from typing import Dict, Iterable, Sequence, Union

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp
from mmengine.model import BaseModule
from mmengine.model.weight_init import trunc_normal_
from torch.nn.modules.batchnorm import _BatchNorm

from .pretrained import load_pretrained


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


OUT_TYPES = ('featmap', 'avg_featmap')


def check_out_type(out_type: str) -> str:
    if out_type not in OUT_TYPES:
        raise ValueError(f'Unknown out_type {out_type!r}; expected one of {OUT_TYPES}.')
    return out_type


def checkpointed(module: nn.Module, *args, enabled: bool):
    """Run ``module(*args)``, recomputing its activations in backward when ``enabled`` (``with_cp``)."""
    if enabled and any(getattr(a, 'requires_grad', False) for a in args):
        return cp.checkpoint(module, *args, use_reentrant=False)
    return module(*args)


class StagedBackbone(BaseModule):
    """Base for backbones made of ``self.stem``, ``self.stages`` and a LayerNorm ``norm{i}`` per output.

    Subclasses set ``embed_dims`` and call :meth:`set_output_options` before building their modules.
    ``frozen_stages=-1`` freezes nothing, ``0`` the stem, ``k > 0`` also stages ``0..k-1`` and their output
    norms (override :meth:`frozen_modules` for another split).

    ``init_cfg=dict(type='Pretrained', checkpoint=..., prefix='backbone.')`` loads a classifier checkpoint
    through :func:`load_pretrained`; without ``init_cfg`` Linear layers get ``trunc_normal(0.02)`` (unless
    ``trunc_normal_linear_init`` is False) and every other layer keeps PyTorch's default.
    """
    trunc_normal_linear_init = True
    converter_script = None  # tools/model_converters/ script named when a pretrained file is missing

    def set_output_options(self, num_stages: int, out_indices, out_type: str, frozen_stages: int,
                           norm_eval: bool) -> None:
        """Validate and store the options every mmattn backbone takes (see the subclasses' docstrings)."""
        self.num_stages = num_stages
        self.out_indices = normalize_out_indices(out_indices, num_stages)
        self.out_type = check_out_type(out_type)
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval

    def add_output_norms(self, eps: float = 1e-5) -> None:
        for i in self.out_indices:
            self.add_module(f'norm{i}', nn.LayerNorm(self.embed_dims[i], eps=eps))

    def frozen_modules(self):
        if self.frozen_stages >= 0:
            yield self.stem
        for i in range(min(self.frozen_stages, self.num_stages)):
            yield self.stages[i]
            if i in self.out_indices:
                yield getattr(self, f'norm{i}')

    def init_weights(self):
        if isinstance(self.init_cfg, dict) and self.init_cfg.get('type') == 'Pretrained':
            # our loader instead of mmengine's PretrainedInit: weights-only, and strict about the keys
            load_pretrained(self, self.init_cfg['checkpoint'], self.init_cfg.get('prefix', ''),
                            self.init_cfg.get('map_location', 'cpu'))
            self._is_init = True
            return
        super().init_weights()
        if self.init_cfg is not None or not self.trunc_normal_linear_init:
            return  # a user-given init, or a model that keeps torch's defaults
        for module in self.modules():  # as the official models: Linear only, other layers keep torch's init
            if isinstance(module, nn.Linear):
                trunc_normal_(module.weight, std=.02)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    def check_image_batch(self, x: torch.Tensor) -> None:
        if x.dim() != 4:
            raise ValueError(f'{type(self).__name__} expects a (B, C, H, W) image batch, got shape '
                             f'{tuple(x.shape)}.')

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
