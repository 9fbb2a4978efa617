"""DilateFormer: Multi-Scale Dilated Transformer for Visual Recognition (Jiao et al., IEEE TMM 2023).

Numerics follow the official classification model (``JIAOJIAYUASD/dilateformer``): an overlapping 3x3-conv
stem with BatchNorm and GELU (no norm after its last conv), a depthwise conditional position encoding at the
start of every block, multi-scale dilated attention (heads split over dilations 1/2/3, zero-padded neighbours
inside the softmax) in the first two stages and global multi-head attention in the last two, a conv3x3/s2 +
BatchNorm downsample at the end of stages 1-3, LayerNorm(eps 1e-6) on every token, then average pooling before
the classifier. Parameter names follow the official layout, except ``patch_embed.proj`` -> ``stem`` and
``pos_embed`` -> ``cpe.proj``; the classifier's ``norm`` is the backbone's ``norm3``.

Unlike the official code, any input size works (there is no fixed-224 check), and the feature maps for
dense prediction are taken before each stage's downsample: channels ``[C, 2C, 4C, 8C]`` at strides 4/8/16/32.
"""
from typing import List, Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn.bricks import DropPath

from mmattn.registry import MODELS
from ..layers import ConvPosEnc, Mlp, MultiScaleDilatedAttention
from .base import StagedBackbone, checkpointed, resolve_arch

LN_EPS = 1e-6


class ConvStem(nn.Sequential):
    """Overlapping stem, ``(B, 3, H, W)`` -> ``(B, C, ceil(H/4), ceil(W/4))`` (NCHW).

    ``conv3x3(16) BN GELU, conv3x3/s2(32) BN GELU, conv3x3(64) BN GELU, conv3x3/s2(C)``: convs without bias, no
    norm or activation after the last one. Indices match the official ``patch_embed.proj``.
    """

    def __init__(self, in_channels: int, out_channels: int, hidden_channels: int = 16):
        widths = [in_channels, hidden_channels, 2 * hidden_channels, 4 * hidden_channels]
        layers = []
        for i in range(3):
            layers += [nn.Conv2d(widths[i], widths[i + 1], 3, stride=1 + i % 2, padding=1, bias=False),
                       nn.BatchNorm2d(widths[i + 1]), nn.GELU()]
        layers.append(nn.Conv2d(widths[3], out_channels, 3, stride=2, padding=1, bias=False))
        super().__init__(*layers)


