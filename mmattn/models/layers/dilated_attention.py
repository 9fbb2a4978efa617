"""Dilated sliding-window (neighbourhood) attention on 2-D maps, and DilateFormer's multi-scale version.

Every query pixel attends to the ``kernel_size x kernel_size`` pixels around it, spaced ``dilation`` apart.
Border semantics follow the unfold formulation of the official DilateFormer: keys and values are zero-padded
*after* their projection, so a neighbour outside the map has ``k = 0`` (its logit is exactly 0 and it still
takes part in the softmax) and ``v = 0``. Neighbours are not masked and windows are not shifted inwards (which
is what NATTEN would do).

:func:`dilated_neighbourhood_attention` computes this without materialising the ``kernel_size**2`` unfolded
copies of k and v: for each of the ``kernel_size**2`` offsets it multiplies q with a shifted *view* of k over
the rectangle where the neighbour lies inside the map (everything outside keeps the logit 0), and in the same
way accumulates the softmax-weighted shifted views of v. A hand-written backward walks the same offsets, so
autograd keeps only q, k, v and the attention weights. :func:`packed_dilated_neighbourhood_attention` takes q,
k, v stacked in one tensor (a qkv projection's output) and writes its gradient without a stacking copy.
Measured against the unfold formulation in ``tools/analysis/benchmark_dilated_attention.py``.
"""
import functools
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F


BORDERS = ('zeros', 'shift')

# One kernel offset on one rectangle of queries: (neighbour number, query rect, key rect, bias index or None).
# A rect is a (rows, cols) pair of slices; a key rect may be one row / column that all its queries share
# (broadcast). The bias index is a (rows, cols) pair of int64 tensors into the rpb table, each of length 1
# (shared) or the rect's extent.
_Rect = Tuple[int, tuple, tuple, Optional[Tuple[torch.Tensor, torch.Tensor]]]


def _offset_rects(size: Tuple[int, int], kernel_size: int, dilation: int) -> List[_Rect]:
    """Zero-padded borders: per kernel offset ``n`` whose neighbours are (partly) inside the map.

    ``q[..., q_rect]`` are the query pixels whose neighbour number ``n`` lies inside the map, at
    ``k[..., k_rect]``. The centre offset comes first; it covers the whole map. Offsets whose neighbours all
    lie outside (maps smaller than the dilated window) are left out: their logits stay 0 and their values 0.
    """
    H, W = size
    pad = dilation * (kernel_size - 1) // 2
    centre = (kernel_size * kernel_size - 1) // 2
    rects = []
    for i in range(kernel_size):
        dy = i * dilation - pad
        y0, y1 = max(0, -dy), min(H, H - dy)
        for j in range(kernel_size):
            dx = j * dilation - pad
            x0, x1 = max(0, -dx), min(W, W - dx)
            if y1 > y0 and x1 > x0:
                rects.append((i * kernel_size + j, (slice(y0, y1), slice(x0, x1)),
                              (slice(y0 + dy, y1 + dy), slice(x0 + dx, x1 + dx)), None))
    rects.sort(key=lambda rect: rect[0] != centre)
    return rects


def _shifted_segments(length: int, kernel_size: int, dilation: int) -> List[List[tuple]]:
    """NATTEN's windows along one axis: per kernel index ``t``, ``(query slice, key slice, bias indices)``.

    The positions ``r, r + dilation, ...`` of each residue class ``r`` form a line of ``m`` members on which
    the window is the ``kernel_size`` members centred on the query, moved inwards at the ends: member ``p`` in
    the interior ``[half, m - half)`` has neighbour ``t`` at member ``p - half + t`` (a shifted view); the first
    ``half`` members all share the first window (neighbour ``t`` is member ``t``, one broadcast line) and the
    last ``half`` the last window. The bias index is the key's offset from the query in members, plus
    ``kernel_size - 1``.
    """
    half = kernel_size // 2
    segments = [[] for _ in range(kernel_size)]
    for residue in range(dilation):
        members = len(range(residue, length, dilation))

        def span(p0: int, p1: int) -> slice:  # members [p0, p1) as a slice of the axis
            return slice(residue + p0 * dilation, residue + (p1 - 1) * dilation + 1, dilation)

        for t in range(kernel_size):
            segments[t].append((span(half, members - half), span(t, members - 2 * half + t), [t + half]))
            if half:
                segments[t].append((span(0, half), span(t, t + 1), [t - p + kernel_size - 1 for p in range(half)]))
                last = members - kernel_size + t  # the key member of the last window
                segments[t].append((span(members - half, members), span(last, last + 1),
                                    [last - p + kernel_size - 1 for p in range(members - half, members)]))
    return segments


