"""DAT v1 checkpoints (official ``LeapLabTHU/DAT`` @566a593 layout) -> mmattn ImageClassifier layout.

Official -> mmattn (``backbone.`` prefix omitted on the right):

=============================================  ===========================================================
``patch_proj.0`` / ``patch_proj.1.norm``       ``stem.conv`` / ``stem.norm``
``down_projs.{i}.0`` / ``down_projs.{i}.1.norm``  ``stages.{i+1}.downsample.conv`` / ``.downsample.norm``
``stages.{i}.layer_norms.{2d}`` / ``{2d+1}``   ``stages.{i}.blocks.{d}.norm1`` / ``.norm2`` (``.norm`` dropped)
``stages.{i}.mlps.{d}.chunk.linear{1,2}``      ``stages.{i}.blocks.{d}.mlp.fc{1,2}``
``attns.{d}.proj_qkv`` / ``proj_out`` (L, S)   ``blocks.{d}.attn.qkv`` / ``attn.proj``
``attns.{d}.relative_position_bias_table``     ``blocks.{d}.attn.relative_position_bias_table``
``attns.{d}.proj_{q,k,v,out}`` (D, 1x1 convs)  ``blocks.{d}.attn.proj_{q,k,v,out}`` (Linear, squeezed)
``attns.{d}.conv_offset.{0,1.norm,3}``         ``blocks.{d}.attn.offset_net.{conv,norm,proj}`` (3 squeezed)
``attns.{d}.rpe_table``                        ``blocks.{d}.attn.rpe_table``
``cls_norm.norm`` / ``cls_head``               ``norm3`` / ``head.fc`` (no ``backbone.`` prefix)
=============================================  ===========================================================

The rebuilt buffers ``relative_position_index`` and ``attn_mask`` are dropped.
"""
import re
from typing import Dict, Mapping, Tuple

import torch

from .utils import ConversionError, check_classifier, stage_dims_and_depths, strip_prefix

DROPPED_BUFFERS = ('relative_position_index', 'attn_mask')
ARCH_NAMES = ('tiny', 'small', 'base', 'base-384')


def detect_layout(state_dict: Mapping[str, torch.Tensor]) -> str:
    if any(k.startswith('stages.') and '.local_perception_units.' in k for k in state_dict) or \
            'patch_proj.3.weight' in state_dict:
        raise ConversionError('This is a DAT++ checkpoint (it has local perception units / a two-conv stem); '
                              'mmattn.DAT is the CVPR 2022 DAT v1 and cannot load it. Convert it for '
                              'mmattn.DATPlusPlus with tools/model_converters/datpp2mmattn.py.')
    if 'patch_proj.0.weight' in state_dict:
        return 'official'
    if 'backbone.stem.conv.weight' in state_dict:
        return 'mmattn'
    raise ConversionError("Not a DAT checkpoint in a known layout: expected the key 'patch_proj.0.weight' "
                          f"(official) or 'backbone.stem.conv.weight' (mmattn). First keys found: "
                          f'{sorted(state_dict)[:10]}')


