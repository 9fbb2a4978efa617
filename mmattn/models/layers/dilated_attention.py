"""Dilated sliding-window (neighbourhood) attention on 2-D maps: DilateFormer's multi-scale version and
NATTEN's neighbourhood attention with relative-position bias (DAT++).

Every query pixel attends to ``kernel_size x kernel_size`` pixels spaced ``dilation`` apart. Two border modes:

- ``'zeros'`` (DilateFormer's unfold formulation): the window is centred on the query and keys and values are
  zero-padded *after* their projection, so a neighbour outside the map has ``k = 0`` (its logit is exactly 0
  and it still takes part in the softmax) and ``v = 0``.
- ``'shift'`` (NATTEN 0.14-0.17): the window is shifted inwards at the borders so that it stays inside the map
  (dilated: inside the query's residue class modulo ``dilation``); an optional table ``rpb`` adds a bias
  indexed by the key's position relative to the query.

:func:`dilated_neighbourhood_attention` computes both without materialising the ``kernel_size**2`` unfolded
copies of k and v: for each kernel offset it multiplies q with a shifted *view* of k over the rectangle of
queries whose neighbour lies inside the map, and in the same way accumulates the softmax-weighted shifted views
of v. NATTEN's border strips, whose queries share one window, take all the offsets of that axis at once (a
"block" piece: the window's keys broadcast over the strip). A hand-written backward walks the same pieces, so
autograd keeps only q, k, v and the attention weights. :func:`packed_dilated_neighbourhood_attention` takes q,
k, v stacked in one tensor (a qkv projection's output) and writes its gradient without a stacking copy.
Measured against unfold formulations in ``tools/analysis/benchmark_dilated_attention.py``.
"""
import functools
import math
from typing import List, NamedTuple, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F


BORDERS = ('zeros', 'shift')

# The attention of a rectangle of queries to the keys of some kernel offsets is a "piece", made of a rows and a
# columns axis piece (ts, q, k, block), each with slices of the kernel indices, the query and the key positions.
# A shifted axis piece has one kernel index t and pairs each query with the key at a fixed offset (q and k
# slices of equal length); a block axis piece has all kernel indices and one window of keys (k slice of
# kernel_size positions) that all its queries share (NATTEN's windows at the borders).
_AxisPiece = Tuple[slice, slice, slice, bool]


class _Piece(NamedTuple):
    """Index tuples giving the piece's views.

    A shifted piece (shifted on both axes: one kernel offset ``n = i * K + j``, each query paired with one
    key) indexes 5-D tensors with slices only: the query and the key rectangle of a ``(B, h, d, H, W)``, and
    neighbour ``n`` of those queries in the weights ``(B, h, K * K, H, W)`` (size 1 on dim 2, broadcasting
    over d); their products are elementwise. A block piece has 7-D views ``(B, h, d, i, j, y, x)`` (of the
    weights unflattened to ``(B, h, K, K, H, W)``) with size 1 where a dimension does not apply: ``i``, ``j``
    the kernel indices (K on a block axis), ``y``, ``x`` the query rows / columns (1 on a block axis, for the
    key window its queries share); their products broadcast.
    """
    weight: tuple  # of the weights, flat (shifted piece) or unflattened (block piece)
    query: tuple  # of a query-side ``(B, h, d, H, W)``
    key: tuple  # of a key-side ``(B, h, d, H, W)``, then ...
    swap: bool  # ... dims 4 and 5 swapped (a block on the columns only)
    block: bool  # a block piece (7-D views)
    identity: bool  # each query with the key at its own pixel, over the whole map

    @classmethod
    def make(cls, rows: _AxisPiece, cols: _AxisPiece, size: Tuple[int, int], kernel_size: int) -> '_Piece':
        (rows_t, q_rows, k_rows, row_block), (cols_t, q_cols, k_cols, col_block) = rows, cols
        every = (slice(None), ) * 3
        if not (row_block or col_block):
            n = rows_t.start * kernel_size + cols_t.start
            identity = all(q.indices(length) == k.indices(length) == (0, length, 1)
                           for q, k, length in zip((q_rows, q_cols), (k_rows, k_cols), size))
            return cls((slice(None), slice(None), slice(n, n + 1), q_rows, q_cols), (*every, q_rows, q_cols),
                       (*every, k_rows, k_cols), False, False, identity)
        if row_block and col_block:
            key = (*every, k_rows, k_cols, None, None)
        elif row_block:
            key = (*every, k_rows, None, None, k_cols)
        else:
            key = (*every, None, k_rows, k_cols, None)  # (.., 1, y, K, 1), then swapped
        return cls((slice(None), slice(None), None, rows_t, cols_t, q_rows, q_cols),
                   (*every, None, None, q_rows, q_cols), key, not row_block, True, False)


