"""Deformable multi-head attention of DAT (Xia et al., CVPR 2022), on channels-last maps.

Per offset group, a small offset network looks at the queries and predicts one 2-D offset per key location;
keys and values are bilinearly sampled (zero padding) from the block input at ``reference + offset``, and a
continuous relative-position bias is bilinearly sampled from a table at the query-to-key displacement.

Numerics follow the official v1 code, including its conventions that look inconsistent:

* offsets are ``tanh(o) * offset_range_factor / (Hk, Wk)`` in normalised ``(y, x)`` units;
* reference points are pixel centres normalised by the size, ``(i + 0.5) / Hk * 2 - 1``, while the sampling
  uses ``align_corners=True``, so a zero offset does not land exactly on a pixel centre; positions are not
  clamped (out-of-range samples read zeros);
* the query grid of the bias uses the same pixel-centre formula at ``(H, W)``, the displacement is
  ``(query - position) / 2`` and the table, shaped ``(heads, 2H - 1, 2W - 1)``, is sampled with
  ``align_corners=True``; at another size the table is first resized bicubically to ``(2H - 1, 2W - 1)``, as
  the official ``load_pretrained`` does for a model built at that size;
* the ``head_dim ** -0.5`` scale is applied after the ``q . k`` product.

DAT++ (``conventions='dat++'``, Xia et al., arXiv 2309.01430) changes four of these and adds a stride:

* the offset network's depthwise conv has a ``stride`` (padding ``kernel // 2`` unless ``kernel == stride``),
  so the ``ceil(H / stride) x ceil(W / stride)`` keys are fewer than the queries;
* offsets are used as predicted (no tanh scaling) and the positions ``reference + offset`` are clamped to
  [-1, 1];
* reference points are ``(i + 0.5) / (Hk - 1) * 2 - 1`` and the query grid of the bias is the
  ``align_corners=True`` grid ``i / (H - 1) * 2 - 1`` (an axis of length 1, where the official code divides by
  zero, sits at +1 for both: the official clamped position, and a zero query-to-key displacement);
* the bias table ``(heads, 2 * rpe_h - 1, 2 * rpe_w - 1)`` (sized from the training map) is a continuous table
  sampled at any map size, never resized.

On CPU the attention core is one autograd function with a hand-written backward, and the bias is sampled by
a compiled kernel (``csrc/position_bias.cpp``) that reads the table at ``query - position`` directly: no
``(groups, Nq, Nk, 2)`` sampling grid is ever built, and its backward scatters into per-thread copies of the
table, so all threads work whatever the number of offset groups. Small attention maps keep their probabilities
for backward; large ones (detection sizes) use a flash-attention forward over chunks of queries and recompute
bias and probabilities in backward, so nothing of size ``Nq * Nk`` is kept between forward and backward. Other
devices use ``F.scaled_dot_product_attention`` with the bias through autograd.
"""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from .cpu_kernels import load_cpu_kernels

# queries per chunk are chosen so that one chunk's bias and probabilities stay near this many elements
_CHUNK_ELEMENTS = 1 << 24