@functools.lru_cache(maxsize=64)
def _shifted_rects(size: Tuple[int, int], kernel_size: int, dilation: int, device: torch.device) -> List[_Rect]:
    """NATTEN's shifted windows: the rects of every kernel offset, together covering the map once each."""
    rows, cols = (_shifted_segments(length, kernel_size, dilation) for length in size)
    rects = []
    for i in range(kernel_size):
        for j in range(kernel_size):
            for q_rows, k_rows, bias_rows in rows[i]:
                for q_cols, k_cols, bias_cols in cols[j]:
                    bias = (torch.tensor(bias_rows, device=device), torch.tensor(bias_cols, device=device))
                    rects.append((i * kernel_size + j, (q_rows, q_cols), (k_rows, k_cols), bias))
    return rects


def _rect(x: torch.Tensor, rect: tuple) -> torch.Tensor:
    return x[..., rect[0], rect[1]]


def _first_writes(rects: List[_Rect], size: Tuple[int, int]) -> bool:
    """Whether the first rect pairs every query with the key at its own pixel (the centre of zero borders):
    its pass then writes the outputs and gradients instead of accumulating into zeros."""
    _, q_rect, k_rect, _ = rects[0]
    return all(s.indices(n) == (0, n, 1) for rect in (q_rect, k_rect) for s, n in zip(rect, size))


def _dot_into(out: torch.Tensor, a: torch.Tensor, b: torch.Tensor, buffer: torch.Tensor) -> None:
    """``out = (a * b).sum(dim=2)`` for ``(B, h, d, y, x)`` views (``b`` may broadcast), through a reused
    scratch ``buffer``."""
    scratch = buffer[..., :a.shape[-2], :a.shape[-1]]
    torch.mul(a, b, out=scratch)
    torch.sum(scratch, dim=2, out=out)