@functools.lru_cache(maxsize=64)
def _offset_pieces(size: Tuple[int, int], kernel_size: int, dilation: int) -> List[_Piece]:
    """Zero-padded borders: per kernel offset ``(i, j)`` whose neighbours are (partly) inside the map, the
    query pixels whose neighbour ``(i, j)`` lies inside the map and those neighbours.

    The centre offset comes first; it covers the whole map. Offsets whose neighbours all lie outside (maps
    smaller than the dilated window) are left out: their logits stay 0 and their values 0.
    """
    pad = dilation * (kernel_size - 1) // 2
    axes = []
    for length in size:
        axis = {}
        for t in range(kernel_size):
            shift = t * dilation - pad
            start, stop = max(0, -shift), min(length, length - shift)
            if stop > start:
                axis[t] = (slice(t, t + 1), slice(start, stop), slice(start + shift, stop + shift), False)
        axes.append(axis)
    centre = kernel_size // 2
    pairs = [(rows, cols) for rows in axes[0].values() for cols in axes[1].values()]
    pairs.sort(key=lambda pair: (pair[0][0].start, pair[1][0].start) != (centre, centre))
    return [_Piece.make(rows, cols, size, kernel_size) for rows, cols in pairs]


def _shifted_axis(length: int, kernel_size: int, dilation: int) -> Tuple[List[_AxisPiece], torch.Tensor]:
    """NATTEN's windows along one axis: the axis pieces, and the bias index of neighbour ``t`` of each
    position, ``(kernel_size, length)`` int64.

    The positions ``r, r + dilation, ...`` of each residue class ``r`` form a line of ``m`` members on which
    the window is the ``kernel_size`` members centred on the query, moved inwards at the ends: member ``p`` in
    the interior ``[half, m - half)`` has neighbour ``t`` at member ``p - half + t`` (a shifted piece per
    ``t``); the first ``half`` members all share the first window and the last ``half`` the last one (a block
    piece each). The bias index is the key's offset from the query in members, plus ``kernel_size - 1``.
    """
    half = kernel_size // 2
    pieces = []
    bias = torch.empty(kernel_size, length, dtype=torch.long)
    for residue in range(dilation):
        members = len(range(residue, length, dilation))

        def span(p0: int, p1: int) -> slice:  # members [p0, p1) as a slice of the axis
            return slice(residue + p0 * dilation, residue + (p1 - 1) * dilation + 1, dilation)

        for t in range(kernel_size):
            pieces.append((slice(t, t + 1), span(half, members - half), span(t, members - 2 * half + t), False))
            keys = [min(max(p - half, 0), members - kernel_size) + t for p in range(members)]
            bias[t, span(0, members)] = torch.tensor([key - p + kernel_size - 1 for p, key in enumerate(keys)])
        if half:
            pieces.append((slice(None), span(0, half), span(0, kernel_size), True))
            pieces.append((slice(None), span(members - half, members), span(members - kernel_size, members), True))
    return pieces, bias


