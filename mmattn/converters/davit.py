"""DaViT checkpoints (official, timm, mmpretrain layouts) -> mmattn ImageClassifier layout.

mmattn's names are timm's under ``backbone.``, except the classifier LayerNorm, which is the backbone's
``norm{last}`` (applied after pooling), and ``head.fc``.
"""
import re
from typing import Dict, Mapping, Tuple

import torch

from .utils import ConversionError, check_classifier, stage_dims_and_depths, rename_keys, strip_prefix

# official (dingmyu/davit) -> timm, in the order timm's checkpoint_filter_fn applies them
OFFICIAL_TO_TIMM = [
    (r'^patch_embeds\.(\d+)', r'stages.\1.downsample'),
    (r'^main_blocks\.(\d+)', r'stages.\1.blocks'),
    (r'downsample\.proj', 'downsample.conv'),
    (r'^stages\.0\.downsample', 'stem'),
    (r'^head\.', 'head.fc.'),
    (r'^norms\.', 'head.norm.'),
    (r'\.cpe\.0\.', '.cpe1.'),
    (r'\.cpe\.1\.', '.cpe2.'),
]
# mmpretrain puts each downsample at the end of the previous stage and wraps several modules
MMPRETRAIN_TO_MMATTN = [
    (r'^backbone\.patch_embed\.projection\.', 'backbone.stem.conv.'),
    (r'^backbone\.patch_embed\.norm\.', 'backbone.stem.norm.'),
    (r'^backbone\.stages\.(\d+)\.downsample\.projection\.',
     lambda m: f'backbone.stages.{int(m.group(1)) + 1}.downsample.conv.'),
    (r'^backbone\.stages\.(\d+)\.downsample\.norm\.',
     lambda m: f'backbone.stages.{int(m.group(1)) + 1}.downsample.norm.'),
    (r'\.spatial_block\.', '.0.'),
    (r'\.channel_block\.', '.1.'),
    (r'\.attn\.w_msa\.', '.attn.'),
    (r'\.ffn\.layers\.0\.0\.', '.mlp.fc1.'),
    (r'\.ffn\.layers\.1\.', '.mlp.fc2.'),
]


def detect_layout(state_dict: Mapping[str, torch.Tensor]) -> str:
    if 'patch_embeds.0.proj.weight' in state_dict:
        return 'official'
    if 'stem.conv.weight' in state_dict:
        return 'timm'
    if 'backbone.patch_embed.projection.weight' in state_dict:
        return 'mmpretrain'
    if 'backbone.stem.conv.weight' in state_dict:
        return 'mmattn'
    raise ConversionError('Not a DaViT checkpoint in a known layout: expected one of the keys '
                          "'patch_embeds.0.proj.weight' (official), 'stem.conv.weight' (timm), "
                          "'backbone.patch_embed.projection.weight' (mmpretrain). First keys found: "
                          f'{sorted(state_dict)[:10]}')


def _timm_to_mmattn(state_dict: Mapping[str, torch.Tensor], last_stage: int) -> Dict[str, torch.Tensor]:
    out = {}
    for key, value in state_dict.items():
        if key.startswith('head.norm.'):
            out[f'backbone.norm{last_stage}.' + key[len('head.norm.'):]] = value
        elif key.startswith('head.fc.'):
            out[key] = value
        else:
            out['backbone.' + key] = value
    return out


def infer_arch(state_dict: Mapping[str, torch.Tensor]) -> Tuple[str, dict]:
    """Find the arch whose embed_dims and depths match an mmattn-layout DaViT state dict."""
    from mmattn.models.backbones.davit import DaViT
    embed_dims, depths = stage_dims_and_depths(state_dict, 'backbone.stages.{stage}.blocks.{block}.0.norm1.weight')
    for name, settings in DaViT.arch_zoo.items():
        if len(name) > 1 and settings['embed_dims'] == embed_dims and settings['depths'] == depths:
            return name, settings
    raise ConversionError(f'No DaViT arch has embed_dims {embed_dims} and depths {depths}; known archs: '
                          f'{sorted(k for k in DaViT.arch_zoo if len(k) > 1)}.')



def convert_davit(state_dict: Mapping[str, torch.Tensor]) -> Tuple[Dict[str, torch.Tensor], dict]:
    """Convert a DaViT classification state dict to mmattn's ImageClassifier keys.

    Returns:
        tuple: the converted state dict and ``meta`` (``arch``, ``source_layout``, ``num_classes``).

    Raises:
        ConversionError: for an unknown layout or arch, or keys that are unknown, missing or mis-shaped.
    """
    state_dict = strip_prefix(state_dict, 'module.')
    layout = detect_layout(state_dict)
    if layout == 'official':
        state_dict = rename_keys(state_dict, OFFICIAL_TO_TIMM)
    if layout in ('official', 'timm'):
        last_stage = max(int(m.group(1)) for k in state_dict for m in [re.match(r'stages\.(\d+)\.', k)] if m)
        state_dict = _timm_to_mmattn(state_dict, last_stage)
    elif layout == 'mmpretrain':
        state_dict = rename_keys(state_dict, MMPRETRAIN_TO_MMATTN)
    arch, settings = infer_arch(state_dict)
    from mmattn.models.backbones.davit import DaViT
    num_classes = check_classifier(state_dict, DaViT(arch), f'a {layout} DaViT-{arch} checkpoint')
    return dict(state_dict), dict(arch=arch, source_layout=layout, num_classes=num_classes)
