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
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn


def _offset_rects(size: Tuple[int, int], kernel_size: int, dilation: int) -> List[Tuple[int, tuple, tuple]]:
    """Per kernel offset ``n`` whose neighbours are (partly) inside the map: ``(n, q_rect, k_rect)``.

    ``q[..., q_rect]`` are the query pixels whose neighbour number ``n`` lies inside the map, at
    ``k[..., k_rect]`` (each rect is a ``(rows, cols)`` pair of slices). The centre offset comes first; it
    covers the whole map. Offsets whose neighbours all lie outside (maps smaller than the dilated window) are
    left out: their logits stay 0 and their values 0.
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
                              (slice(y0 + dy, y1 + dy), slice(x0 + dx, x1 + dx))))
    rects.sort(key=lambda rect: rect[0] != centre)
    return rects


def _rect(x: torch.Tensor, rect: tuple) -> torch.Tensor:
    return x[..., rect[0], rect[1]]


def _dot_into(out: torch.Tensor, a: torch.Tensor, b: torch.Tensor, buffer: torch.Tensor) -> None:
    """``out = (a * b).sum(dim=2)`` for ``(B, h, d, y, x)`` views, through a reused scratch ``buffer``."""
    scratch = buffer[..., :a.shape[-2], :a.shape[-1]]
    torch.mul(a, b, out=scratch)
    torch.sum(scratch, dim=2, out=out)


def _attention_forward(q, k, v, kernel_size: int, dilations: Tuple[int, ...], scale: float):
    """Return ``(out, attn, rects per group)``; heads are split evenly over ``dilations``."""
    B, num_heads, head_dim, H, W = q.shape
    group = num_heads // len(dilations)
    all_rects = [_offset_rects((H, W), kernel_size, dilation) for dilation in dilations]
    attn = q.new_zeros(B, num_heads, kernel_size * kernel_size, H, W)
    out = q.new_empty(B, num_heads, head_dim, H, W)
    buffer = q.new_empty(B, group, head_dim, H, W)
    for g, rects in enumerate(all_rects):
        heads = slice(g * group, (g + 1) * group)
        qg, kg, vg, logits, outg = q[:, heads], k[:, heads], v[:, heads], attn[:, heads], out[:, heads]
        for n, q_rect, k_rect in rects:
            _dot_into(_rect(logits[:, :, n], q_rect), _rect(qg, q_rect), _rect(kg, k_rect), buffer)
        # in-place softmax over the neighbours (out-of-map neighbours keep logit 0 and take part)
        logits.mul_(scale)
        logits.sub_(logits.amax(dim=2, keepdim=True)).exp_()
        logits.div_(logits.sum(dim=2, keepdim=True))
        for n, q_rect, k_rect in rects:
            weight = _rect(logits[:, :, n:n + 1], q_rect)
            if n == rects[0][0]:  # the centre offset covers the whole map: write, then accumulate
                torch.mul(weight, vg, out=outg)
            else:
                _rect(outg, q_rect).addcmul_(weight, _rect(vg, k_rect))
    return out, attn, all_rects


def _attention_backward(grad_out, q, k, v, attn, all_rects, scale, grad_q, grad_k, grad_v) -> None:
    """Write the gradients into ``grad_q``, ``grad_k``, ``grad_v`` (each may be None: not needed)."""
    B, num_heads, head_dim, H, W = q.shape
    group = num_heads // len(all_rects)
    grad_out = grad_out.contiguous()
    if grad_q is not None or grad_k is not None:
        grad_logits = attn.new_empty(B, group, *attn.shape[2:])
        buffer = q.new_empty(B, group, head_dim, H, W)
    for g, rects in enumerate(all_rects):
        heads = slice(g * group, (g + 1) * group)
        qg, kg, vg, attng, gout = q[:, heads], k[:, heads], v[:, heads], attn[:, heads], grad_out[:, heads]
        centre = rects[0][0]
        if grad_v is not None:
            grad_vg = grad_v[:, heads]
            for n, q_rect, k_rect in rects:
                weight = _rect(attng[:, :, n:n + 1], q_rect)
                if n == centre:
                    torch.mul(weight, gout, out=grad_vg)
                else:
                    _rect(grad_vg, k_rect).addcmul_(weight, _rect(gout, q_rect))
        if grad_q is None and grad_k is None:
            continue
        grad_logits.zero_()
        for n, q_rect, k_rect in rects:
            _dot_into(_rect(grad_logits[:, :, n], q_rect), _rect(gout, q_rect), _rect(vg, k_rect), buffer)
        # softmax backward with the logit scale folded in: a * (g - sum(a * g)) * scale
        grad_logits.sub_((grad_logits * attng).sum(dim=2, keepdim=True)).mul_(attng).mul_(scale)
        for grad, source, of_keys in ((grad_q, kg, False), (grad_k, qg, True)):
            if grad is None:
                continue
            gradg = grad[:, heads]
            for n, q_rect, k_rect in rects:
                weight = _rect(grad_logits[:, :, n:n + 1], q_rect)
                if n == centre:
                    torch.mul(weight, source, out=gradg)
                elif of_keys:  # dL/dk[k_rect] += dL/dlogit * q[q_rect]
                    _rect(gradg, k_rect).addcmul_(weight, _rect(source, q_rect))
                else:  # dL/dq[q_rect] += dL/dlogit * k[k_rect]
                    _rect(gradg, q_rect).addcmul_(weight, _rect(source, k_rect))


class _DilatedNeighbourhoodAttention(torch.autograd.Function):
    """Separate q, k, v tensors."""

    @staticmethod
    def forward(ctx, q, k, v, kernel_size: int, dilations: Tuple[int, ...], scale: float):
        out, attn, all_rects = _attention_forward(q, k, v, kernel_size, dilations, scale)
        ctx.save_for_backward(q, k, v, attn)
        ctx.all_rects, ctx.scale = all_rects, scale
        return out

    @staticmethod
    def backward(ctx, grad_out):
        q, k, v, attn = ctx.saved_tensors
        grads = [x.new_empty(x.shape) if need else None for x, need in zip((q, k, v), ctx.needs_input_grad)]
        _attention_backward(grad_out, q, k, v, attn, ctx.all_rects, ctx.scale, *grads)
        return (*grads, None, None, None)


class _PackedDilatedNeighbourhoodAttention(torch.autograd.Function):
    """One ``(B, 3, heads, head_dim, H, W)`` tensor: its gradient is written in place, no stacking copy."""

    @staticmethod
    def forward(ctx, qkv, kernel_size: int, dilations: Tuple[int, ...], scale: float):
        out, attn, all_rects = _attention_forward(*qkv.unbind(1), kernel_size, dilations, scale)
        ctx.save_for_backward(qkv, attn)
        ctx.all_rects, ctx.scale = all_rects, scale
        return out

    @staticmethod
    def backward(ctx, grad_out):
        qkv, attn = ctx.saved_tensors
        grad_qkv = qkv.new_empty(qkv.shape)
        _attention_backward(grad_out, *qkv.unbind(1), attn, ctx.all_rects, ctx.scale, *grad_qkv.unbind(1))
        return grad_qkv, None, None, None


def _check_arguments(shape, kernel_size, dilation) -> Tuple[int, ...]:
    if kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f'kernel_size must be a positive odd number, got {kernel_size}.')
    dilations = (dilation, ) if isinstance(dilation, int) else tuple(dilation)
    if not dilations or any(int(d) != d or d < 1 for d in dilations):
        raise ValueError(f'dilation must be a positive int or a non-empty sequence of them, got {dilation}.')
    if shape[1] % len(dilations):
        raise ValueError(f'{shape[1]} heads cannot be split evenly over the dilations {list(dilations)}.')
    return tuple(int(d) for d in dilations)


# torch.compile: dynamo cannot trace the operator's writes into strided views (``out=`` slices), so it runs eagerly
# (one graph break per call); forward and backward are the same code as without compile.
@torch.compiler.disable
def dilated_neighbourhood_attention(q: torch.Tensor,
                                    k: torch.Tensor,
                                    v: torch.Tensor,
                                    kernel_size: int = 3,
                                    dilation: Union[int, Sequence[int]] = 1,
                                    scale: Optional[float] = None) -> torch.Tensor:
    """Dilated sliding-window attention with zero-padded borders.

    ``out[b, h, :, y, x] = sum_n softmax_n(scale * q[b, h, :, y, x] . k_n) * v_n``, where ``n`` runs over the
    ``kernel_size**2`` neighbours ``(y + (i - (K-1)/2) * dilation, x + (j - (K-1)/2) * dilation)`` and a
    neighbour outside the map has ``k_n = v_n = 0`` (logit 0, still inside the softmax). This equals
    ``nn.Unfold(kernel_size, dilation, padding=dilation * (kernel_size - 1) // 2)`` applied to k and v.

    Args:
        q (Tensor): Queries, ``(B, heads, head_dim, H, W)``.
        k (Tensor): Keys, same shape.
        v (Tensor): Values, same shape.
        kernel_size (int): Neighbourhood side; odd. Defaults to 3.
        dilation (int | Sequence[int]): Spacing between neighbours; a sequence splits the heads evenly into
            that many consecutive groups, group ``g`` using ``dilation[g]`` (DilateFormer's multi-scale
            attention). Defaults to 1.
        scale (float, optional): Logit scale. Defaults to ``head_dim ** -0.5``.

    Returns:
        Tensor: ``(B, heads, head_dim, H, W)``, contiguous.
    """
    if q.dim() != 5 or q.shape != k.shape or q.shape != v.shape:
        raise ValueError('dilated_neighbourhood_attention expects q, k, v of one shape (B, heads, head_dim, H, '
                         f'W); got {tuple(q.shape)}, {tuple(k.shape)}, {tuple(v.shape)}.')
    dilations = _check_arguments(q.shape, kernel_size, dilation)
    if scale is None:
        scale = q.shape[2]**-0.5
    return _DilatedNeighbourhoodAttention.apply(q, k, v, int(kernel_size), dilations, float(scale))


@torch.compiler.disable  # as dilated_neighbourhood_attention
def packed_dilated_neighbourhood_attention(qkv: torch.Tensor,
                                           kernel_size: int = 3,
                                           dilation: Union[int, Sequence[int]] = 1,
                                           scale: Optional[float] = None) -> torch.Tensor:
    """:func:`dilated_neighbourhood_attention` on q, k, v stacked in one tensor.

    Equivalent to ``dilated_neighbourhood_attention(*qkv.unbind(1), ...)`` but backward writes the gradient
    of ``qkv`` directly instead of stacking three separate ones (one copy and its memory less).

    Args:
        qkv (Tensor): ``(B, 3, heads, head_dim, H, W)``, e.g. a 1x1 qkv projection's output viewed so.
        kernel_size (int): Neighbourhood side; odd. Defaults to 3.
        dilation (int | Sequence[int]): As in :func:`dilated_neighbourhood_attention`. Defaults to 1.
        scale (float, optional): Logit scale. Defaults to ``head_dim ** -0.5``.

    Returns:
        Tensor: ``(B, heads, head_dim, H, W)``, contiguous.
    """
    if qkv.dim() != 6 or qkv.shape[1] != 3:
        raise ValueError('packed_dilated_neighbourhood_attention expects qkv of shape (B, 3, heads, head_dim, H, '
                         f'W); got {tuple(qkv.shape)}.')
    dilations = _check_arguments(qkv.shape[1:], kernel_size, dilation)
    if scale is None:
        scale = qkv.shape[3]**-0.5
    return _PackedDilatedNeighbourhoodAttention.apply(qkv, int(kernel_size), dilations, float(scale))


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
            return _attention_forward(q, k, v, self.kernel_size, self.dilations, self.scale)[1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, H, W, C) -> (B, H, W, C)."""
        B, H, W, C = x.shape
        out = packed_dilated_neighbourhood_attention(self._qkv(x), self.kernel_size, self.dilations, self.scale)
        out = out.view(B, C, H, W).permute(0, 2, 3, 1)
        return self.proj(out)