def normalized_pixel_centers(height: int, width: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """``(height, width, 2)`` grid of ``(y, x)`` pixel centres normalised as ``(i + 0.5) / size * 2 - 1``.

    This is DAT v1's convention for both the reference points and the query grid of the position bias.
    """
    ys = (torch.arange(height, dtype=dtype, device=device) + 0.5) / height * 2 - 1
    xs = (torch.arange(width, dtype=dtype, device=device) + 0.5) / width * 2 - 1
    return torch.stack(torch.meshgrid(ys, xs, indexing='ij'), dim=-1)


def corner_aligned_grid(height: int, width: int, dtype: torch.dtype, device: torch.device,
                        half_pixel: bool = False) -> torch.Tensor:
    """``(height, width, 2)`` grid of ``(y, x)`` points ``(i + o) / (size - 1) * 2 - 1``, ``o = 0.5 if half_pixel``.

    DAT++'s query grid (``o = 0``: pixel centres in the ``align_corners=True`` convention) and reference points
    (``o = 0.5``). On an axis of length 1 the official code divides by zero: its reference point is ``+inf``
    (kept here, so that the clamped position is +1 whatever the offset, as there), its query grid NaN (+1 here,
    which makes the query-to-key displacement of a one-pixel axis zero).
    """
    def axis(n):
        if n == 1:
            return torch.full((1, ), float('inf') if half_pixel else 1., dtype=dtype, device=device)
        return (torch.arange(n, dtype=dtype, device=device) + (0.5 if half_pixel else 0.)) / (n - 1) * 2 - 1

    return torch.stack(torch.meshgrid(axis(height), axis(width), indexing='ij'), dim=-1)


def resize_rpe_table(table: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """Resize a continuous bias table ``(heads, h, w)`` to ``size`` bicubically (official ``load_pretrained``)."""
    size = tuple(int(s) for s in size)
    if tuple(table.shape[-2:]) == size:
        return table
    return F.interpolate(table.unsqueeze(0), size=size, mode='bicubic').squeeze(0)


def _bias_grid(query_half: torch.Tensor, pos_half: torch.Tensor) -> torch.Tensor:
    """``(Bg, Nq, Nk, 2)`` grid ``query/2 - pos/2`` in ``(x, y)`` order from ``(Nq, 2)`` and ``(Bg, Nk, 2)``."""
    return query_half[None, :, None, :] - pos_half[:, None, :, :]


def _grid_sampled_bias(table: torch.Tensor, pos_half: torch.Tensor, query_half: torch.Tensor) -> torch.Tensor:
    """The bias ``grid_sample(table, query/2 - pos/2)``, ``(Bg, hg, Nq, Nk)``, by ATen (any device, autograd)."""
    return F.grid_sample(table, _bias_grid(query_half, pos_half), mode='bilinear', padding_mode='zeros',
                         align_corners=True)


def _sample_bias(table: torch.Tensor, pos_half: torch.Tensor, query_half: torch.Tensor) -> torch.Tensor:
    """:func:`_grid_sampled_bias` on CPU for the fused core: the compiled kernel (no grid tensor), or ATen's
    ``grid_sample`` where it could not be built."""
    if load_cpu_kernels():
        return torch.ops.mmattn_cpu.sample_position_bias(table, pos_half, query_half)
    return _grid_sampled_bias(table, pos_half, query_half)


def _sample_bias_backward(grad: torch.Tensor, table: torch.Tensor, pos_half: torch.Tensor,
                          query_half: torch.Tensor, dtable: Optional[torch.Tensor], dpos: Optional[torch.Tensor]):
    """Accumulate the gradients of :func:`_sample_bias` for ``grad`` into ``dtable`` and ``dpos`` (either may be
    None)."""
    if load_cpu_kernels():
        torch.ops.mmattn_cpu.sample_position_bias_backward(grad, table, pos_half, query_half, dtable, dpos)
        return
    gt, gg = torch.ops.aten.grid_sampler_2d_backward(grad.to(table.dtype), table, _bias_grid(query_half, pos_half),
                                                     0, 0, True, [dtable is not None, dpos is not None])
    if dtable is not None:
        dtable += gt
    if dpos is not None:
        dpos -= gg.sum(1)


def _chunk_size(num_queries: int, num_keys: int, per_key: int) -> int:
    return max(1, min(num_queries, _CHUNK_ELEMENTS // max(1, num_keys * per_key)))


class _DeformableAttentionCore(torch.autograd.Function):
    """``softmax(q k^T * scale + bias) v`` with ``bias = grid_sample(table, query/2 - pos/2)`` on CPU.

    Inputs: q ``(B, h, Nq, d)``, k and v ``(B, h, Nk, d)`` (contiguous), table ``(B*g, hg, Th, Tw)``,
    pos_half ``(B*g, Nk, 2)`` (key positions / 2, ``(x, y)``), query_half ``(Nq, 2)`` (constant), the scale and
    ``save_probs``. Returns ``(B, h, Nq, d)``.

    With ``save_probs`` the forward keeps the ``(B*h, Nq, Nk)`` probabilities for backward (the reference keeps
    them too, plus its sampling grid and the bias), computed in place in one buffer: the bias, then the logits,
    then the softmax. Without, it runs a flash-attention forward over chunks of queries, keeps nothing of size
    ``Nq * Nk`` and the backward recomputes bias and probabilities. The backward works chunk by chunk, so that
    its temporaries stay near ``_CHUNK_ELEMENTS``.
    """

    @staticmethod
    @torch.amp.custom_fwd(device_type='cpu', cast_inputs=torch.float32)
    def forward(ctx, q, k, v, table, pos_half, query_half, scale, save_probs):
        B, h, Nq, d = q.shape
        Nk = k.shape[2]
        table = table.to(pos_half.dtype)  # the bias is sampled in the (>= float32) precision of the positions
        q3 = q.reshape(B * h, Nq, d)
        k3, v3 = k.view(B * h, Nk, d), v.view(B * h, Nk, d)
        lse = probs = None
        if save_probs:
            logits = _sample_bias(table, pos_half, query_half).view(B * h, Nq, Nk).to(q.dtype)
            logits.baddbmm_(q3, k3.transpose(1, 2), alpha=scale)  # (q . k) * scale + bias
            probs = torch.ops.aten._softmax.out(logits, -1, False, out=logits)  # row-wise: each value read first
            out = torch.bmm(probs, v3)
        else:
            out, lse = q.new_empty(B * h, Nq, d), q.new_empty(B, h, Nq)
            step = _chunk_size(Nq, Nk, B * h)
            for s in range(0, Nq, step):
                e = min(Nq, s + step)
                bias = _sample_bias(table, pos_half, query_half[s:e]).view(B, h, e - s, Nk).to(q.dtype)
                o, l = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu(
                    q[:, :, s:e], k, v, 0.0, False, attn_mask=bias, scale=scale)
                out.view(B, h, Nq, d)[:, :, s:e] = o
                lse[:, :, s:e] = l
                del bias
        # the probabilities are kept as an attribute, not a saved tensor, so that backward can free them early
        ctx.save_for_backward(q3, k3, v3, table, pos_half, query_half, out, lse)
        ctx.probs = probs
        ctx.scale, ctx.save_probs, ctx.shape = scale, save_probs, (B, h, Nq, Nk, d)
        return out.view(B, h, Nq, d)

    @staticmethod
    @torch.amp.custom_bwd(device_type='cpu')
    def backward(ctx, grad_out):
        q3, k3, v3, table, pos_half, query_half, out, lse = ctx.saved_tensors
        saved_probs, ctx.probs = ctx.probs, None
        scale, save_probs, (B, h, Nq, Nk, d) = ctx.scale, ctx.save_probs, ctx.shape
        Bg, hg = table.shape[:2]
        need_q, need_k, need_v, need_table, need_pos = ctx.needs_input_grad[:5]
        grad_out = grad_out.reshape(B * h, Nq, d)
        neg_delta = -(grad_out * out).sum(-1, keepdim=True)  # -rowsum(dO * O)
        lse = None if save_probs else lse.view(B * h, Nq, 1)
        dq = torch.empty_like(q3) if need_q else None
        dk = torch.zeros_like(k3) if need_k else None
        dv = torch.zeros_like(v3) if need_v else None
        dtable = torch.zeros_like(table) if need_table else None
        dpos = torch.zeros_like(pos_half) if need_pos else None
        kt, vt = k3.transpose(1, 2), v3.transpose(1, 2)
        step = _chunk_size(Nq, Nk, 2 * B * h)
        for s in range(0, Nq, step):
            e = min(Nq, s + step)
            qc, doc = q3[:, s:e], grad_out[:, s:e]
            if save_probs and saved_probs is not None:
                probs = saved_probs[:, s:e]
                if e - s == Nq:
                    saved_probs = None  # one chunk: released as soon as d logits exist
            else:  # recompute the probabilities (from the log-sum-exp; or again after a retain_graph backward)
                probs = _sample_bias(table, pos_half, query_half[s:e]).view(B * h, e - s, Nk).to(q3.dtype)
                probs.baddbmm_(qc, kt, alpha=scale)
                probs = probs.sub_(lse[:, s:e]).exp_() if lse is not None else torch.softmax(probs, dim=-1)
            if need_v:
                dv.baddbmm_(probs.transpose(1, 2), doc)
            dscores = torch.bmm(doc, vt).add_(neg_delta[:, s:e]).mul_(probs)  # d logits (= d bias)
            del probs
            if need_q:
                dq[:, s:e] = torch.bmm(dscores, k3)
            if need_k:
                dk.baddbmm_(dscores.transpose(1, 2), qc, alpha=scale)
            if need_table or need_pos:
                _sample_bias_backward(dscores.view(Bg, hg, e - s, Nk), table, pos_half, query_half[s:e], dtable, dpos)
            del dscores
        if need_q:
            dq = dq.mul_(scale).view(B, h, Nq, d)
        dk = dk.view(B, h, Nk, d) if need_k else None
        dv = dv.view(B, h, Nk, d) if need_v else None
        return dq, dk, dv, dtable, dpos, None, None, None


class DeformableAttention(nn.Module):
    """DAT's deformable multi-head attention (``DAttentionBaseline`` of the v1 and DAT++ code).

    Args:
        dim (int): Channels (queries, keys, values and output).
        num_heads (int): Attention heads.
        num_groups (int): Offset groups; each group of ``dim // num_groups`` channels and
            ``num_heads // num_groups`` heads shares one set of sampling positions.
        offset_kernel_size (int): Depthwise kernel of the offset network (official: 9, 7, 5, 3 in stages 1-4).
        rpe_size (Sequence[int]): ``(H, W)`` of the map the position-bias table is sized for; the table is
            ``(num_heads, 2H - 1, 2W - 1)`` (official: the training feature map, e.g. 14x14 at 224).
        offset_range_factor (float): Offsets are ``tanh(o) * factor / (Hk, Wk)``; a value <= 0 disables the
            scaling and clamps positions to [-1, 1] (DAT++). Defaults to 2.
        stride (int): Stride of the offset network: one key per ``stride x stride`` queries (DAT v1: 1; DAT++:
            8, 4, 2, 1 in stages 1-4). Its conv is padded by ``offset_kernel_size // 2`` unless the kernel equals
            the stride. Defaults to 1.
        conventions (str): ``'dat'`` (v1) or ``'dat++'``: the reference points, query grid and bias table of
            the module docstring. Defaults to ``'dat'``.
        use_rpe (bool): Add the continuous relative-position bias. Defaults to True.
        fused (bool): Use the fused CPU core when running on CPU. Defaults to True.
        save_attention_limit (int): In training, attention maps of up to this many elements
            (``B * heads * Nq * Nk``) are kept for backward (fastest; the reference keeps them too, plus its
            sampling grid); larger ones are recomputed chunk by chunk in backward, so no ``Nq * Nk`` tensor is
            kept between forward and backward. The default keeps up to 1 GiB of float32 per layer: a DAT-T stage-3
            layer at 800x1344, batch 1, is 2**27.7. Defaults to ``2**28``.

    Shapes:
        ``forward(x)``: ``(B, H, W, C) -> (B, H, W, C)``; with ``return_sampling=True`` also the sampling
        positions and the reference points, each ``(B, num_groups, Hk, Wk, 2)`` in normalised ``(y, x)``.
    """

    def __init__(self,
                 dim: int,
                 num_heads: int,
                 num_groups: int,
                 offset_kernel_size: int,
                 rpe_size: Sequence[int],
                 offset_range_factor: float = 2.,
                 stride: int = 1,
                 conventions: str = 'dat',
                 use_rpe: bool = True,
                 fused: bool = True,
                 save_attention_limit: int = 2**28):
        super().__init__()
        if dim % num_heads or num_heads % num_groups:
            raise ValueError(f'DeformableAttention: dim {dim} must be divisible by num_heads {num_heads}, and '
                             f'num_heads by num_groups {num_groups}.')
        if conventions not in ('dat', 'dat++'):
            raise ValueError(f"DeformableAttention: conventions must be 'dat' or 'dat++', got {conventions!r}.")
        self.dim, self.num_heads, self.num_groups = dim, num_heads, num_groups
        self.conventions = conventions
        self.head_dim = dim // num_heads
        self.group_dim = dim // num_groups
        self.scale = self.head_dim**-0.5
        self.offset_range_factor = offset_range_factor
        self.fused = fused
        self.save_attention_limit = save_attention_limit
        self.proj_q = nn.Linear(dim, dim)
        self.proj_k = nn.Linear(dim, dim)
        self.proj_v = nn.Linear(dim, dim)
        self.proj_out = nn.Linear(dim, dim)
        self.offset_net = nn.Module()
        self.offset_net.conv = nn.Conv2d(self.group_dim, self.group_dim, offset_kernel_size, stride=stride,
                                         padding=0 if offset_kernel_size == stride else offset_kernel_size // 2,
                                         groups=self.group_dim)
        self.offset_net.norm = nn.LayerNorm(self.group_dim)
        self.offset_net.act = nn.GELU()
        self.offset_net.proj = nn.Linear(self.group_dim, 2, bias=False)
        if use_rpe:
            rpe_h, rpe_w = rpe_size
            self.rpe_table = nn.Parameter(torch.zeros(num_heads, 2 * rpe_h - 1, 2 * rpe_w - 1))
            nn.init.trunc_normal_(self.rpe_table, std=.01)
        else:
            self.rpe_table = None

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs):
        # a table trained at another feature-map size is resized to this module's (official load_pretrained)
        key = prefix + 'rpe_table'
        if self.rpe_table is not None and key in state_dict and \
                state_dict[key].dim() == 3 and state_dict[key].shape != self.rpe_table.shape and \
                state_dict[key].shape[0] == self.rpe_table.shape[0]:
            state_dict[key] = resize_rpe_table(state_dict[key].to(self.rpe_table.dtype), self.rpe_table.shape[1:])
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                      error_msgs)

    def _group_maps(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, H, W, g*Cg)`` -> ``(B*g, Cg, H, W)`` in channels-last memory (faster depthwise conv and sampling)."""
        B, H, W, _ = x.shape
        x = x.reshape(B, H, W, self.num_groups, self.group_dim).permute(0, 3, 1, 2, 4)
        return x.reshape(B * self.num_groups, H, W, self.group_dim).permute(0, 3, 1, 2)

    def _offsets(self, q: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """q ``(B, H, W, C)`` -> sampling positions ``(B*g, H, W, 2)`` in normalised ``(y, x)``, and references."""
        net = self.offset_net
        offset = net.conv(self._group_maps(q)).permute(0, 2, 3, 1)  # (B*g, Hk, Wk, Cg)
        offset = net.proj(net.act(net.norm(offset)))  # (B*g, Hk, Wk, 2), (y, x)
        Hk, Wk = offset.shape[1:3]
        offset = offset.to(torch.promote_types(offset.dtype, torch.float32))
        if self.conventions == 'dat':
            reference = normalized_pixel_centers(Hk, Wk, offset.dtype, q.device)
        else:
            reference = corner_aligned_grid(Hk, Wk, offset.dtype, q.device, half_pixel=True)
        if self.offset_range_factor > 0:
            offset_range = offset.new_tensor([self.offset_range_factor / Hk, self.offset_range_factor / Wk])
            pos = offset.tanh() * offset_range + reference
        else:
            pos = (offset + reference).clamp(-1., 1.)
        return pos, reference

    def _table(self, H: int, W: int, batch: int) -> torch.Tensor:
        """The bias table for an ``H x W`` map as ``(B*g, heads/g, Th, Tw)`` (v1: resized to ``2H-1, 2W-1``)."""
        table = self.rpe_table
        if self.conventions == 'dat':
            table = resize_rpe_table(table, (2 * H - 1, 2 * W - 1))
        table = table.view(self.num_groups, self.num_heads // self.num_groups, *table.shape[-2:])
        return table.unsqueeze(0).expand(batch, -1, -1, -1, -1).reshape(-1, *table.shape[1:])

    def _sampled_qkv(self, x: torch.Tensor):
        """q ``(B, heads, Nq, d)``, k and v ``(B, heads, Nk, d)`` at the sampling positions ``(B*g, Hk, Wk, 2)``
        (normalised ``(y, x)``), and the reference points."""
        B, H, W, C = x.shape
        h, d = self.num_heads, self.head_dim
        q = self.proj_q(x)
        pos, reference = self._offsets(q)
        nk = pos.shape[1] * pos.shape[2]
        with torch.autocast(x.device.type, enabled=False):  # sampling positions stay in >= float32
            sampled = F.grid_sample(self._group_maps(x).to(pos.dtype), pos.flip(-1), mode='bilinear',
                                    padding_mode='zeros', align_corners=True)
        sampled = sampled.to(x.dtype).reshape(B, C, nk).transpose(1, 2)  # (B, Nk, C)
        # keys and values in one product, then one copy into (2, B, heads, Nk, head_dim)
        kv = F.linear(sampled, torch.cat([self.proj_k.weight, self.proj_v.weight]),
                      torch.cat([self.proj_k.bias, self.proj_v.bias]))
        k, v = kv.view(B, nk, 2, h, d).permute(2, 0, 3, 1, 4).contiguous()
        return q.view(B, H * W, h, d).transpose(1, 2), k, v, pos, reference

    def _bias_inputs(self, H: int, W: int, pos: torch.Tensor):
        """The table and the halved query and key positions (``(x, y)``) the position bias is read with."""
        batch = pos.shape[0] // self.num_groups
        grid = normalized_pixel_centers if self.conventions == 'dat' else corner_aligned_grid
        query_half = grid(H, W, pos.dtype, pos.device).flip(-1).reshape(H * W, 2) * 0.5
        pos_half = pos.flip(-1).reshape(pos.shape[0], -1, 2) * 0.5
        return self._table(H, W, batch), query_half, pos_half

    def _dense_bias(self, H: int, W: int, pos: torch.Tensor) -> torch.Tensor:
        """The position bias ``(B, heads, Nq, Nk)``."""
        table, query_half, pos_half = self._bias_inputs(H, W, pos)
        with torch.autocast(pos.device.type, enabled=False):
            bias = _grid_sampled_bias(table.to(pos.dtype), pos_half, query_half)
        return bias.view(pos.shape[0] // self.num_groups, self.num_heads, H * W, pos_half.shape[1])

    def attention_weights(self, x: torch.Tensor):
        """The softmax weights ``forward(x)`` applies, ``(B, heads, Nq, Nk)``; the sampling positions of the
        keys, ``(B, num_groups, Hk, Wk, 2)``, and where a zero offset would sample, ``(Hk, Wk, 2)``,
        both in normalised ``(y, x)`` over the ``H x W`` map (``grid_sample``'s ``align_corners=True``); head
        ``j`` uses group ``j // (heads // num_groups)``."""
        B, H, W, _ = x.shape
        q, k, _, pos, reference = self._sampled_qkv(x)
        logits = q * self.scale @ k.transpose(-2, -1)
        if self.rpe_table is not None:
            logits = logits + self._dense_bias(H, W, pos).to(logits.dtype)
        return logits.softmax(-1), pos.view(B, self.num_groups, *pos.shape[1:]), self._zero_offset_points(reference)

    def forward(self, x: torch.Tensor, return_sampling: bool = False):
        B, H, W, C = x.shape
        q, k, v, pos, reference = self._sampled_qkv(x)
        if self.rpe_table is None:
            out = F.scaled_dot_product_attention(q, k, v, scale=self.scale)
        elif self.fused and x.device.type == 'cpu':
            save_probs = torch.is_grad_enabled() and B * self.num_heads * H * W * k.shape[2] <= \
                self.save_attention_limit
            table, query_half, pos_half = self._bias_inputs(H, W, pos)
            out = _DeformableAttentionCore.apply(q, k, v, table, pos_half, query_half, self.scale, save_probs)
        else:
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=self._dense_bias(H, W, pos).to(q.dtype),
                                                 scale=self.scale)
        out = self.proj_out(out.transpose(1, 2).reshape(B, H, W, C))
        if return_sampling:
            Hk, Wk = pos.shape[1:3]
            return out, pos.view(B, self.num_groups, Hk, Wk, 2), \
                self._zero_offset_points(reference).expand(B, self.num_groups, Hk, Wk, 2)
        return out

    def _zero_offset_points(self, reference: torch.Tensor) -> torch.Tensor:
        """Where a zero offset samples: the reference points, clamped as the positions are (DAT++: finite on
        one-pixel axes)."""
        return reference.clamp(-1., 1.) if self.conventions == 'dat++' else reference
