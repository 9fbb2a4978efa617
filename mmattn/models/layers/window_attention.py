"""Non-overlapping window attention on channels-last maps, and the partition helpers it is built from."""
from typing import Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F


def pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Zero-pad a ``(B, H, W, C)`` map on the right and bottom to multiples of ``multiple``."""
    pad_h = -x.shape[1] % multiple
    pad_w = -x.shape[2] % multiple
    if pad_h or pad_w:
        x = F.pad(x, (0, 0, 0, pad_w, 0, pad_h))
    return x


def window_partition(x: torch.Tensor, window_size: int) -> torch.Tensor:
    """``(B, H, W, C)`` with H, W multiples of ``window_size`` -> ``(B * nW, window_size**2, C)``."""
    B, H, W, C = x.shape
    x = x.view(B, H // window_size, window_size, W // window_size, window_size, C)
    # every size explicit (an empty batch works either way here; not in the channel attention)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(B * (H // window_size) * (W // window_size), window_size**2, C)


def window_reverse(windows: torch.Tensor, window_size: int, size: Tuple[int, int]) -> torch.Tensor:
    """Inverse of :func:`window_partition` for a padded map of ``size = (H, W)``."""
    H, W = size
    C = windows.shape[-1]
    B = windows.shape[0] // ((H // window_size) * (W // window_size))
    x = windows.view(B, H // window_size, W // window_size, window_size, window_size, C)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(B, H, W, C)


class WindowAttention(nn.Module):
    """Multi-head self-attention inside non-overlapping windows (no shift, no bias, no mask).

    The map is zero-padded on the right/bottom to whole windows and the padded tokens take part in the
    attention as ordinary keys (as in the official DaViT, where they are zeros after ``norm1``); the output is
    cropped back to the input size.

    Args:
        dim (int): Channels.
        num_heads (int): Attention heads.
        window_size (int): Window side.
        qkv_bias (bool): Bias in the qkv projection. Defaults to True.
    """

    def __init__(self, dim: int, num_heads: int, window_size: int, qkv_bias: bool = True):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f'WindowAttention: dim {dim} is not divisible by num_heads {num_heads}.')
        self.num_heads = num_heads
        self.window_size = window_size
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def _windows_qkv(self, x: torch.Tensor):
        """q, k, v ``(B * windows, heads, window_size**2, head_dim)`` and the padded map's size."""
        C = x.shape[-1]
        padded = pad_to_multiple(x, self.window_size)
        windows = window_partition(padded, self.window_size)
        num_windows, n = windows.shape[:2]
        qkv = self.qkv(windows).view(num_windows, n, 3, self.num_heads, C // self.num_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        return q, k, v, padded.shape[1:3]

    def attention_weights(self, x: torch.Tensor) -> torch.Tensor:
        """The softmax weights ``forward(x)`` applies: ``(B * windows, heads, queries, keys)``, windows in
        row-major order over the padded map, tokens row-major inside a window."""
        q, k, _, _ = self._windows_qkv(x)
        return (q * q.shape[-1]**-0.5 @ k.transpose(-2, -1)).softmax(-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, H, W, C) -> (B, H, W, C)."""
        B, H, W, C = x.shape
        q, k, v, padded_size = self._windows_qkv(x)
        out = F.scaled_dot_product_attention(q, k, v)  # default scale head_dim**-0.5 on q, as official
        out = self.proj(out.transpose(1, 2).reshape(q.shape[0], q.shape[2], C))
        out = window_reverse(out, self.window_size, padded_size)
        return out[:, :H, :W].contiguous() if padded_size != (H, W) else out