@functools.lru_cache(maxsize=64)
def _shifted_layout(size: Tuple[int, int], kernel_size: int, dilation: int) -> Tuple[List[_Piece], tuple]:
    """NATTEN's shifted windows: the pieces (together covering every neighbour of every query once), and the
    bias index of neighbour ``t`` of each row and of each column (see :func:`_shifted_axis`)."""
    (rows, bias_rows), (cols, bias_cols) = (_shifted_axis(length, kernel_size, dilation) for length in size)
    return [_Piece.make(r, c, size, kernel_size) for r in rows for c in cols], (bias_rows, bias_cols)


def _query_view(x: torch.Tensor, piece: _Piece) -> torch.Tensor:
    return x[piece.query]


def _key_view(x: torch.Tensor, piece: _Piece) -> torch.Tensor:
    x = x[piece.key]
    return x.transpose(4, 5) if piece.swap else x


def _weight_tensors(weights: torch.Tensor, kernel_size: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """Per-neighbour weights ``(B, h, K * K, H, W)`` as themselves and unflattened to ``(B, h, K, K, H, W)``."""
    return weights, weights.unflatten(2, (kernel_size, kernel_size))


def _weight_view(weights: Tuple[torch.Tensor, torch.Tensor], piece: _Piece) -> torch.Tensor:
    """``weights`` as :func:`_weight_tensors` gives them."""
    flat, unflattened = weights
    return (unflattened if piece.block else flat)[piece.weight]


def _dot_into(out: torch.Tensor, a: torch.Tensor, b: torch.Tensor, piece: _Piece, scratch: torch.Tensor) -> None:
    """``out = (a * b).sum(dim=2, keepdim=True)`` for the piece's views; a shifted piece multiplies into
    ``scratch`` ``(B, h, d, H, W)`` (overwritten), a block piece (a few rows / columns) into a new tensor."""
    if piece.block:
        product = a * b
    else:
        product = scratch[..., :a.shape[-2], :a.shape[-1]]
        torch.mul(a, b, out=product)
    torch.sum(product, dim=2, keepdim=True, out=out)


def _add_product(out: torch.Tensor, a: torch.Tensor, b: torch.Tensor, piece: _Piece, write: bool) -> None:
    """``out += a * b`` for the piece's views (``out = a * b`` if ``write``), summed over what ``out`` does not
    have (on a block piece: the kernel indices on the query side, the queries sharing a key window on the key
    side)."""
    if write:
        torch.mul(a, b, out=out)
    elif piece.block and out.shape != torch.broadcast_shapes(a.shape, b.shape):
        out.add_((a * b).sum_to_size(out.shape))
    else:
        out.addcmul_(a, b)


def _bias_map(rpb: torch.Tensor, bias_index: tuple) -> torch.Tensor:
    """``rpb`` ``(h, 2K - 1, 2K - 1)`` looked up for every neighbour of every query: ``(h, K * K, H, W)``."""
    rows, cols = (index.to(rpb.device) for index in bias_index)  # (K, H), (K, W)
    bias = rpb[:, rows[:, None, :, None], cols[None, :, None, :]]  # (h, K, K, H, W)
    return bias.flatten(1, 2)


def _bias_gradient(grad_logits: torch.Tensor, bias_index: tuple, dtype: torch.dtype) -> torch.Tensor:
    """The transpose of :func:`_bias_map` summed over the batch: ``(B, h, K * K, H, W)`` -> ``(h, 2K - 1, 2K - 1)``.

    Summing over the rows and columns that share a table entry is a product with one-hot matrices (the row
    index depends only on the row and ``i``, the column index on the column and ``j``).
    """
    rows, cols = bias_index  # (K, H), (K, W)
    K, H, W = rows.shape[0], rows.shape[1], cols.shape[1]
    grad = grad_logits.sum(0).to(dtype).unflatten(1, (K, K)).permute(0, 1, 3, 2, 4).reshape(-1, K * H, K * W)
    row_hot, col_hot = (F.one_hot(index.flatten().to(grad.device), 2 * K - 1).to(dtype) for index in (rows, cols))
    return row_hot.t() @ grad @ col_hot


def _attention_forward(q, k, v, rpb, kernel_size: int, dilations: Tuple[int, ...], scale: float, border: str):
    """Return ``(out, attn, layouts)``: per head group (heads are split evenly over ``dilations``) its pieces
    and, for shifted windows, its bias index (see :func:`_shifted_layout`)."""
    B, num_heads, head_dim, H, W = q.shape
    group = num_heads // len(dilations)
    if border == 'zeros':
        layouts = [(_offset_pieces((H, W), kernel_size, dilation), None) for dilation in dilations]
    else:
        layouts = [_shifted_layout((H, W), kernel_size, dilation) for dilation in dilations]
    attn = q.new_zeros(B, num_heads, kernel_size * kernel_size, H, W)
    out = q.new_empty(B, num_heads, head_dim, H, W)
    for g, (pieces, bias_index) in enumerate(layouts):
        heads = slice(g * group, (g + 1) * group)
        qg, kg, vg, logits, outg = q[:, heads], k[:, heads], v[:, heads], attn[:, heads], out[:, heads]
        weights = _weight_tensors(logits, kernel_size)
        weight_views = [_weight_view(weights, piece) for piece in pieces]  # each used twice
        for piece, weight in zip(pieces, weight_views):
            _dot_into(weight, _query_view(qg, piece), _key_view(kg, piece), piece, outg)  # not yet written
        logits.mul_(scale)
        if rpb is not None:  # the bias is added to the scaled logits, as in NATTEN's layers
            logits.add_(_bias_map(rpb[heads], bias_index))
        # in-place softmax over the neighbours (zero borders: out-of-map neighbours keep logit 0 and take part)
        logits.sub_(logits.amax(dim=2, keepdim=True)).exp_()
        logits.div_(logits.sum(dim=2, keepdim=True))
        writes = pieces[0].identity  # its pass writes the outputs / gradients instead of adding into zeros
        if not writes:
            outg.zero_()
        for index, (piece, weight) in enumerate(zip(pieces, weight_views)):
            _add_product(_query_view(outg, piece), weight, _key_view(vg, piece), piece, writes and index == 0)
    return out, attn, layouts


def _attention_backward(grad_out, q, k, v, attn, layouts, scale, grad_q, grad_k, grad_v, grad_rpb) -> None:
    """Write the gradients into ``grad_q``, ``grad_k``, ``grad_v``, ``grad_rpb`` (each may be None: not
    needed; ``grad_rpb`` is accumulated into)."""
    B, num_heads, head_dim, H, W = q.shape
    group = num_heads // len(layouts)
    K = math.isqrt(attn.shape[2])
    grad_out = grad_out.contiguous()
    needs_logits = grad_q is not None or grad_k is not None or grad_rpb is not None
    if needs_logits:
        grad_logits = attn.new_empty(B, group, *attn.shape[2:])
        grad_weights = _weight_tensors(grad_logits, K)
        # the dot products' scratch: the gradient of q (or k), written only after them
        scratch = next((grad for grad in (grad_q, grad_k) if grad is not None), None)
        if scratch is None:
            scratch = q.new_empty(q.shape)
    for g, (pieces, bias_index) in enumerate(layouts):
        heads = slice(g * group, (g + 1) * group)
        qg, kg, vg, attng, gout = q[:, heads], k[:, heads], v[:, heads], attn[:, heads], grad_out[:, heads]
        upstream = [_query_view(gout, piece) for piece in pieces]  # dL/dout of each piece's queries
        writes = pieces[0].identity  # its pass writes the outputs / gradients instead of adding into zeros
        if grad_v is not None:  # dL/dv[keys] += a * dL/dout[queries]
            grad_vg, weights = grad_v[:, heads], _weight_tensors(attng, K)
            if not writes:
                grad_vg.zero_()
            for index, (piece, grad) in enumerate(zip(pieces, upstream)):
                _add_product(_key_view(grad_vg, piece), _weight_view(weights, piece), grad, piece,
                             writes and index == 0)
        if not needs_logits:
            continue
        grad_logits.zero_()
        grad_weight_views = [_weight_view(grad_weights, piece) for piece in pieces]  # each used three times
        scratchg = scratch[:, heads]
        for piece, grad_weight, grad in zip(pieces, grad_weight_views, upstream):
            _dot_into(grad_weight, grad, _key_view(vg, piece), piece, scratchg)
        # softmax backward: a * (g - sum(a * g)); the bias gets it as is, q and k times the logit scale
        grad_logits.sub_((grad_logits * attng).sum(dim=2, keepdim=True)).mul_(attng)
        if grad_rpb is not None:
            grad_rpb[heads] += _bias_gradient(grad_logits, bias_index, grad_rpb.dtype)
        grad_logits.mul_(scale)
        # dL/dq[queries] += dL/dlogit * k[keys];  dL/dk[keys] += dL/dlogit * q[queries]; one pass each, which
        # keeps less in the cache than one pass for both
        for grad, source, grad_view, source_view in ((grad_q, kg, _query_view, _key_view),
                                                     (grad_k, qg, _key_view, _query_view)):
            if grad is None:
                continue
            gradg = grad[:, heads]
            if not writes:
                gradg.zero_()
            for index, (piece, grad_weight) in enumerate(zip(pieces, grad_weight_views)):
                _add_product(grad_view(gradg, piece), grad_weight, source_view(source, piece), piece,
                             writes and index == 0)


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
        out, attn, layouts = _attention_forward(q, k, v, rpb, kernel_size, dilations, scale, border)
        ctx.save_for_backward(q, k, v, attn)
        ctx.layouts, ctx.scale = layouts, scale
        ctx.rpb_meta = None if rpb is None else (rpb.shape, rpb.dtype)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        q, k, v, attn = ctx.saved_tensors
        grads = [x.new_empty(x.shape) if need else None for x, need in zip((q, k, v), ctx.needs_input_grad)]
        grad_rpb = _rpb_gradient(ctx, q, ctx.needs_input_grad[3])
        _attention_backward(grad_out, q, k, v, attn, ctx.layouts, ctx.scale, *grads, grad_rpb)
        return (*grads, grad_rpb, None, None, None, None)


class _PackedDilatedNeighbourhoodAttention(torch.autograd.Function):
    """One ``(B, 3, heads, head_dim, H, W)`` tensor: its gradient is written in place, no stacking copy."""

    @staticmethod
    def forward(ctx, qkv, rpb, kernel_size: int, dilations: Tuple[int, ...], scale: float, border: str):
        out, attn, layouts = _attention_forward(*qkv.unbind(1), rpb, kernel_size, dilations, scale, border)
        ctx.save_for_backward(qkv, attn)
        ctx.layouts, ctx.scale = layouts, scale
        ctx.rpb_meta = None if rpb is None else (rpb.shape, rpb.dtype)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        qkv, attn = ctx.saved_tensors
        grad_qkv = qkv.new_empty(qkv.shape) if ctx.needs_input_grad[0] else None
        grad_rpb = _rpb_gradient(ctx, qkv, ctx.needs_input_grad[1])
        grads = grad_qkv.unbind(1) if grad_qkv is not None else (None, None, None)
        _attention_backward(grad_out, *qkv.unbind(1), attn, ctx.layouts, ctx.scale, *grads, grad_rpb)
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


# torch.compile: dynamo cannot trace the operator's writes into strided views (``out=`` slices), so it runs eagerly
# (one graph break per call); forward and backward are the same code as without compile.
@torch.compiler.disable
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


@torch.compiler.disable  # as dilated_neighbourhood_attention
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
