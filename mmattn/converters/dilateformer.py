"""DilateFormer checkpoints (official ``JIAOJIAYUASD/dilateformer`` layout) -> mmattn ImageClassifier layout.

mmattn keeps the official names under ``backbone.`` except ``patch_embed.proj.*`` -> ``stem.*`` and
``blocks.j.pos_embed.*`` -> ``blocks.j.cpe.proj.*``; the classifier's ``norm`` (applied to every token before
pooling) becomes the backbone's ``norm{last}`` and ``head`` becomes ``head.fc``. The qkv 1x1-conv weights of the
dilated stages keep their ``(3C, C, 1, 1)`` shape and channel order.
"""
import re
from typing import Dict, Mapping, Tuple

import torch

from .utils import ConversionError, check_classifier, stage_dims_and_depths, rename_keys, strip_prefix

OFFICIAL_TO_MMATTN = [
    (r'^patch_embed\.proj\.', 'backbone.stem.'),
    (r'^stages\.(\d+)\.blocks\.(\d+)\.pos_embed\.', r'backbone.stages.\1.blocks.\2.cpe.proj.'),
    (r'^stages\.', 'backbone.stages.'),
    (r'^head\.', 'head.fc.'),
]


def detect_layout(state_dict: Mapping[str, torch.Tensor]) -> str:
    if 'patch_embed.proj.0.weight' in state_dict:
        return 'official'
    if 'backbone.stem.0.weight' in state_dict:
        return 'mmattn'
    raise ConversionError('Not a DilateFormer checkpoint in a known layout: expected the key '
                          "'patch_embed.proj.0.weight' (official) or 'backbone.stem.0.weight' (mmattn). First "
                          f'keys found: {sorted(state_dict)[:10]}')


def _official_to_mmattn(state_dict: Mapping[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    stages = [int(m.group(1)) for k in state_dict for m in [re.match(r'stages\.(\d+)\.', k)] if m]
    if not stages:
        raise ConversionError('The checkpoint has no stages.* keys.')
    last_stage = max(stages)
    out = {}
    for key, value in rename_keys(state_dict, OFFICIAL_TO_MMATTN).items():
        if key.startswith('norm.'):
            key = f'backbone.norm{last_stage}.' + key[len('norm.'):]
        out[key] = value
    return out


def infer_arch(state_dict: Mapping[str, torch.Tensor]) -> str:
    """Name the zoo arch whose embed_dims, depths and attention types match an mmattn-layout state dict."""
    from mmattn.models.backbones.dilateformer import DilateFormer
    embed_dims, depths = stage_dims_and_depths(state_dict, 'backbone.stages.{stage}.blocks.{block}.norm1.weight')
    dilated = []  # dilated stages project qkv with a 1x1 conv (4-D weight), global ones with a Linear
    for stage in range(len(depths)):
        qkv = state_dict.get(f'backbone.stages.{stage}.blocks.0.attn.qkv.weight')
        dilated.append(qkv is not None and qkv.dim() == 4)
    for name, settings in DilateFormer.arch_zoo.items():
        if len(name) > 1 and settings['embed_dims'] == embed_dims and settings['depths'] == depths \
                and settings['dilated_stages'] == dilated:
            return name
    raise ConversionError(f'No DilateFormer arch has embed_dims {embed_dims}, depths {depths} and dilated '
                          f'stages {dilated}; known archs: '
                          f'{sorted(k for k in DilateFormer.arch_zoo if len(k) > 1)}.')



def select_weights(checkpoint: Mapping, ema: bool = False) -> Dict[str, torch.Tensor]:
    """Pick the state dict out of an official checkpoint.

    Accepts a bare state dict or one nested under ``model``, ``state_dict`` (or ``model_ema`` when ``ema``).

    Raises:
        ConversionError: if ``ema`` is asked for and absent, or no state dict is found.
    """
    if not isinstance(checkpoint, Mapping):
        raise ConversionError(f'Expected a checkpoint dict, got {type(checkpoint).__name__}.')
    if ema:
        if not isinstance(checkpoint.get('model_ema'), Mapping):
            raise ConversionError(f'--ema: the checkpoint has no model_ema weights (top-level keys: '
                                  f'{sorted(checkpoint)[:20]}).')
        return _tensors(checkpoint['model_ema'], 'model_ema')
    for key in ('model', 'state_dict'):
        if isinstance(checkpoint.get(key), Mapping):
            return _tensors(checkpoint[key], key)
    if 'model_ema' in checkpoint:
        raise ConversionError('The checkpoint holds only model_ema weights; pass --ema to convert them.')
    return _tensors(checkpoint, 'the checkpoint')


def _tensors(state_dict: Mapping, where: str) -> Dict[str, torch.Tensor]:
    tensors = {k: v for k, v in state_dict.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise ConversionError(f'No tensors found in {where} (keys: {sorted(state_dict)[:20]}).')
    return tensors


def convert_dilateformer(state_dict: Mapping[str, torch.Tensor]) -> Tuple[Dict[str, torch.Tensor], dict]:
    """Convert a DilateFormer classification state dict to mmattn's ImageClassifier keys.

    Args:
        state_dict (Mapping[str, Tensor]): Official (optionally ``module.``-prefixed) or mmattn keys.

    Returns:
        tuple: the converted state dict and ``meta`` (``arch``, ``source_layout``, ``num_classes``).

    Raises:
        ConversionError: for an unknown layout or arch, or keys that are unknown, missing or mis-shaped
            (all of them listed).
    """
    state_dict = strip_prefix(state_dict, 'module.')
    layout = detect_layout(state_dict)
    if layout == 'official':
        state_dict = _official_to_mmattn(state_dict)
    arch = infer_arch(state_dict)
    from mmattn.models.backbones.dilateformer import DilateFormer
    classes = check_classifier(state_dict, DilateFormer(arch), f'a {layout} DilateFormer-{arch} checkpoint')
    return dict(state_dict), dict(arch=arch, source_layout=layout, num_classes=classes)
