"""DAT++ checkpoints (official ``LeapLabTHU/DAT`` head, DAT-Detection, DAT-Segmentation) -> mmattn layout.

Official -> mmattn (``backbone.`` prefix omitted on the right):

==================================================  ======================================================
``patch_proj.{0,3}`` / ``patch_proj.{1,4}.norm``    ``stem.conv{1,2}`` / ``stem.norm{1,2}``
``down_projs.{i}.0`` / ``down_projs.{i}.1.norm``    ``stages.{i+1}.downsample.conv`` / ``.downsample.norm``
``stages.{i}.layer_norms.{2d}`` / ``{2d+1}``        ``stages.{i}.blocks.{d}.norm1`` / ``.norm2``
``stages.{i}.local_perception_units.{d}``           ``stages.{i}.blocks.{d}.lpu.proj``
``stages.{i}.mlps.{d}.linear{1,2}.0`` / ``.dwc``    ``blocks.{d}.mlp.fc{1,2}`` (squeezed) / ``mlp.dwconv.proj``
``attns.{d}.{qkv,rpb,proj}`` (N)                     ``blocks.{d}.attn.{qkv,rpb,proj}``
``attns.{d}.proj_{q,k,v,out}`` (D, 1x1 convs)       ``blocks.{d}.attn.proj_{q,k,v,out}`` (Linear, squeezed)
``attns.{d}.conv_offset.{0,1.norm,3}``              ``blocks.{d}.attn.offset_net.{conv,norm,proj}`` (3 squeezed)
``attns.{d}.rpe_table``                             ``blocks.{d}.attn.rpe_table``
``cls_norm.norm`` / ``cls_head``                    ``norm3`` / ``head.fc`` (no ``backbone.`` prefix)
``backbone.norms.{i}.norm`` (detection)             ``norm{i}``
==================================================  ======================================================

Classification checkpoints hold the weights under ``model``; detection and segmentation checkpoints (mmcv
``state_dict``) hold the whole detector, of which the ``backbone.`` part is kept (neck and heads are dropped).
"""
import re
from typing import Dict, Mapping, Tuple

import torch

from .dat import matching_arch, training_size
from .utils import (ConversionError, check_against_model, check_classifier, rename_keys, stage_dims_and_depths,
                    strip_prefix)

ARCH_NAMES = ('tiny', 'small', 'base')
_BLOCK = r'^stages\.(\d+)\.'
OFFICIAL_TO_MMATTN = [
    (r'^patch_proj\.0\.', 'stem.conv1.'),
    (r'^patch_proj\.1\.norm\.', 'stem.norm1.'),
    (r'^patch_proj\.3\.', 'stem.conv2.'),
    (r'^patch_proj\.4\.norm\.', 'stem.norm2.'),
    (r'^down_projs\.(\d+)\.0\.', lambda m: f'stages.{int(m.group(1)) + 1}.downsample.conv.'),
    (r'^down_projs\.(\d+)\.1\.norm\.', lambda m: f'stages.{int(m.group(1)) + 1}.downsample.norm.'),
    (_BLOCK + r'layer_norms\.(\d+)\.norm\.',
     lambda m: f'stages.{m.group(1)}.blocks.{int(m.group(2)) // 2}.norm{int(m.group(2)) % 2 + 1}.'),
    (_BLOCK + r'local_perception_units\.(\d+)\.', r'stages.\1.blocks.\2.lpu.proj.'),
    (_BLOCK + r'mlps\.(\d+)\.linear([12])\.0\.', r'stages.\1.blocks.\2.mlp.fc\3.'),
    (_BLOCK + r'mlps\.(\d+)\.dwc\.', r'stages.\1.blocks.\2.mlp.dwconv.proj.'),
    (_BLOCK + r'attns\.(\d+)\.conv_offset\.0\.', r'stages.\1.blocks.\2.attn.offset_net.conv.'),
    (_BLOCK + r'attns\.(\d+)\.conv_offset\.1\.norm\.', r'stages.\1.blocks.\2.attn.offset_net.norm.'),
    (_BLOCK + r'attns\.(\d+)\.conv_offset\.3\.', r'stages.\1.blocks.\2.attn.offset_net.proj.'),
    (_BLOCK + r'attns\.(\d+)\.', r'stages.\1.blocks.\2.attn.'),
    (r'^norms\.(\d+)\.norm\.', r'norm\1.'),
]
# official 1x1 convolutions that are Linear layers here
SQUEEZED = re.compile(r'(mlp\.fc[12]|attn\.proj_(q|k|v|out)|attn\.offset_net\.proj)\.weight$')