def _add_product(out: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> None:
    """``out += a * b``, summing over the rows / columns that ``out`` shares (a broadcast key line)."""
    if out.shape[-2:] == b.shape[-2:]:
        out.addcmul_(a, b)
    else:
        out.add_((a * b).sum_to_size(out.shape))


def _bias(rpb: torch.Tensor, index: Tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    return rpb[:, index[0][:, None], index[1][None, :]]


def _attention_forward(q, k, v, rpb, kernel_size: int, dilations: Tuple[int, ...], scale: float, border: str):
    """Return ``(out, attn, rects per group)``; heads are split evenly over ``dilations``."""
    B, num_heads, head_dim, H, W = q.shape
    group = num_heads // len(dilations)
    if border == 'zeros':
        all_rects = [_offset_rects((H, W), kernel_size, dilation) for dilation in dilations]
    else:
        all_rects = [_shifted_rects((H, W), kernel_size, dilation, q.device) for dilation in dilations]
    attn = q.new_zeros(B, num_heads, kernel_size * kernel_size, H, W)
    out = q.new_empty(B, num_heads, head_dim, H, W)
    buffer = q.new_empty(B, group, head_dim, H, W)
    for g, rects in enumerate(all_rects):
        heads = slice(g * group, (g + 1) * group)
        qg, kg, vg, logits, outg = q[:, heads], k[:, heads], v[:, heads], attn[:, heads], out[:, heads]
        for n, q_rect, k_rect, _ in rects:
            _dot_into(_rect(logits[:, :, n], q_rect), _rect(qg, q_rect), _rect(kg, k_rect), buffer)
        logits.mul_(scale)
        if rpb is not None:  # the bias is added to the scaled logits, as in NATTEN's layers
            for n, q_rect, _, index in rects:
                _rect(logits[:, :, n], q_rect).add_(_bias(rpb[heads], index))
        # in-place softmax over the neighbours (zero borders: out-of-map neighbours keep logit 0 and take part)
        logits.sub_(logits.amax(dim=2, keepdim=True)).exp_()
        logits.div_(logits.sum(dim=2, keepdim=True))
        writes = _first_writes(rects, (H, W))
        if not writes:
            outg.zero_()
        for index, (n, q_rect, k_rect, _) in enumerate(rects):
            weight = _rect(logits[:, :, n:n + 1], q_rect)
            if index == 0 and writes:
                torch.mul(weight, vg, out=outg)
            else:
                _rect(outg, q_rect).addcmul_(weight, _rect(vg, k_rect))
    return out, attn, all_rects


def _attention_backward(grad_out, q, k, v, attn, all_rects, scale, grad_q, grad_k, grad_v, grad_rpb) -> None:
    """Write the gradients into ``grad_q``, ``grad_k``, ``grad_v``, ``grad_rpb`` (each may be None: not
    needed; ``grad_rpb`` is accumulated into)."""
    B, num_heads, head_dim, H, W = q.shape
    group = num_heads // len(all_rects)
    grad_out = grad_out.contiguous()
    if grad_q is not None or grad_k is not None or grad_rpb is not None:
        grad_logits = attn.new_empty(B, group, *attn.shape[2:])
        buffer = q.new_empty(B, group, head_dim, H, W)
    for g, rects in enumerate(all_rects):
        heads = slice(g * group, (g + 1) * group)
        qg, kg, vg, attng, gout = q[:, heads], k[:, heads], v[:, heads], attn[:, heads], grad_out[:, heads]
        writes = _first_writes(rects, (H, W))
        if grad_v is not None:
            grad_vg = grad_v[:, heads]
            if not writes:
                grad_vg.zero_()
            for index, (n, q_rect, k_rect, _) in enumerate(rects):
                weight = _rect(attng[:, :, n:n + 1], q_rect)
                if index == 0 and writes:
                    torch.mul(weight, gout, out=grad_vg)
                else:  # dL/dv[k_rect] += a * dL/dout[q_rect]
                    _add_product(_rect(grad_vg, k_rect), weight, _rect(gout, q_rect))
        if grad_q is None and grad_k is None and grad_rpb is None:
            continue
        grad_logits.zero_()
        for n, q_rect, k_rect, _ in rects:
            _dot_into(_rect(grad_logits[:, :, n], q_rect), _rect(gout, q_rect), _rect(vg, k_rect), buffer)
        # softmax backward: a * (g - sum(a * g)); the bias gets it as is, q and k times the logit scale
        grad_logits.sub_((grad_logits * attng).sum(dim=2, keepdim=True)).mul_(attng)
        if grad_rpb is not None:
            grad_rpbg = grad_rpb[heads]
            for n, q_rect, _, (rows, cols) in rects:
                summed = _rect(grad_logits[:, :, n], q_rect).sum_to_size(1, group, len(rows), len(cols))
                grad_rpbg[:, rows[:, None], cols[None, :]] += summed[0]
        grad_logits.mul_(scale)
        for grad, source, of_keys in ((grad_q, kg, False), (grad_k, qg, True)):
            if grad is None:
                continue
            gradg = grad[:, heads]
            if not writes:
                gradg.zero_()
            for index, (n, q_rect, k_rect, _) in enumerate(rects):
                weight = _rect(grad_logits[:, :, n:n + 1], q_rect)
                if index == 0 and writes:
                    torch.mul(weight, source, out=gradg)
                elif of_keys:  # dL/dk[k_rect] += dL/dlogit * q[q_rect]
                    _add_product(_rect(gradg, k_rect), weight, _rect(source, q_rect))
                else:  # dL/dq[q_rect] += dL/dlogit * k[k_rect]
                    _rect(gradg, q_rect).addcmul_(weight, _rect(source, k_rect))


def _rpb_gradient(ctx, like: torch.Tensor, needed: bool) -> Optional[torch.Tensor]:
    """A zero gradient for the bias table, in its own dtype (it may be fp32 under autocast)."""
    if not needed:
        return None
    shape, dtype = ctx.rpb_meta
    return like.new_zeros(shape, dtype=dtype)


class _DilatedNeighbourhoodAttention(torch.autograd.Function):
    """Separate q, k, v tensors."""

    @staticmethod
    def forward(ctx, q, k, v, rpb, kernel_size: int, dilations: Tuple[int, ...], scale: float, border: str):
        out, attn, all_rects = _attention_forward(q, k, v, rpb, kernel_size, dilations, scale, border)
        ctx.save_for_backward(q, k, v, attn)
        ctx.all_rects, ctx.scale = all_rects, scale
        ctx.rpb_meta = None if rpb is None else (rpb.shape, rpb.dtype)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        q, k, v, attn = ctx.saved_tensors
        grads = [x.new_empty(x.shape) if need else None for x, need in zip((q, k, v), ctx.needs_input_grad)]
        grad_rpb = _rpb_gradient(ctx, q, ctx.needs_input_grad[3])
        _attention_backward(grad_out, q, k, v, attn, ctx.all_rects, ctx.scale, *grads, grad_rpb)
        return (*grads, grad_rpb, None, None, None, None)


class _PackedDilatedNeighbourhoodAttention(torch.autograd.Function):
    """One ``(B, 3, heads, head_dim, H, W)`` tensor: its gradient is written in place, no stacking copy."""

    @staticmethod
    def forward(ctx, qkv, rpb, kernel_size: int, dilations: Tuple[int, ...], scale: float, border: str):
        out, attn, all_rects = _attention_forward(*qkv.unbind(1), rpb, kernel_size, dilations, scale, border)
        ctx.save_for_backward(qkv, attn)
        ctx.all_rects, ctx.scale = all_rects, scale
        ctx.rpb_meta = None if rpb is None else (rpb.shape, rpb.dtype)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        qkv, attn = ctx.saved_tensors
        grad_qkv = qkv.new_empty(qkv.shape) if ctx.needs_input_grad[0] else None
        grad_rpb = _rpb_gradient(ctx, qkv, ctx.needs_input_grad[1])
        grads = grad_qkv.unbind(1) if grad_qkv is not None else (None, None, None)
        _attention_backward(grad_out, *qkv.unbind(1), attn, ctx.all_rects, ctx.scale, *grads, grad_rpb)
        return grad_qkv, grad_rpb, None, None, None, None


def _check_arguments(shape, kernel_size, dilation, border, rpb) -> Tuple[int, ...]:
    """``shape``: ``(B, heads, head_dim, H, W)``."""
    if kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f'kernel_size must be a positive odd number, got {kernel_size}.')
    dilations = (dilation, ) if isinstance(dilation, int) else tuple(dilation)
    if not dilations or any(int(d) != d or d < 1 for d in dilations):
        raise ValueError(f'dilation must be a positive int or a non-empty sequence of them, got {dilation}.')
    if shape[1] % len(dilations):
        raise ValueError(f'{shape[1]} heads cannot be split evenly over the dilations {list(dilations)}.')
    if border not in BORDERS:
        raise ValueError(f"border must be one of {BORDERS} ('zeros': DilateFormer's zero-padded neighbours, "
                         f"'shift': NATTEN's inward-shifted windows), got {border!r}.")
    if border == 'shift' and min(shape[-2:]) < kernel_size * max(dilations):
        raise ValueError(f"border='shift' needs maps of at least kernel_size * dilation = {kernel_size} * "
                         f'{max(dilations)} pixels per side (pad them first), got {tuple(shape[-2:])}.')
    if rpb is not None:
        if border != 'shift':
            raise ValueError("a relative-position bias (rpb) is only defined for border='shift'.")
        expected = (shape[1], 2 * kernel_size - 1, 2 * kernel_size - 1)
        if tuple(rpb.shape) != expected:
            raise ValueError(f'rpb must have shape (heads, 2 * kernel_size - 1, 2 * kernel_size - 1) = '
                             f'{expected}, got {tuple(rpb.shape)}.')
    return tuple(int(d) for d in dilations)


def dilated_neighbourhood_attention(q: torch.Tensor,
                                    k: torch.Tensor,
                                    v: torch.Tensor,
                                    kernel_size: int = 3,
                                    dilation: Union[int, Sequence[int]] = 1,
                                    scale: Optional[float] = None,
                                    border: str = 'zeros',
                                    rpb: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Dilated sliding-window attention, with zero-padded borders or NATTEN's shifted windows.

    ``out[b, h, :, y, x] = sum_n softmax_n(scale * q[b, h, :, y, x] . k_n + bias_n) * v_n`` over the
    ``kernel_size**2`` neighbours ``n`` of ``(y, x)``:

    - ``border='zeros'`` (DilateFormer): the neighbours ``(y + (i - (K-1)/2) * dilation, x + (j - (K-1)/2) *
      dilation)``; one outside the map has ``k_n = v_n = 0`` (logit 0, still inside the softmax). This equals
      ``nn.Unfold(kernel_size, dilation, padding=dilation * (kernel_size - 1) // 2)`` applied to k and v. No
      bias.
    - ``border='shift'`` (NATTEN 0.14-0.17, ``NATTEN2DQKRPBFunction`` / ``NATTEN2DAVFunction``): per axis, the
      query's residue class modulo ``dilation`` is a line of pixels on which the window is the
      ``kernel_size`` pixels centred on the query, shifted inwards at the borders so that it stays inside the
      map. ``bias_n = rpb[h, dy + K - 1, dx + K - 1]``, ``(dy, dx)`` being the key's offset from the query in
      steps of ``dilation``. Every side must be at least ``kernel_size * dilation``.

    Args:
        q (Tensor): Queries, ``(B, heads, head_dim, H, W)``.
        k (Tensor): Keys, same shape.
        v (Tensor): Values, same shape.
        kernel_size (int): Neighbourhood side; odd. Defaults to 3.
        dilation (int | Sequence[int]): Spacing between neighbours; a sequence splits the heads evenly into
            that many consecutive groups, group ``g`` using ``dilation[g]`` (DilateFormer's multi-scale
            attention). Defaults to 1.
        scale (float, optional): Logit scale. Defaults to ``head_dim ** -0.5``.
        border (str): ``'zeros'`` or ``'shift'``, as above. Defaults to ``'zeros'``.
        rpb (Tensor, optional): Relative-position bias table ``(heads, 2K - 1, 2K - 1)``, added to the scaled
            logits; ``border='shift'`` only. Defaults to None.

    Returns:
        Tensor: ``(B, heads, head_dim, H, W)``, contiguous.
    """
    if q.dim() != 5 or q.shape != k.shape or q.shape != v.shape:
        raise ValueError('dilated_neighbourhood_attention expects q, k, v of one shape (B, heads, head_dim, H, '
                         f'W); got {tuple(q.shape)}, {tuple(k.shape)}, {tuple(v.shape)}.')
    dilations = _check_arguments(q.shape, kernel_size, dilation, border, rpb)
    if scale is None:
        scale = q.shape[2]**-0.5
    return _DilatedNeighbourhoodAttention.apply(q, k, v, rpb, int(kernel_size), dilations, float(scale), border)


def packed_dilated_neighbourhood_attention(qkv: torch.Tensor,
                                           kernel_size: int = 3,
                                           dilation: Union[int, Sequence[int]] = 1,
                                           scale: Optional[float] = None,
                                           border: str = 'zeros',
                                           rpb: Optional[torch.Tensor] = None) -> torch.Tensor:
    """:func:`dilated_neighbourhood_attention` on q, k, v stacked in one tensor.

    Equivalent to ``dilated_neighbourhood_attention(*qkv.unbind(1), ...)`` but backward writes the gradient
    of ``qkv`` directly instead of stacking three separate ones (one copy and its memory less).

    Args:
        qkv (Tensor): ``(B, 3, heads, head_dim, H, W)``, e.g. a 1x1 qkv projection's output viewed so.
        kernel_size (int): Neighbourhood side; odd. Defaults to 3.
        dilation (int | Sequence[int]): As in :func:`dilated_neighbourhood_attention`. Defaults to 1.
        scale (float, optional): Logit scale. Defaults to ``head_dim ** -0.5``.
        border (str): As in :func:`dilated_neighbourhood_attention`. Defaults to ``'zeros'``.
        rpb (Tensor, optional): As in :func:`dilated_neighbourhood_attention`. Defaults to None.

    Returns:
        Tensor: ``(B, heads, head_dim, H, W)``, contiguous.
    """
    if qkv.dim() != 6 or qkv.shape[1] != 3:
        raise ValueError('packed_dilated_neighbourhood_attention expects qkv of shape (B, 3, heads, head_dim, H, '
                         f'W); got {tuple(qkv.shape)}.')
    dilations = _check_arguments(qkv[:, 0].shape, kernel_size, dilation, border, rpb)
    if scale is None:
        scale = qkv.shape[3]**-0.5
    return _PackedDilatedNeighbourhoodAttention.apply(qkv, rpb, int(kernel_size), dilations, float(scale), border)


class MultiScaleDilatedAttention(nn.Module):
    """Multi-scale dilated attention (MSDA) of DilateFormer on channels-last maps.

    A 1x1 projection (``qkv``, a ``Conv2d`` so that its weight has the official ``(3C, C, 1, 1)`` shape)
    produces q, k and v; the heads are split evenly over ``dilations`` (head ``j`` uses
    ``dilations[j // (num_heads // len(dilations))]``) and attend with
    :func:`packed_dilated_neighbourhood_attention`; the heads, in order, go through the ``proj`` Linear.

    Args:
        dim (int): Channels.
        num_heads (int): Attention heads; a multiple of ``len(dilations)``.
        kernel_size (int): Neighbourhood side. Defaults to 3.
        dilations (Sequence[int]): One dilation per head group. Defaults to ``(1, 2, 3)``.
        qkv_bias (bool): Bias in the qkv projection. Defaults to True.
        qk_scale (float, optional): Logit scale. Defaults to ``head_dim ** -0.5``.
    """

    def __init__(self,
                 dim: int,
                 num_heads: int,
                 kernel_size: int = 3,
                 dilations: Sequence[int] = (1, 2, 3),
                 qkv_bias: bool = True,
                 qk_scale: Optional[float] = None):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f'MultiScaleDilatedAttention: dim {dim} is not divisible by num_heads {num_heads}.')
        if num_heads % len(dilations):
            raise ValueError(f'MultiScaleDilatedAttention: num_heads {num_heads} must be a multiple of the '
                             f'number of dilations {len(dilations)} ({list(dilations)}).')
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.kernel_size = kernel_size
        self.dilations = tuple(dilations)
        self.scale = qk_scale or self.head_dim**-0.5
        self.qkv = nn.Conv2d(dim, dim * 3, kernel_size=1, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def _qkv(self, x: torch.Tensor) -> torch.Tensor:
        """x ``(B, H, W, C)`` -> ``(B, 3, heads, head_dim, H, W)``."""
        B, H, W, C = x.shape
        qkv = self.qkv(x.permute(0, 3, 1, 2).contiguous())  # (B, 3C, H, W)
        return qkv.view(B, 3, self.num_heads, self.head_dim, H, W)

    def attention_weights(self, x: torch.Tensor) -> torch.Tensor:
        """The softmax weights ``forward(x)`` applies: ``(B, heads, kernel_size**2, H, W)``, neighbour
        ``i * kernel_size + j`` of a query at ``(y, x)`` being the pixel
        ``(y + (i - kernel_size // 2) * dilation, x + (j - kernel_size // 2) * dilation)`` of its head's
        dilation (outside the map: a zero key that still takes a share)."""
        q, k, v = self._qkv(x).unbind(1)
        with torch.no_grad():
            return _attention_forward(q, k, v, None, self.kernel_size, self.dilations, self.scale, 'zeros')[1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, H, W, C) -> (B, H, W, C)."""
        B, H, W, C = x.shape
        out = packed_dilated_neighbourhood_attention(self._qkv(x), self.kernel_size, self.dilations, self.scale)
        out = out.view(B, C, H, W).permute(0, 2, 3, 1)
        return self.proj(out)


class NeighbourhoodAttention(nn.Module):
    """Neighbourhood attention with relative-position bias (NATTEN's ``NeighborhoodAttention2D``, as in DAT++).

    A ``qkv`` Linear (chunk order q, k, v) feeds :func:`packed_dilated_neighbourhood_attention` with
    ``border='shift'`` (each query's ``kernel_size x kernel_size`` window, shifted inwards at the borders) and
    the bias table ``rpb`` ``(heads, 2K - 1, 2K - 1)``, added to the scaled logits; the heads, in order, go
    through the ``proj`` Linear. Parameter names and shapes match the official DAT++ ``N`` layers.

    A map smaller than ``kernel_size * dilation`` on a side is zero-padded on the right / bottom *before*
    the qkv projection, as the official layer does (so the padded pixels carry the projection's biases and
    take part as keys), and the output is cropped back.

    Args:
        dim (int): Channels.
        num_heads (int): Attention heads; they divide ``dim``.
        kernel_size (int): Neighbourhood side; odd. Defaults to 7.
        dilation (int): Spacing between neighbours (NATTEN's: within the query's residue class). Defaults to 1.
        qkv_bias (bool): Bias in the qkv projection. Defaults to True.
        qk_scale (float, optional): Logit scale. Defaults to ``head_dim ** -0.5``.
        attn_drop (float): Dropout on the attention weights; only 0 is supported (the fused operator keeps no
            dropped copy of the weights; DAT++ uses 0). Defaults to 0.
        proj_drop (float): Dropout after ``proj``. Defaults to 0.
    """

    def __init__(self,
                 dim: int,
                 num_heads: int,
                 kernel_size: int = 7,
                 dilation: int = 1,
                 qkv_bias: bool = True,
                 qk_scale: Optional[float] = None,
                 attn_drop: float = 0.,
                 proj_drop: float = 0.):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f'NeighbourhoodAttention: dim {dim} is not divisible by num_heads {num_heads}.')
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f'NeighbourhoodAttention: kernel_size must be a positive odd number, got {kernel_size}.')
        if not isinstance(dilation, int) or dilation < 1:
            raise ValueError(f'NeighbourhoodAttention: dilation must be a positive int, got {dilation!r}.')
        if attn_drop:
            raise ValueError(f'NeighbourhoodAttention: attn_drop must be 0 (the fused operator does not drop '
                             f'attention weights), got {attn_drop}.')
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.scale = qk_scale or self.head_dim**-0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.rpb = nn.Parameter(torch.zeros(num_heads, 2 * kernel_size - 1, 2 * kernel_size - 1))
        # the official init: std 0.02, truncated at +-2 (absolute, i.e. 100 std: effectively a plain normal)
        nn.init.trunc_normal_(self.rpb, std=.02, a=-2., b=2.)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)

    def _qkv(self, x: torch.Tensor) -> Tuple[torch.Tensor, Tuple[int, int]]:
        """x ``(B, H, W, C)`` -> ``(B, 3, heads, head_dim, H', W')`` of the padded map, and ``(H, W)``."""
        B, H, W, C = x.shape
        window = self.kernel_size * self.dilation
        if H < window or W < window:
            x = F.pad(x, (0, 0, 0, max(0, window - W), 0, max(0, window - H)))
        Hp, Wp = x.shape[1:3]
        # the projection written as W @ x^T gives the (3C, H W) channels-first layout the operator wants
        # without a copy of the 3C-channel output
        qkv = torch.matmul(self.qkv.weight, x.reshape(B, Hp * Wp, C).transpose(1, 2))
        if self.qkv.bias is not None:
            qkv += self.qkv.bias[:, None]
        return qkv.view(B, 3, self.num_heads, self.head_dim, Hp, Wp), (H, W)

    def attention_weights(self, x: torch.Tensor) -> torch.Tensor:
        """The softmax weights ``forward(x)`` applies: ``(B, heads, kernel_size**2, H, W)``. Neighbour
        ``i * kernel_size + j`` of a query is the pixel in row ``i`` and column ``j`` of its window, which is
        centred on the query but shifted inwards at the borders (see
        :func:`dilated_neighbourhood_attention`, ``border='shift'``)."""
        qkv, (H, W) = self._qkv(x)
        with torch.no_grad():
            attn = _attention_forward(*qkv.unbind(1), self.rpb, self.kernel_size, (self.dilation, ), self.scale,
                                      'shift')[1]
        return attn[..., :H, :W]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, H, W, C) -> (B, H, W, C)."""
        if x.dim() != 4:
            raise ValueError(f'NeighbourhoodAttention expects x of shape (B, H, W, C), got {tuple(x.shape)}.')
        B, H, W, C = x.shape
        qkv, _ = self._qkv(x)
        out = packed_dilated_neighbourhood_attention(qkv, self.kernel_size, self.dilation, self.scale, 'shift',
                                                     self.rpb)
        out = out.view(B, C, *qkv.shape[-2:])[..., :H, :W].permute(0, 2, 3, 1)
        return self.proj_drop(self.proj(out))
