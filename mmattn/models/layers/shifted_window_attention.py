"""Window attention with a relative-position bias and optional cyclic shift (Swin-style), on channels-last maps.

The sibling of :class:`~mmattn.models.layers.WindowAttention` (DaViT's plain window attention) and built from
the same helpers. Works at any size: the map is zero-padded on the right/bottom to whole windows, shifted, and
the shift mask is built for that padded size (cached per size, never a fixed-size buffer). With no padding the
numerics are those of DAT v1's ``LocalAttention`` / ``ShiftWindowAttention``: ``q * head_dim**-0.5``,
``q k^T + bias (+ mask with -100)``, softmax, ``@ v``.
"""
import math
from typing import Dict, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from .window_attention import pad_to_multiple, window_partition, window_reverse


def relative_position_index(window_size: int) -> torch.Tensor:
    """``(ws*ws, ws*ws)`` index into a ``((2ws-1)**2, heads)`` table (Swin's layout, row-major offsets)."""
    coords = torch.stack(torch.meshgrid(torch.arange(window_size), torch.arange(window_size), indexing='ij'))
    coords = coords.flatten(1)
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (window_size - 1)
    return rel[..., 0] * (2 * window_size - 1) + rel[..., 1]


def resize_relative_position_bias_table(table: torch.Tensor, window_size: int) -> torch.Tensor:
    """Resize a ``((2w-1)**2, heads)`` table to another window bicubically (official DAT ``load_pretrained``)."""
    n, heads = table.shape
    side, new_side = math.isqrt(n), 2 * window_size - 1
    if side * side != n:
        raise ValueError(f'relative_position_bias_table of shape {tuple(table.shape)} is not square.')
    if side == new_side:
        return table
    grid = table.reshape(1, side, side, heads).permute(0, 3, 1, 2)
    grid = F.interpolate(grid, size=(new_side, new_side), mode='bicubic')
    return grid.reshape(heads, new_side * new_side).permute(1, 0).contiguous()


def shift_window_mask(size: Tuple[int, int], window_size: int, shift_size: int,
                      device: torch.device = None) -> torch.Tensor:
    """``(nW, ws*ws, ws*ws)`` additive mask (0 / -100) for a padded, shifted map of ``size`` (Swin's regions)."""
    H, W = size
    img = torch.zeros(1, H, W, 1, device=device)
    count = 0
    for hs in (slice(0, -window_size), slice(-window_size, -shift_size), slice(-shift_size, None)):
        for ws in (slice(0, -window_size), slice(-window_size, -shift_size), slice(-shift_size, None)):
            img[:, hs, ws, :] = count
            count += 1
    regions = window_partition(img, window_size).squeeze(-1)  # (nW, ws*ws)
    mask = regions.unsqueeze(1) - regions.unsqueeze(2)
    return mask.masked_fill(mask != 0, -100.0).masked_fill(mask == 0, 0.0)


class ShiftedWindowAttention(nn.Module):
    """Multi-head attention in (optionally shifted) windows with a learned relative-position bias.

    Args:
        dim (int): Channels.
        num_heads (int): Attention heads.
        window_size (int): Window side.
        shift_size (int): Cyclic shift (0: plain windows; DAT uses ``ceil(window_size / 2)``). Defaults to 0.
        qkv_bias (bool): Bias in the qkv projection. Defaults to True.

    Shapes:
        ``(B, H, W, C) -> (B, H, W, C)`` for any ``H, W``.
    """

    def __init__(self, dim: int, num_heads: int, window_size: int, shift_size: int = 0, qkv_bias: bool = True):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f'ShiftedWindowAttention: dim {dim} is not divisible by num_heads {num_heads}.')
        if not 0 <= shift_size < window_size:
            raise ValueError(f'ShiftedWindowAttention: shift_size {shift_size} must be in [0, {window_size}).')
        self.num_heads = num_heads
        self.window_size = window_size
        self.shift_size = shift_size
        self.scale = (dim // num_heads)**-0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * window_size - 1)**2, num_heads))
        nn.init.trunc_normal_(self.relative_position_bias_table, std=.01)
        self.register_buffer('relative_position_index', relative_position_index(window_size), persistent=False)
        self._masks: Dict[tuple, torch.Tensor] = {}

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs):
        key = prefix + 'relative_position_bias_table'
        table = state_dict.get(key)
        if table is not None and table.dim() == 2 and table.shape != self.relative_position_bias_table.shape \
                and table.shape[1] == self.num_heads:
            state_dict[key] = resize_relative_position_bias_table(table, self.window_size)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                      error_msgs)

    def _mask(self, size: Tuple[int, int], device: torch.device) -> torch.Tensor:
        key = (size, str(device))
        if key not in self._masks:
            self._masks[key] = shift_window_mask(size, self.window_size, self.shift_size, device)
        return self._masks[key]

    def relative_position_bias(self) -> torch.Tensor:
        n = self.window_size**2
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)].view(n, n, -1)
        return bias.permute(2, 0, 1)  # (heads, n, n)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, H, W, C = x.shape
        ws, shift = self.window_size, self.shift_size
        x = pad_to_multiple(x, ws)
        Hp, Wp = x.shape[1:3]
        if shift:
            x = torch.roll(x, shifts=(-shift, -shift), dims=(1, 2))
        windows = window_partition(x, ws)  # (B*nW, n, C)
        n = windows.shape[1]
        q, k, v = self.qkv(windows).view(-1, n, 3, self.num_heads, C // self.num_heads).permute(2, 0, 3, 1, 4)
        attn = (q * self.scale) @ k.transpose(-2, -1) + self.relative_position_bias().unsqueeze(0)
        if shift:
            mask = self._mask((Hp, Wp), x.device).to(attn.dtype)
            nw = mask.shape[0]
            attn = (attn.view(B, nw, self.num_heads, n, n) + mask.view(1, nw, 1, n, n)).view(-1, self.num_heads, n, n)
        out = (attn.softmax(dim=-1) @ v).transpose(1, 2).reshape(-1, n, C)
        out = window_reverse(self.proj(out), ws, (Hp, Wp))
        if shift:
            out = torch.roll(out, shifts=(shift, shift), dims=(1, 2))
        return out[:, :H, :W].contiguous() if (Hp, Wp) != (H, W) else out