def detect_layout(state_dict: Mapping[str, torch.Tensor]) -> str:
    """``'official'`` (classifier), ``'official-dense'`` (DAT-Detection / -Segmentation) or ``'mmattn'``."""
    for prefix, layout in (('', 'official'), ('backbone.', 'official-dense')):
        if f'{prefix}patch_proj.3.weight' in state_dict:
            return layout
        if f'{prefix}patch_proj.0.weight' in state_dict:
            raise ConversionError('This is a DAT v1 checkpoint (a one-conv 4x4 patch stem, no local perception '
                                  'units); mmattn.DATPlusPlus cannot load it. Convert it for mmattn.DAT with '
                                  'tools/model_converters/dat2mmattn.py.')
    if 'backbone.stem.conv1.weight' in state_dict:
        return 'mmattn'
    raise ConversionError("Not a DAT++ checkpoint in a known layout: expected the key 'patch_proj.3.weight' "
                          "(official classifier), 'backbone.patch_proj.3.weight' (DAT-Detection / "
                          "DAT-Segmentation) or 'backbone.stem.conv1.weight' (mmattn). First keys found: "
                          f'{sorted(state_dict)[:10]}')


def _official_to_mmattn(state_dict: Mapping[str, torch.Tensor], last_stage: int) -> Dict[str, torch.Tensor]:
    renamed = rename_keys(state_dict, OFFICIAL_TO_MMATTN + [(r'^cls_norm\.norm\.', f'norm{last_stage}.')])
    out = {}
    for key, value in renamed.items():
        if SQUEEZED.search(key) and value.dim() == 4 and value.shape[-2:] == (1, 1):
            value = value.flatten(1)
        out[('head.fc.' + key[len('cls_head.'):]) if key.startswith('cls_head.') else 'backbone.' + key] = value
    return out


def infer_arch(state_dict: Mapping[str, torch.Tensor]) -> Tuple[str, dict]:
    """Find the DAT++ arch whose dims, depths and training size match an mmattn-layout state dict."""
    from mmattn.models.backbones.dat_pp import DATPlusPlus
    embed_dims, depths = stage_dims_and_depths(state_dict, 'backbone.stages.{stage}.blocks.{block}.norm1.weight')
    return matching_arch(DATPlusPlus, ARCH_NAMES,
                         dict(embed_dims=embed_dims, depths=depths, img_size=training_size(state_dict)))


def convert_datpp(state_dict: Mapping[str, torch.Tensor]) -> Tuple[Dict[str, torch.Tensor], dict]:
    """Convert a DAT++ classifier, or the backbone of a DAT++ detector / segmentor, to mmattn's keys.

    Returns:
        tuple: the converted state dict (``backbone.*`` and, for a classifier, ``head.fc.*``) and ``meta``
        (``arch``, ``source_layout``, ``num_classes``: None for a backbone, ``out_indices`` of its output norms).

    Raises:
        ConversionError: for an unknown layout (or a DAT v1 checkpoint) or arch, or keys that are unknown,
            missing or mis-shaped (each listed).
    """
    from mmattn.models.backbones.dat_pp import DATPlusPlus
    state_dict = strip_prefix(state_dict, 'module.')
    layout = detect_layout(state_dict)
    if layout == 'official-dense':
        state_dict = {k[len('backbone.'):]: v for k, v in state_dict.items() if k.startswith('backbone.')}
    if layout != 'mmattn':
        last_stage = max(int(m.group(1)) for k in state_dict for m in [re.match(r'stages\.(\d+)\.', k)] if m)
        state_dict = _official_to_mmattn(state_dict, last_stage)
    arch, _ = infer_arch(state_dict)
    what = f'a {layout} DAT++-{arch} checkpoint'
    if layout == 'official-dense' or (layout == 'mmattn' and 'head.fc.weight' not in state_dict):
        out_indices = sorted(int(m.group(1)) for k in state_dict
                             for m in [re.match(r'backbone\.norm(\d+)\.weight$', k)] if m)
        skeleton = torch.nn.Module()
        skeleton.backbone = DATPlusPlus(arch, out_indices=out_indices or (3, ))
        check_against_model(state_dict, skeleton, what)
        return dict(state_dict), dict(arch=arch, source_layout=layout, num_classes=None,
                                      out_indices=out_indices)
    num_classes = check_classifier(state_dict, DATPlusPlus(arch), what)
    return dict(state_dict), dict(arch=arch, source_layout=layout, num_classes=num_classes)
