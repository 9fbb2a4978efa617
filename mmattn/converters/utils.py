"""Helpers shared by the per-model converters."""
import re
from typing import Dict, Mapping, Sequence, Tuple

import torch
import torch.nn as nn

from mmattn.utils.checkpoint import state_dict_mismatches


class ConversionError(ValueError):
    """A checkpoint does not match the layout or the model it is converted for."""


def rename_keys(state_dict: Mapping[str, torch.Tensor],
                rules: Sequence[Tuple[str, str]]) -> Dict[str, torch.Tensor]:
    """Apply the regex substitutions ``rules`` in order to every key."""
    renamed = {}
    for key, value in state_dict.items():
        new_key = key
        for pattern, replacement in rules:
            new_key = re.sub(pattern, replacement, new_key)
        if new_key in renamed:
            raise ConversionError(f'Two source keys map to {new_key!r} (the second is {key!r}).')
        renamed[new_key] = value
    return renamed


def strip_prefix(state_dict: Mapping[str, torch.Tensor], prefix: str) -> Dict[str, torch.Tensor]:
    """Remove ``prefix`` (e.g. ``'module.'`` from DDP-saved files) where every key has it."""
    if state_dict and all(k.startswith(prefix) for k in state_dict):
        return {k[len(prefix):]: v for k, v in state_dict.items()}
    return dict(state_dict)


def check_against_model(converted: Mapping[str, torch.Tensor], model: nn.Module, what: str) -> None:
    """Raise :class:`ConversionError` listing unexpected, missing and mis-shaped keys versus ``model``."""
    problems = state_dict_mismatches(converted, model.state_dict())
    if problems:
        raise ConversionError(f'Cannot convert {what}:\n  ' + '\n  '.join(problems))


def stage_dims_and_depths(state_dict: Mapping[str, torch.Tensor], norm_key: str) -> Tuple[list, list]:
    """Read each stage's width and block count from an mmattn-layout state dict.

    ``norm_key`` names a per-block norm weight with ``{stage}`` and ``{block}`` fields, e.g.
    ``'backbone.stages.{stage}.blocks.{block}.norm1.weight'``.
    """
    embed_dims, depths = [], []
    while norm_key.format(stage=len(depths), block=0) in state_dict:
        stage = len(depths)
        embed_dims.append(state_dict[norm_key.format(stage=stage, block=0)].shape[0])
        depth = 0
        while norm_key.format(stage=stage, block=depth) in state_dict:
            depth += 1
        depths.append(depth)
    return embed_dims, depths


def check_classifier(converted: Mapping[str, torch.Tensor], backbone: nn.Module, what: str) -> int:
    """Validate a converted state dict against ``backbone`` + a ``LinearClsHead``; return its class count.

    The skeleton has the keys of the ImageClassifier the configs build (``backbone.*``, ``head.fc.*``).
    """
    if 'head.fc.weight' not in converted:
        raise ConversionError(f'Cannot convert {what}: it has no classifier (head / head.fc), which mmattn '
                              'classifier checkpoints need. Backbone-only weights load directly with '
                              "init_cfg=dict(type='Pretrained', checkpoint=..., prefix='backbone.').")
    num_classes = converted['head.fc.weight'].shape[0]
    skeleton = nn.Module()
    skeleton.backbone = backbone
    skeleton.head = nn.Module()
    skeleton.head.fc = nn.Linear(backbone.embed_dims[-1], num_classes)
    check_against_model(converted, skeleton, what)
    return num_classes


def save_converted(state_dict: Mapping[str, torch.Tensor], path: str, meta: dict) -> None:
    """Write an mmengine-loadable ``{'state_dict', 'meta'}`` checkpoint of contiguous tensors."""
    import os
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tensors = {k: v.detach().contiguous().clone() for k, v in state_dict.items()}
    torch.save({'state_dict': tensors, 'meta': dict(meta)}, path)
