"""DAT++: Vision Transformer with Deformable and Neighbourhood Attention (Xia et al., arXiv 2309.01430).

The model the official ``LeapLabTHU/DAT`` repository (and DAT-Detection / DAT-Segmentation) now ships, without
NATTEN. It keeps DAT v1's stage layout and pre-norm blocks (:class:`~mmattn.models.backbones.DAT`, whose
forward, outputs and freezing it inherits) and changes the parts:

- stem: ``Conv3x3/s2 (C/2, bias) -> LayerNorm -> GELU -> Conv3x3/s2 (C, bias) -> LayerNorm``;
- downsampling: ``Conv3x3/s2`` (padding 1, no bias) -> LayerNorm;
- every block starts with a local perception unit ``x += DWConv3x3(x)`` and its MLP has a depthwise 3x3 conv
  (with a residual) after the first layer (:class:`~mmattn.models.layers.ConvMlp`);
- attention per block: ``N`` neighbourhood attention (kernel 7, relative-position bias, NATTEN's borders) or
  ``D`` deformable attention with DAT++'s conventions (offset stride 8/4/2/1, so about 7x7 keys per group
  at 224 in every stage; no tanh, clamped positions; the bias table is continuous and never resized; see
  :mod:`mmattn.models.layers.deformable_attention`). Stage specs ``ND, NDND, (ND)x9, DD``.

Every size works: the convs need no padding, the neighbourhood attention pads maps smaller than its kernel, and
the deformable attention samples its table at any size. Module names are DAT v1's plus ``stem.{conv1, norm1,
conv2, norm2}``, ``blocks.{d}.lpu.proj`` and ``blocks.{d}.mlp.{fc1, dwconv.proj, fc2}``, and
``mmattn.converters.convert_datpp`` maps the official checkpoints onto them.
"""
import torch
import torch.nn as nn

from mmattn.registry import MODELS
from ..layers import DeformableAttention, NeighbourhoodAttention
from .dat import DAT, Downsample


class ConvStem(nn.Module):
    """Two ``Conv3x3/s2`` (bias) with LayerNorm after each and GELU between: ``(B, 3, H, W) -> (B, H', W', C)``
    with ``H' = ceil(ceil(H / 2) / 2)``."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels // 2, 3, stride=2, padding=1)
        self.norm1 = nn.LayerNorm(out_channels // 2)
        self.act = nn.GELU()
        self.conv2 = nn.Conv2d(out_channels // 2, out_channels, 3, stride=2, padding=1)
        self.norm2 = nn.LayerNorm(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act(self.norm1(self.conv1(x).permute(0, 2, 3, 1)))
        return self.norm2(self.conv2(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1))


@MODELS.register_module()
class DATPlusPlus(DAT):
    """DAT++ backbone.

    A class of its own rather than more archs of :class:`DAT`: its blocks, stem, downsampling, attention
    conventions and checkpoints differ from v1's (an official checkpoint of one never loads into the other), and
    its arch settings have other keys (offset strides and a neighbourhood size instead of a window and offset
    ranges); what the two share (stages, outputs, freezing, sampling positions) is inherited.

    Args:
        arch (str | dict): ``'tiny'``, ``'small'``, ``'base'``, ``'base-384'`` (or ``'t'``, ``'s'``, ``'b'``,
            ``'b-384'``; the 384 model is the base network fine-tuned at 384, its tables still sized from 224),
            or a dict with exactly the keys of :attr:`arch_keys`:

            - ``embed_dims``, ``depths``, ``num_heads``: per stage (the stem's width is ``embed_dims[0]``);
            - ``num_groups``: offset groups per stage (used by stages with ``D`` blocks);
            - ``stage_specs``: one string per stage, one letter per block: ``N`` neighbourhood attention,
              ``D`` deformable attention;
            - ``neighbourhood_size``: kernel of the ``N`` blocks;
            - ``offset_strides``, ``offset_kernel_sizes``: per stage, the stride and depthwise kernel of the
              offset networks of ``D`` blocks;
            - ``img_size``: the training resolution; it sizes the deformable bias tables
              (``2 * img_size / 2**(i+2) - 1`` per side in stage ``i``), which are sampled, never resized, at
              other sizes.

            Defaults to ``'tiny'``.

    The other arguments are :class:`DAT`'s. Initialisation is PyTorch's default (the official
    ``reset_parameters`` never matches a module), with ``trunc_normal`` bias tables.
    """
    model_name = 'DATPlusPlus'
    block_kinds = 'ND'
    plus = True
    _common = dict(depths=[2, 4, 18, 2], stage_specs=['ND', 'NDND', 'ND' * 9, 'DD'], neighbourhood_size=7,
                   offset_strides=[8, 4, 2, 1], offset_kernel_sizes=[9, 7, 5, 3], img_size=224)
    _base = dict(_common, embed_dims=[128, 256, 512, 1024], num_heads=[4, 8, 16, 32], num_groups=[2, 4, 8, 16])
    arch_zoo = {
        **dict.fromkeys(['t', 'tiny'], dict(_common, embed_dims=[64, 128, 256, 512], num_heads=[2, 4, 8, 16],
                                            num_groups=[1, 2, 4, 8])),
        **dict.fromkeys(['s', 'small'], dict(_common, embed_dims=[96, 192, 384, 768], num_heads=[3, 6, 12, 24],
                                             num_groups=[1, 2, 3, 6])),
        **dict.fromkeys(['b', 'base', 'b-384', 'base-384'], _base),
    }
    arch_keys = ('embed_dims', 'depths', 'num_heads', 'num_groups', 'stage_specs', 'neighbourhood_size',
                 'offset_strides', 'offset_kernel_sizes', 'img_size')
    converter_script = 'datpp2mmattn.py'

    @staticmethod
    def make_stem(in_channels: int, out_channels: int) -> nn.Module:
        return ConvStem(in_channels, out_channels)

    @staticmethod
    def make_downsample(in_channels: int, out_channels: int) -> nn.Module:
        return Downsample(in_channels, out_channels, overlapping=True)

    @staticmethod
    def make_attention(kind: str, stage: int, settings: dict) -> nn.Module:
        dim, heads = settings['embed_dims'][stage], settings['num_heads'][stage]
        if kind == 'N':
            return NeighbourhoodAttention(dim, heads, kernel_size=settings['neighbourhood_size'])
        fmap = settings['img_size'] // 2**(stage + 2)
        return DeformableAttention(dim, heads, settings['num_groups'][stage], settings['offset_kernel_sizes'][stage],
                                   (fmap, fmap), offset_range_factor=-1, stride=settings['offset_strides'][stage],
                                   conventions='dat++')