def _official_to_mmattn(state_dict: Mapping[str, torch.Tensor], last_stage: int) -> Dict[str, torch.Tensor]:
    deformable = {m.group(1) for k in state_dict for m in [re.match(r'(stages\.\d+\.attns\.\d+)\.rpe_table$', k)]
                  if m}
    deformable |= {m.group(1) for k in state_dict
                   for m in [re.match(r'(stages\.\d+\.attns\.\d+)\.conv_offset\.', k)] if m}
    out = {}
    for key, value in state_dict.items():
        if key.rsplit('.', 1)[-1] in DROPPED_BUFFERS:
            continue
        new = key
        m = re.match(r'stages\.(\d+)\.layer_norms\.(\d+)\.norm\.(.+)$', key)
        if m:
            stage, index, rest = int(m.group(1)), int(m.group(2)), m.group(3)
            new = f'stages.{stage}.blocks.{index // 2}.norm{index % 2 + 1}.{rest}'
        m = re.match(r'stages\.(\d+)\.mlps\.(\d+)\.chunk\.linear([12])\.(.+)$', key)
        if m:
            new = f'stages.{m.group(1)}.blocks.{m.group(2)}.mlp.fc{m.group(3)}.{m.group(4)}'
        m = re.match(r'(stages\.(\d+)\.attns\.(\d+))\.(.+)$', key)
        if m:
            block, rest = f'stages.{m.group(2)}.blocks.{m.group(3)}.attn', m.group(4)
            if m.group(1) in deformable:
                rest = re.sub(r'^conv_offset\.0\.', 'offset_net.conv.', rest)
                rest = re.sub(r'^conv_offset\.1\.norm\.', 'offset_net.norm.', rest)
                rest = re.sub(r'^conv_offset\.3\.', 'offset_net.proj.', rest)
                if (rest.startswith(('proj_', 'offset_net.proj.')) and value.dim() == 4
                        and value.shape[-2:] == (1, 1)):
                    value = value.flatten(1)  # 1x1 conv -> Linear
            else:
                rest = re.sub(r'^proj_qkv\.', 'qkv.', rest)
                rest = re.sub(r'^proj_out\.', 'proj.', rest)
            new = f'{block}.{rest}'
        m = re.match(r'down_projs\.(\d+)\.0\.(.+)$', key)
        if m:
            new = f'stages.{int(m.group(1)) + 1}.downsample.conv.{m.group(2)}'
        m = re.match(r'down_projs\.(\d+)\.1\.norm\.(.+)$', key)
        if m:
            new = f'stages.{int(m.group(1)) + 1}.downsample.norm.{m.group(2)}'
        new = re.sub(r'^patch_proj\.0\.', 'stem.conv.', new)
        new = re.sub(r'^patch_proj\.1\.norm\.', 'stem.norm.', new)
        new = re.sub(r'^cls_norm\.norm\.', f'norm{last_stage}.', new)
        if key.startswith('cls_head.'):
            new = 'head.fc.' + key[len('cls_head.'):]
        elif new != key or key.startswith(('stem.', 'stages.', 'norm')):
            new = 'backbone.' + new
        if new in out:
            raise ConversionError(f'Two source keys map to {new!r} (the second is {key!r}).')
        out[new] = value
    return out


def infer_arch(state_dict: Mapping[str, torch.Tensor]) -> Tuple[str, dict]:
    """Find the DAT arch whose dims, depths, window and training size match an mmattn-layout state dict."""
    from mmattn.models.backbones.dat import DAT
    embed_dims, depths = stage_dims_and_depths(state_dict, 'backbone.stages.{stage}.blocks.{block}.norm1.weight')
    window = next(((round(value.shape[0]**0.5) + 1) // 2 for key, value in state_dict.items()
                   if key.endswith('attn.relative_position_bias_table')), None)
    found = dict(embed_dims=embed_dims, depths=depths, window_size=window, img_size=training_size(state_dict))
    return matching_arch(DAT, ARCH_NAMES, found)


def training_size(state_dict: Mapping[str, torch.Tensor]):
    """The training resolution the first deformable bias table was sized from (``2 * size / 2**(i+2) - 1`` per
    side in stage ``i``), or None without one."""
    for key, value in state_dict.items():
        m = re.match(r'backbone\.stages\.(\d+)\.blocks\.\d+\.attn\.rpe_table$', key)
        if m:
            return (value.shape[-2] + 1) // 2 * 2**(int(m.group(1)) + 2)
    return None


def matching_arch(backbone_cls, names, found: dict) -> Tuple[str, dict]:
    """The first of ``names`` in ``backbone_cls.arch_zoo`` whose settings include ``found``."""
    for name in names:
        settings = backbone_cls.arch_zoo[name]
        if all(settings[k] == v for k, v in found.items()):
            return name, settings
    raise ConversionError(f'No {backbone_cls.__name__} arch has {found}; known archs: {list(names)}.')



def convert_dat(state_dict: Mapping[str, torch.Tensor]) -> Tuple[Dict[str, torch.Tensor], dict]:
    """Convert a DAT v1 classification state dict to mmattn's ImageClassifier keys.

    Returns:
        tuple: the converted state dict and ``meta`` (``arch``, ``source_layout``, ``num_classes``).

    Raises:
        ConversionError: for an unknown layout (or a DAT++ checkpoint) or arch, or keys that are unknown,
            missing or mis-shaped (each listed).
    """
    state_dict = strip_prefix(state_dict, 'module.')
    layout = detect_layout(state_dict)
    if layout == 'official':
        last_stage = max(int(m.group(1)) for k in state_dict for m in [re.match(r'stages\.(\d+)\.', k)] if m)
        state_dict = _official_to_mmattn(state_dict, last_stage)
    else:
        state_dict = {k: v for k, v in state_dict.items() if k.rsplit('.', 1)[-1] not in DROPPED_BUFFERS}
    arch, _ = infer_arch(state_dict)
    from mmattn.models.backbones.dat import DAT
    num_classes = check_classifier(state_dict, DAT(arch), f'a {layout} DAT-{arch} checkpoint')
    return dict(state_dict), dict(arch=arch, source_layout=layout, num_classes=num_classes)
