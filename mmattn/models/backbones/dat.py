"""DAT: Vision Transformer with Deformable Attention (Xia et al., CVPR 2022), the original v1 model (not DAT++).

Stages of pre-norm blocks whose attention is, per block, window attention with a relative-position bias (``L``),
the same in windows shifted by ``ceil(window / 2)`` (``S``) or deformable attention (``D``), each followed by
an MLP. Numerics follow the official code (``LeapLabTHU/DAT`` at commit 566a593): 4x4 patch stem + LayerNorm,
2x2 downsampling without bias + LayerNorm, no position encoding besides the attention biases, one drop-path
rate per block for both residuals, and LayerNorm *before* pooling in the classifier. Unlike the official model
it runs at any input size: the stem and the downsampling pad the map on the right/bottom to even multiples,
the window attention pads to whole windows and builds its shift mask for the padded size, and the deformable
attention resizes its bias table to the current map. At 224 (384 for ``base-384``) nothing is padded or
resized and the outputs equal the official model's.

Module names: ``stem.{conv,norm}``, ``stages.{i}.downsample.{conv,norm}`` (stages 1-3), ``stages.{i}.blocks.{d}
.{norm1,attn,norm2,mlp.fc1,mlp.fc2}``, output norms ``norm{i}``; ``mmattn.converters.convert_dat`` maps the
official checkpoints onto them.
"""
from typing import Callable, List, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmcv.cnn.bricks import DropPath

from mmattn.registry import MODELS
from ..layers import ConvMlp, ConvPosEnc, DeformableAttention, Mlp, ShiftedWindowAttention
from ..layers.common import pad_bottom_right
from .base import StagedBackbone, checkpointed, resolve_arch


