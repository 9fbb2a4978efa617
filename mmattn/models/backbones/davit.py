"""DaViT: Dual Attention Vision Transformers (Ding et al., ECCV 2022).

Each stage alternates spatial window attention and channel group attention ("dual blocks"). Numerics follow
the official implementation (``dingmyu/davit``): post-conv stem LayerNorm, pre-conv downsample LayerNorm, two
conditional position encodings per block, zero padding after ``norm1`` for the window attention, the official
roles and scale of the channel attention, drop path per sub-block, and pool -> LayerNorm before the classifier
(``out_type='avg_featmap'``). The module and parameter names follow timm's layout.
"""
from typing import List, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmcv.cnn.bricks import DropPath

from mmattn.registry import MODELS
from ..layers import ChannelGroupAttention, ConvPosEnc, Mlp, WindowAttention
from ..layers.common import pad_bottom_right
from .base import StagedBackbone, checkpointed, resolve_arch


class Stem(nn.Module):
    """Zero-pad to a multiple of 4, ``Conv7x7/s4`` (padding 3), then LayerNorm. Returns ``(B, H, W, C)``."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=7, stride=4, padding=3)
        self.norm = nn.LayerNorm(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(pad_bottom_right(x, 4))
        return self.norm(x.permute(0, 2, 3, 1))


class Downsample(nn.Module):
    """LayerNorm over the input channels, zero-pad to an even size, then ``Conv2x2/s2``."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.norm = nn.LayerNorm(in_channels)
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=2, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, H, W, C_in) -> (B, ceil(H/2), ceil(W/2), C_out)."""
        x = self.norm(x).permute(0, 3, 1, 2)
        return self.conv(pad_bottom_right(x, 2)).permute(0, 2, 3, 1)


class DualSubBlock(nn.Module):
    """``x = cpe1(x); x += drop_path(attn(norm1(x))); x = cpe2(x); x += drop_path(mlp(norm2(x)))``.

    The spatial and the channel sub-block differ only in their attention operator.
    """

    def __init__(self, dim: int, attn: nn.Module, mlp_ratio: float, drop_path: float):
        super().__init__()
        self.cpe1 = ConvPosEnc(dim)
        self.norm1 = nn.LayerNorm(dim)
        self.attn = attn
        self.cpe2 = ConvPosEnc(dim)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.cpe1(x)
        x = x + self.drop_path(self.attn(self.norm1(x)))
        x = self.cpe2(x)
        return x + self.drop_path(self.mlp(self.norm2(x)))


class DualBlock(nn.Sequential):
    """A spatial-window sub-block (index 0) followed by a channel-group sub-block (index 1)."""

    def __init__(self, dim: int, num_heads: int, window_size: int, mlp_ratio: float, qkv_bias: bool,
                 drop_paths: Sequence[float]):
        super().__init__(
            DualSubBlock(dim, WindowAttention(dim, num_heads, window_size, qkv_bias), mlp_ratio, drop_paths[0]),
            DualSubBlock(dim, ChannelGroupAttention(dim, num_heads, qkv_bias), mlp_ratio, drop_paths[1]))


class DaViTStage(nn.Module):
    """Optional downsample (every stage but the first), then ``depth`` dual blocks."""

    def __init__(self, in_channels: int, dim: int, depth: int, num_heads: int, window_size: int,
                 mlp_ratio: float, qkv_bias: bool, drop_paths: Sequence[float], downsample: bool,
                 with_cp: bool):
        super().__init__()
        self.downsample = Downsample(in_channels, dim) if downsample else nn.Identity()
        self.blocks = nn.ModuleList(
            DualBlock(dim, num_heads, window_size, mlp_ratio, qkv_bias, drop_paths[2 * j:2 * j + 2])
            for j in range(depth))
        self.with_cp = with_cp

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.downsample(x)
        for block in self.blocks:
            x = checkpointed(block, x, enabled=self.with_cp and self.training)
        return x


@MODELS.register_module()
class DaViT(StagedBackbone):
    """DaViT backbone.

    Args:
        arch (str | dict): ``'tiny'``, ``'small'``, ``'base'``, ``'large'``, ``'huge'``, ``'giant'`` (or
            ``'t'``, ``'s'``, ``'b'``, ``'l'``, ``'h'``, ``'g'``), or a dict with keys ``embed_dims``,
            ``depths`` (dual blocks per stage) and ``num_heads`` (heads = channel groups per stage).
            Defaults to ``'tiny'``.
        in_channels (int): Input image channels. Defaults to 3.
        window_size (int): Spatial attention window. Defaults to 7.
        mlp_ratio (float): MLP hidden ratio. Defaults to 4.
        qkv_bias (bool): Bias in both attentions' qkv projections. Defaults to True.
        drop_path_rate (float): Stochastic depth rate, linearly increasing over all sub-blocks (2 per dual
            block). Defaults to 0.
        out_indices (Sequence[int] | int): Stages whose outputs are returned. Defaults to ``(3, )``.
        out_type (str): ``'avg_featmap'`` returns pooled ``(B, C)`` vectors for a classifier, with LayerNorm
            and average pooling in the official classifier's order for this model (DaViT: pooling, then ``norm{i}``);
            ``'featmap'`` returns normalised ``(B, C, H, W)`` maps for dense prediction.
            Defaults to ``'avg_featmap'``.
        frozen_stages (int): ``-1`` freezes nothing; ``0`` freezes the stem; ``k > 0`` also stages
            ``0..k-1`` and their output norms. Defaults to -1.
        norm_eval (bool): Keep BatchNorm layers in eval mode during training (DaViT itself has only
            LayerNorm). Defaults to False.
        with_cp (bool): Checkpoint the dual blocks to save activation memory. Defaults to False.
        init_cfg (dict, optional): mmengine initialisation config. Defaults to None.
    """
    arch_zoo = {
        **dict.fromkeys(['t', 'tiny'], dict(embed_dims=[96, 192, 384, 768], depths=[1, 1, 3, 1],
                                            num_heads=[3, 6, 12, 24])),
        **dict.fromkeys(['s', 'small'], dict(embed_dims=[96, 192, 384, 768], depths=[1, 1, 9, 1],
                                             num_heads=[3, 6, 12, 24])),
        **dict.fromkeys(['b', 'base'], dict(embed_dims=[128, 256, 512, 1024], depths=[1, 1, 9, 1],
                                            num_heads=[4, 8, 16, 32])),
        **dict.fromkeys(['l', 'large'], dict(embed_dims=[192, 384, 768, 1536], depths=[1, 1, 9, 1],
                                             num_heads=[6, 12, 24, 48])),
        **dict.fromkeys(['h', 'huge'], dict(embed_dims=[256, 512, 1024, 2048], depths=[1, 1, 9, 1],
                                            num_heads=[8, 16, 32, 64])),
        **dict.fromkeys(['g', 'giant'], dict(embed_dims=[384, 768, 1536, 3072], depths=[1, 1, 12, 3],
                                             num_heads=[12, 24, 48, 96])),
    }
    arch_keys = ('embed_dims', 'depths', 'num_heads')
    converter_script = 'davit2mmattn.py'

    def __init__(self,
                 arch: Union[str, dict] = 'tiny',
                 in_channels: int = 3,
                 window_size: int = 7,
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
        settings = resolve_arch(arch, self.arch_zoo, self.arch_keys, 'DaViT')
        self.embed_dims: List[int] = list(settings['embed_dims'])
        depths, num_heads = settings['depths'], settings['num_heads']
        if not len(self.embed_dims) == len(depths) == len(num_heads):
            raise ValueError(f'DaViT arch: embed_dims, depths and num_heads must have the same length, got '
                             f'{len(self.embed_dims)}, {len(depths)} and {len(num_heads)}.')
        self.set_output_options(len(depths), out_indices, out_type, frozen_stages, norm_eval)

        self.stem = Stem(in_channels, self.embed_dims[0])
        # on the CPU also under torch.device('meta'), where the large variants are built without memory
        drop_paths = torch.linspace(0, drop_path_rate, 2 * sum(depths), device='cpu').tolist()
        self.stages = nn.ModuleList()
        first = 0
        for i, depth in enumerate(depths):
            self.stages.append(
                DaViTStage(self.embed_dims[max(i - 1, 0)], self.embed_dims[i], depth, num_heads[i], window_size,
                           mlp_ratio, qkv_bias, drop_paths[2 * first:2 * (first + depth)], downsample=i > 0,
                           with_cp=with_cp))
            first += depth
        self.add_output_norms()
        self._freeze_stages()


    def forward(self, x: torch.Tensor) -> tuple:
        self.check_image_batch(x)
        x = self.stem(x)
        outs = []
        for i, stage in enumerate(self.stages):
            x = stage(x)
            if i in self.out_indices:
                norm = getattr(self, f'norm{i}')
                if self.out_type == 'avg_featmap':
                    outs.append(norm(x.mean(dim=(1, 2))))
                else:
                    outs.append(norm(x).permute(0, 3, 1, 2).contiguous())
        return tuple(outs)
