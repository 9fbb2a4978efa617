"""A slow, obviously-correct neighbourhood attention with NATTEN's semantics (the 0.14-0.17 functional API).

Reference for tests only. It mirrors ``natten.functional.NATTEN2DQKRPBFunction`` / ``NATTEN2DAVFunction`` in
NATTEN's layout, so that a transcription of an official model can swap NATTEN for these functions:

- ``q``, ``k``, ``v``: ``(B, heads, H, W, head_dim)``;
- ``attn``: ``(B, heads, H, W, kernel_size**2)``, neighbour ``ki * kernel_size + kj`` of query ``(y, x)`` being
  the key at ``(rows[y, ki], cols[x, kj])`` of :func:`window_indices`;
- ``rpb``: ``(heads, 2 * kernel_size - 1, 2 * kernel_size - 1)``, or None for no bias.

Semantics, per axis of length ``L`` (written independently of NATTEN's kernels): a query at ``i`` belongs to the
residue class ``r = i % dilation``, the positions ``r, r + dilation, ...`` (``n`` of them). Inside that class it
sits at ``p = i // dilation`` and its window is the ``kernel_size`` consecutive class members starting at
``clamp(p - kernel_size // 2, 0, n - kernel_size)``: centred on the query, shifted inwards at the borders so
that it stays inside the map (never padded). The bias of a neighbour is looked up by the key's position
relative to the query in class steps, ``(key - query) // dilation + kernel_size - 1``, per axis. Every class
must hold at least ``kernel_size`` positions (``L >= kernel_size * dilation``), as NATTEN requires.

Like NATTEN's ``QK`` op, :func:`naive_qk_rpb` does not scale: callers scale ``q`` first, so the bias is added
to the already scaled logits (as the official DAT++ / NAT layers do).
"""
from typing import Optional, Tuple

import torch


def window_indices(length: int, kernel_size: int, dilation: int = 1) -> Tuple[torch.Tensor, torch.Tensor]:
    """Per query position along one axis: its neighbours' key positions and their bias indices.

    Returns:
        tuple[Tensor, Tensor]: ``keys`` and ``bias``, both ``(length, kernel_size)`` int64.
    """
    if kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f'kernel_size must be a positive odd number, got {kernel_size}.')
    if length < kernel_size * dilation:
        raise ValueError(f'an axis of length {length} is shorter than kernel_size * dilation = '
                         f'{kernel_size} * {dilation}.')
    keys = torch.empty(length, kernel_size, dtype=torch.long)
    bias = torch.empty(length, kernel_size, dtype=torch.long)
    for i in range(length):
        residue, p = i % dilation, i // dilation
        members = len(range(residue, length, dilation))
        start = min(max(p - kernel_size // 2, 0), members - kernel_size)
        for t in range(kernel_size):
            key = residue + (start + t) * dilation
            keys[i, t] = key
            bias[i, t] = (key - i) // dilation + kernel_size - 1
    return keys, bias


def naive_qk_rpb(q: torch.Tensor,
                 k: torch.Tensor,
                 rpb: Optional[torch.Tensor],
                 kernel_size: int,
                 dilation: int = 1) -> torch.Tensor:
    """Logits ``q . k_neighbour + rpb[head, bias_row, bias_col]``: ``(B, heads, H, W, kernel_size**2)``."""
    B, heads, H, W, _ = q.shape
    rows, bias_rows = window_indices(H, kernel_size, dilation)
    cols, bias_cols = window_indices(W, kernel_size, dilation)
    logits = []
    for ki in range(kernel_size):
        for kj in range(kernel_size):
            neighbour = k[:, :, rows[:, ki][:, None], cols[:, kj][None, :]]  # (B, heads, H, W, head_dim)
            logit = (q * neighbour).sum(-1)
            if rpb is not None:
                logit = logit + rpb[:, bias_rows[:, ki][:, None], bias_cols[:, kj][None, :]]
            logits.append(logit)
    return torch.stack(logits, dim=-1)


def naive_av(attn: torch.Tensor, v: torch.Tensor, kernel_size: int, dilation: int = 1) -> torch.Tensor:
    """``sum_n attn[..., n] * v_neighbour(n)``: ``(B, heads, H, W, head_dim)``."""
    B, heads, H, W, _ = v.shape
    rows, _ = window_indices(H, kernel_size, dilation)
    cols, _ = window_indices(W, kernel_size, dilation)
    out = torch.zeros_like(v)
    for ki in range(kernel_size):
        for kj in range(kernel_size):
            neighbour = v[:, :, rows[:, ki][:, None], cols[:, kj][None, :]]
            out = out + attn[..., ki * kernel_size + kj, None] * neighbour
    return out


def naive_neighbourhood_attention(q: torch.Tensor,
                                  k: torch.Tensor,
                                  v: torch.Tensor,
                                  rpb: Optional[torch.Tensor],
                                  kernel_size: int,
                                  dilation: int = 1,
                                  scale: Optional[float] = None) -> torch.Tensor:
    """``naive_av(softmax(naive_qk_rpb(q * scale, k, rpb)), v)``; ``scale`` defaults to ``head_dim ** -0.5``."""
    scale = q.shape[-1]**-0.5 if scale is None else scale
    attn = naive_qk_rpb(q * scale, k, rpb, kernel_size, dilation).softmax(dim=-1)
    return naive_av(attn, v, kernel_size, dilation)