class Stem(nn.Module):
    """Zero-pad to a multiple of 4, ``Conv4x4/s4`` with bias, then LayerNorm. Returns ``(B, H/4, W/4, C)``."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=4, stride=4)
        self.norm = nn.LayerNorm(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.conv(pad_bottom_right(x, 4)).permute(0, 2, 3, 1))


class Downsample(nn.Module):
    """Zero-pad to an even size, ``Conv2x2/s2`` without bias, then LayerNorm (channels-last in and out).

    With ``overlapping=True`` (DAT++) the conv is ``Conv3x3/s2`` with padding 1 (``ceil(H/2)`` rows, nothing
    else padded).
    """

    def __init__(self, in_channels: int, out_channels: int, overlapping: bool = False):
        super().__init__()
        kernel = 3 if overlapping else 2
        self.conv = nn.Conv2d(in_channels, out_channels, kernel, stride=2, padding=kernel // 2 if overlapping else 0,
                              bias=False)
        self.norm = nn.LayerNorm(out_channels)
        self.multiple = 1 if overlapping else 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(pad_bottom_right(x.permute(0, 3, 1, 2), self.multiple))
        return self.norm(x.permute(0, 2, 3, 1))


class DATBlock(nn.Module):
    """``x += drop_path(attn(norm1(x))); x += drop_path(mlp(norm2(x)))`` (one drop-path rate for both).

    DAT++ (``plus=True``) starts with a local perception unit ``x += DWConv3x3(x)`` (``lpu``) and uses
    :class:`ConvMlp` (a depthwise conv in the hidden layer) instead of the plain MLP.
    """

    def __init__(self, dim: int, attn: nn.Module, mlp_ratio: float, drop_path: float, plus: bool = False):
        super().__init__()
        self.lpu = ConvPosEnc(dim) if plus else None
        self.norm1 = nn.LayerNorm(dim)
        self.attn = attn
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = (ConvMlp if plus else Mlp)(dim, int(dim * mlp_ratio))
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        self.deformable = isinstance(attn, DeformableAttention)

    def forward(self, x: torch.Tensor, return_sampling: bool = False):
        pos = ref = None
        if self.lpu is not None:
            x = self.lpu(x)
        if return_sampling and self.deformable:
            y, pos, ref = self.attn(self.norm1(x), return_sampling=True)
        else:
            y = self.attn(self.norm1(x))
        x = x + self.drop_path(y)
        x = x + self.drop_path(self.mlp(self.norm2(x)))
        return (x, pos, ref) if return_sampling else x


class DATStage(nn.Module):
    """Optional downsample (every stage but the first), then one block per letter of ``spec``, whose attention
    ``make_attention(letter)`` builds."""

    def __init__(self, dim: int, spec: str, make_attention: Callable[[str], nn.Module], mlp_ratio: float,
                 drop_paths: Sequence[float], downsample: Optional[nn.Module], with_cp: bool, plus: bool = False):
        super().__init__()
        self.downsample = downsample if downsample is not None else nn.Identity()
        self.blocks = nn.ModuleList(
            DATBlock(dim, make_attention(kind), mlp_ratio, drop_path, plus) for kind, drop_path in zip(spec, drop_paths))
        self.with_cp = with_cp

    def forward(self, x: torch.Tensor, return_sampling: bool = False):
        x = self.downsample(x)
        positions, references = [], []
        for block in self.blocks:
            if return_sampling:
                x, pos, ref = block(x, return_sampling=True)
                positions.append(pos)
                references.append(ref)
            else:
                x = checkpointed(block, x, enabled=self.with_cp and self.training)
        return (x, positions, references) if return_sampling else x


@MODELS.register_module()
class DAT(StagedBackbone):
    """DAT (v1) backbone.

    Args:
        arch (str | dict): ``'tiny'``, ``'small'``, ``'base'``, ``'base-384'`` (or ``'t'``, ``'s'``, ``'b'``,
            ``'b-384'``), or a dict with exactly the keys of :attr:`arch_keys`:

            - ``embed_dims``, ``depths``, ``num_heads``: per stage;
            - ``num_groups``: offset groups per stage (used by stages with ``D`` blocks);
            - ``stage_specs``: one string per stage, one letter per block: ``L`` window attention, ``S``
              shifted window attention (shift ``ceil(window_size / 2)``), ``D`` deformable attention;
            - ``window_size``: window side of ``L`` / ``S`` blocks;
            - ``offset_kernel_sizes``, ``offset_range_factors``: per stage, for ``D`` blocks (the offsets use
              stride 1, so every query position is also a sampled key, as in v1);
            - ``img_size``: the training resolution; it sizes the deformable bias tables
              (``2 * img_size / 2**(i+2) - 1`` per side in stage ``i``).

            Defaults to ``'tiny'``.
        in_channels (int): Input image channels. Defaults to 3.
        mlp_ratio (float): MLP hidden ratio. Defaults to 4.
        drop_path_rate (float): Stochastic depth rate, linearly increasing over the blocks. Defaults to 0.
        out_indices (Sequence[int] | int): Stages whose outputs are returned (features before the next
            downsample, each through its own LayerNorm ``norm{i}``). Defaults to ``(3, )``.
        out_type (str): ``'avg_featmap'`` returns pooled ``(B, C)`` vectors for a classifier, with LayerNorm
            and average pooling in the official classifier's order for this model (DAT: ``norm{i}`` on every token, then pooling);
            ``'featmap'`` returns normalised ``(B, C, H, W)`` maps for dense prediction.
            Defaults to ``'avg_featmap'``.
        frozen_stages (int): ``-1`` freezes nothing; ``0`` freezes the stem; ``k > 0`` also stages
            ``0..k-1`` and their output norms. Defaults to -1.
        norm_eval (bool): Keep BatchNorm layers in eval mode during training (DAT itself has only
            LayerNorm). Defaults to False.
        with_cp (bool): Checkpoint the blocks to save activation memory. Defaults to False.
        init_cfg (dict, optional): mmengine initialisation config. Defaults to None, i.e. PyTorch's default
            initialisation, which is what the official code ends up using (its ``reset_parameters`` never
            matches a module), with ``trunc_normal(std=0.01)`` bias tables.
    """
    _common = dict(stage_specs=['LS', 'LS', 'LD' * 3, 'LD'], num_groups=[1, 1, 3, 6], window_size=7,
                   offset_kernel_sizes=[9, 7, 5, 3], offset_range_factors=[2, 2, 2, 2], img_size=224)
    _small = dict(_common, stage_specs=['LS', 'LS', 'LD' * 9, 'LD'])
    _base = dict(_small, embed_dims=[128, 256, 512, 1024], num_heads=[4, 8, 16, 32], num_groups=[1, 1, 4, 8],
                 depths=[2, 2, 18, 2])
    arch_zoo = {
        **dict.fromkeys(['t', 'tiny'], dict(_common, embed_dims=[96, 192, 384, 768], depths=[2, 2, 6, 2],
                                            num_heads=[3, 6, 12, 24])),
        **dict.fromkeys(['s', 'small'], dict(_small, embed_dims=[96, 192, 384, 768], depths=[2, 2, 18, 2],
                                             num_heads=[3, 6, 12, 24])),
        **dict.fromkeys(['b', 'base'], _base),
        **dict.fromkeys(['b-384', 'base-384'], dict(_base, window_size=12, img_size=384)),
    }
    arch_keys = ('embed_dims', 'depths', 'num_heads', 'num_groups', 'stage_specs', 'window_size',
                 'offset_kernel_sizes', 'offset_range_factors', 'img_size')
    converter_script = 'dat2mmattn.py'
    # the official model keeps PyTorch's default initialisation everywhere (its reset_parameters never
    # matches a module)
    trunc_normal_linear_init = False

    def __init__(self,
                 arch: Union[str, dict] = 'tiny',
                 in_channels: int = 3,
                 mlp_ratio: float = 4.,
                 drop_path_rate: float = 0.,
                 out_indices: Union[int, Sequence[int]] = (3, ),
                 out_type: str = 'avg_featmap',
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 with_cp: bool = False,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        settings = self._validate(resolve_arch(arch, self.arch_zoo, self.arch_keys, self.model_name))
        self.arch_settings = settings
        self.embed_dims: List[int] = list(settings['embed_dims'])
        depths = settings['depths']
        self.set_output_options(len(depths), out_indices, out_type, frozen_stages, norm_eval)

        self.stem = self.make_stem(in_channels, self.embed_dims[0])
        drop_paths = torch.linspace(0, drop_path_rate, sum(depths), device='cpu').tolist()
        self.stages = nn.ModuleList()
        first = 0
        for i, depth in enumerate(depths):
            downsample = self.make_downsample(self.embed_dims[i - 1], self.embed_dims[i]) if i > 0 else None
            self.stages.append(
                DATStage(self.embed_dims[i], settings['stage_specs'][i],
                         lambda kind, i=i: self.make_attention(kind, i, settings), mlp_ratio,
                         drop_paths[first:first + depth], downsample, with_cp, plus=self.plus))
            first += depth
        self.add_output_norms()
        self._freeze_stages()

    # the parts DAT++ (DATPlusPlus) builds differently
    model_name = 'DAT'
    block_kinds = 'LSD'
    plus = False  # local perception units and conv MLPs in every block

    @staticmethod
    def make_stem(in_channels: int, out_channels: int) -> nn.Module:
        return Stem(in_channels, out_channels)

    @staticmethod
    def make_downsample(in_channels: int, out_channels: int) -> nn.Module:
        return Downsample(in_channels, out_channels)

    @staticmethod
    def make_attention(kind: str, stage: int, settings: dict) -> nn.Module:
        dim, heads, window = settings['embed_dims'][stage], settings['num_heads'][stage], settings['window_size']
        if kind == 'D':
            fmap = settings['img_size'] // 2**(stage + 2)
            return DeformableAttention(dim, heads, settings['num_groups'][stage],
                                       settings['offset_kernel_sizes'][stage], (fmap, fmap),
                                       offset_range_factor=settings['offset_range_factors'][stage])
        return ShiftedWindowAttention(dim, heads, window, shift_size=-(-window // 2) if kind == 'S' else 0)

    @classmethod
    def _validate(cls, settings: dict) -> dict:
        name, kinds = cls.model_name, cls.block_kinds
        num_stages = len(settings['depths'])
        per_stage = [k for k in cls.arch_keys if k not in ('depths', ) and isinstance(settings[k], (list, tuple))]
        lengths = {k: len(settings[k]) for k in per_stage}
        if any(n != num_stages for n in lengths.values()):
            raise ValueError(f'{name} arch: every per-stage list must have len(depths) = {num_stages} entries, '
                             f'got {lengths}.')
        for i in range(num_stages):
            spec, dim, heads = settings['stage_specs'][i], settings['embed_dims'][i], settings['num_heads'][i]
            if len(spec) != settings['depths'][i] or set(spec) - set(kinds):
                raise ValueError(f"{name} arch: stage_specs[{i}] = {spec!r} must have depths[{i}] = "
                                 f"{settings['depths'][i]} letters out of {', '.join(map(repr, kinds))}.")
            if dim % heads:
                raise ValueError(f'{name} arch: embed_dims[{i}] = {dim} is not divisible by num_heads[{i}] = '
                                 f'{heads}.')
            if 'D' in spec and heads % settings['num_groups'][i]:
                raise ValueError(f"{name} arch: num_heads[{i}] = {heads} is not divisible by num_groups[{i}] = "
                                 f"{settings['num_groups'][i]}.")
        return settings

    def _output(self, i: int, x: torch.Tensor) -> torch.Tensor:
        x = getattr(self, f'norm{i}')(x)
        return x.mean(dim=(1, 2)) if self.out_type == 'avg_featmap' else x.permute(0, 3, 1, 2).contiguous()

    def forward(self, x: torch.Tensor) -> tuple:
        self.check_image_batch(x)
        x = self.stem(x)
        outs = []
        for i, stage in enumerate(self.stages):
            x = stage(x)
            if i in self.out_indices:
                outs.append(self._output(i, x))
        return tuple(outs)

    def forward_with_sampling(self, x: torch.Tensor):
        """Like :meth:`forward`, also returning where the deformable layers sampled, for visualisation.

        Returns:
            tuple: ``(outs, positions, references)``; ``positions[i][d]`` and ``references[i][d]`` are
            ``(B, groups, H_i, W_i, 2)`` normalised ``(y, x)`` sampling positions and reference points of block
            ``d`` of stage ``i`` (None for window-attention blocks). ``outs`` equals ``forward(x)``.
        """
        x = self.stem(x)
        outs, positions, references = [], [], []
        for i, stage in enumerate(self.stages):
            x, pos, ref = stage(x, return_sampling=True)
            positions.append(pos)
            references.append(ref)
            if i in self.out_indices:
                outs.append(self._output(i, x))
        return tuple(outs), positions, references