class Downsample(nn.Module):
    """``Conv3x3/s2`` (bias) then BatchNorm, on channels-last maps: ``(B, H, W, C)`` -> ``(B, H', W', C')``."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.proj = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 3, stride=2, padding=1), nn.BatchNorm2d(out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)


class GlobalAttention(nn.Module):
    """Plain multi-head self-attention over all tokens of a channels-last map (no position bias).

    Uses ``F.scaled_dot_product_attention`` (scale ``head_dim ** -0.5``, as the official code), which avoids
    the dense attention matrix where a fused kernel is available.

    Args:
        dim (int): Channels.
        num_heads (int): Attention heads.
        qkv_bias (bool): Bias in the qkv Linear. Defaults to True.
    """

    def __init__(self, dim: int, num_heads: int, qkv_bias: bool = True):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f'GlobalAttention: dim {dim} is not divisible by num_heads {num_heads}.')
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, H, W, C) -> (B, H, W, C)."""
        B, H, W, C = x.shape
        q, k, v = self.qkv(x).view(B, H * W, 3, self.num_heads, C // self.num_heads).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v)
        return self.proj(out.transpose(1, 2).reshape(B, H, W, C))


class DilateFormerBlock(nn.Module):
    """``x += cpe(x); x += drop_path(attn(norm1(x))); x += drop_path(mlp(norm2(x)))`` on ``(B, H, W, C)``."""

    def __init__(self, dim: int, attn: nn.Module, mlp_ratio: float, drop_path: float):
        super().__init__()
        self.cpe = ConvPosEnc(dim)
        self.norm1 = nn.LayerNorm(dim, eps=LN_EPS)
        self.attn = attn
        self.norm2 = nn.LayerNorm(dim, eps=LN_EPS)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.cpe(x)
        x = x + self.drop_path(self.attn(self.norm1(x)))
        return x + self.drop_path(self.mlp(self.norm2(x)))


class DilateFormerStage(nn.Module):
    """``depth`` blocks, then an optional downsample (as in the official layout)."""

    def __init__(self, dim: int, out_dim: Optional[int], depth: int, num_heads: int, dilated: bool,
                 kernel_size: int, dilations: Sequence[int], mlp_ratio: float, qkv_bias: bool,
                 drop_paths: Sequence[float], with_cp: bool):
        super().__init__()

        def make_attn():
            if dilated:
                return MultiScaleDilatedAttention(dim, num_heads, kernel_size, dilations, qkv_bias)
            return GlobalAttention(dim, num_heads, qkv_bias)

        self.blocks = nn.ModuleList(
            DilateFormerBlock(dim, make_attn(), mlp_ratio, drop_paths[j]) for j in range(depth))
        self.downsample = Downsample(dim, out_dim) if out_dim is not None else None
        self.with_cp = with_cp

    def forward(self, x: torch.Tensor, downsample: bool = True):
        """Return ``(feature map, input of the next stage)``; the latter is None without ``downsample``."""
        for block in self.blocks:
            x = checkpointed(block, x, enabled=self.with_cp and self.training)
        if self.downsample is None:
            return x, x
        return x, (self.downsample(x) if downsample else None)


@MODELS.register_module()
class DilateFormer(StagedBackbone):
    """DilateFormer backbone.

    Args:
        arch (str | dict): ``'tiny'``, ``'small'``, ``'base'`` (or ``'t'``, ``'s'``, ``'b'``), or a dict with
            keys ``embed_dims`` (channels per stage), ``depths`` (blocks per stage), ``num_heads`` (heads per
            stage) and ``dilated_stages`` (per stage: multi-scale dilated attention if True, global attention
            if False). Defaults to ``'tiny'``.
        in_channels (int): Input image channels. Defaults to 3.
        kernel_size (int): Neighbourhood side of the dilated attention. Defaults to 3.
        dilations (Sequence[int]): Dilation of each head group in the dilated stages; their heads must be a
            multiple of its length. Defaults to ``(1, 2, 3)``.
        mlp_ratio (float): MLP hidden ratio. Defaults to 4.
        qkv_bias (bool): Bias in the qkv projections. Defaults to True.
        drop_path_rate (float): Stochastic depth rate, increasing linearly over all blocks from 0 (the
            official recipe uses 0.1). Defaults to 0.
        out_indices (Sequence[int] | int): Stages whose feature maps (taken before the stage's downsample)
            are returned, each through its own LayerNorm ``norm{i}``. Defaults to ``(3, )``.
        out_type (str): ``'avg_featmap'`` returns pooled ``(B, C)`` vectors for a classifier, with LayerNorm
            and average pooling in the official classifier's order for this model (DilateFormer: ``norm{i}`` on every token, then pooling);
            ``'featmap'`` returns normalised ``(B, C, H, W)`` maps for dense prediction.
            Defaults to ``'avg_featmap'``.
        frozen_stages (int): ``-1`` freezes nothing; ``0`` freezes the stem; ``k > 0`` also stages
            ``0..k-1`` (including their downsamples) and their output norms. Defaults to -1.
        norm_eval (bool): Keep the BatchNorm layers (stem and downsamples) in eval mode during training.
            Defaults to False.
        with_cp (bool): Checkpoint the blocks to save activation memory. Defaults to False.
        init_cfg (dict, optional): mmengine initialisation config. Defaults to None.
    """
    arch_zoo = {
        **dict.fromkeys(['t', 'tiny'], dict(embed_dims=[72, 144, 288, 576], depths=[2, 2, 6, 2],
                                            num_heads=[3, 6, 12, 24],
                                            dilated_stages=[True, True, False, False])),
        **dict.fromkeys(['s', 'small'], dict(embed_dims=[72, 144, 288, 576], depths=[3, 5, 8, 3],
                                             num_heads=[3, 6, 12, 24],
                                             dilated_stages=[True, True, False, False])),
        **dict.fromkeys(['b', 'base'], dict(embed_dims=[96, 192, 384, 768], depths=[4, 8, 10, 3],
                                            num_heads=[3, 6, 12, 24],
                                            dilated_stages=[True, True, False, False])),
    }
    arch_keys = ('embed_dims', 'depths', 'num_heads', 'dilated_stages')
    converter_script = 'dilateformer2mmattn.py'

    def __init__(self,
                 arch: Union[str, dict] = 'tiny',
                 in_channels: int = 3,
                 kernel_size: int = 3,
                 dilations: Sequence[int] = (1, 2, 3),
                 mlp_ratio: float = 4.,
                 qkv_bias: bool = True,
                 drop_path_rate: float = 0.,
                 out_indices: Union[int, Sequence[int]] = (3, ),
                 out_type: str = 'avg_featmap',
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 with_cp: bool = False,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        settings = resolve_arch(arch, self.arch_zoo, self.arch_keys, 'DilateFormer')
        self.embed_dims: List[int] = list(settings['embed_dims'])
        depths, num_heads = list(settings['depths']), list(settings['num_heads'])
        dilated_stages = [bool(d) for d in settings['dilated_stages']]
        lengths = [len(self.embed_dims), len(depths), len(num_heads), len(dilated_stages)]
        if len(set(lengths)) != 1:
            raise ValueError('DilateFormer arch: embed_dims, depths, num_heads and dilated_stages must have the '
                             f'same length, got {lengths}.')
        for i, (dim, heads, dilated) in enumerate(zip(self.embed_dims, num_heads, dilated_stages)):
            if dim % heads:
                raise ValueError(f'DilateFormer arch: stage {i} has {dim} channels, not divisible by its '
                                 f'{heads} heads.')
            if dilated and heads % len(dilations):
                raise ValueError(f'DilateFormer arch: stage {i} uses dilated attention with {heads} heads, '
                                 f'not a multiple of the {len(dilations)} dilations {list(dilations)}.')
        self.set_output_options(len(depths), out_indices, out_type, frozen_stages, norm_eval)

        self.stem = ConvStem(in_channels, self.embed_dims[0])
        drop_paths = torch.linspace(0, drop_path_rate, sum(depths)).tolist()
        self.stages = nn.ModuleList()
        first = 0
        for i, depth in enumerate(depths):
            out_dim = self.embed_dims[i + 1] if i + 1 < self.num_stages else None
            self.stages.append(
                DilateFormerStage(self.embed_dims[i], out_dim, depth, num_heads[i], dilated_stages[i],
                                  kernel_size, dilations, mlp_ratio, qkv_bias, drop_paths[first:first + depth],
                                  with_cp))
            first += depth
        self.add_output_norms(eps=LN_EPS)
        self._freeze_stages()


    def forward(self, x: torch.Tensor) -> tuple:
        self.check_image_batch(x)
        x = self.stem(x).permute(0, 2, 3, 1)
        outs = []
        last = max(self.out_indices)
        for i, stage in enumerate(self.stages):
            feature, x = stage(x, downsample=i < last)
            if i in self.out_indices:
                feature = getattr(self, f'norm{i}')(feature)
                if self.out_type == 'avg_featmap':
                    outs.append(feature.mean(dim=(1, 2)))
                else:
                    outs.append(feature.permute(0, 3, 1, 2).contiguous())
            if i == last:
                break  # later stages cannot change the outputs
        return tuple(outs)
