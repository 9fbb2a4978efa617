"""Window attention with relative-position bias and shift masks against a naive reference of DAT v1's
LocalAttention / ShiftWindowAttention (NCHW, fixed-size mask built from the three Swin regions, -100 fill)."""
import math

import pytest
import torch
import torch.nn.functional as F

from mmattn.models.layers import ShiftedWindowAttention
from mmattn.models.layers.shifted_window_attention import resize_relative_position_bias_table


def naive_window_attention(x, p, heads, ws, shift):
    """x: (B, C, H, W) with H, W multiples of ``ws``; ``p`` holds the parameters (mmattn names)."""
    B, C, H, W = x.shape
    if shift:
        x = torch.roll(x, shifts=(-shift, -shift), dims=(2, 3))
    r1, r2 = H // ws, W // ws
    t = x.reshape(B, C, r1, ws, r2, ws).permute(0, 2, 4, 3, 5, 1).reshape(B * r1 * r2, ws * ws, C)
    q, k, v = torch.chunk(F.linear(t, p['qkv.weight'], p['qkv.bias']), 3, dim=2)
    q = q * (C // heads)**-0.5
    q, k, v = [z.reshape(z.shape[0], ws * ws, heads, C // heads).transpose(1, 2) for z in (q, k, v)]
    attn = torch.einsum('bhmc,bhnc->bhmn', q, k)
    coords = torch.stack(torch.meshgrid(torch.arange(ws), torch.arange(ws), indexing='ij')).flatten(1)
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0)
    index = (rel[..., 0] + ws - 1) * (2 * ws - 1) + rel[..., 1] + ws - 1
    attn = attn + p['relative_position_bias_table'][index.view(-1)].view(ws * ws, ws * ws, -1).permute(2, 0, 1)
    if shift:
        img = torch.zeros(H, W)
        cnt = 0
        for h in (slice(0, -ws), slice(-ws, -shift), slice(-shift, None)):
            for w in (slice(0, -ws), slice(-ws, -shift), slice(-shift, None)):
                img[h, w] = cnt
                cnt += 1
        mw = img.reshape(r1, ws, r2, ws).permute(0, 2, 1, 3).reshape(r1 * r2, ws * ws)
        mask = mw.unsqueeze(1) - mw.unsqueeze(2)
        mask = mask.masked_fill(mask != 0, -100.0)
        attn = (attn.view(B, r1 * r2, heads, ws * ws, ws * ws) + mask[None, :, None]).flatten(0, 1)
    out = torch.einsum('bhmn,bhnc->bhmc', attn.softmax(dim=3), v).transpose(1, 2).reshape(-1, ws * ws, C)
    out = F.linear(out, p['proj.weight'], p['proj.bias'])
    out = out.reshape(B, r1, r2, ws, ws, C).permute(0, 5, 1, 3, 2, 4).reshape(B, C, H, W)
    if shift:
        out = torch.roll(out, shifts=(shift, shift), dims=(2, 3))
    return out


def _make(shift, ws=4, dim=12, heads=3, seed=0):
    torch.manual_seed(seed)
    op = ShiftedWindowAttention(dim, heads, ws, shift_size=shift)
    with torch.no_grad():
        op.relative_position_bias_table.normal_()
    return op


@pytest.mark.parametrize('shift', [0, 2])
@pytest.mark.parametrize('size', [(8, 12), (9, 6), (3, 5)])
def test_matches_reference(shift, size):
    """On the window grid: the official numerics. Off the grid: the reference on the zero-padded map
    (mask built for the padded size), cropped back. Forward and gradients."""
    op = _make(shift)
    params = {k: v.detach().clone().requires_grad_() for k, v in op.named_parameters()}
    x = torch.randn(2, *size, 12)
    x1 = x.clone().requires_grad_()
    x2 = x.permute(0, 3, 1, 2).clone().requires_grad_()
    y1 = op(x1)
    H, W = size
    padded = F.pad(x2, (0, -W % 4, 0, -H % 4))
    y2 = naive_window_attention(padded, params, 3, 4, shift)[:, :, :H, :W]
    torch.testing.assert_close(y1, y2.permute(0, 2, 3, 1), atol=1e-5, rtol=1e-5)
    w = torch.randn_like(y1)
    (y1 * w).sum().backward()
    (y2 * w.permute(0, 3, 1, 2)).sum().backward()
    torch.testing.assert_close(x1.grad, x2.grad.permute(0, 2, 3, 1), atol=1e-5, rtol=1e-5)
    for name, param in op.named_parameters():
        torch.testing.assert_close(param.grad, params[name].grad, atol=1e-5, rtol=1e-5)


def test_masks_built_per_size_not_stored():
    op = _make(2)
    op(torch.randn(1, 8, 8, 12))
    op(torch.randn(1, 5, 13, 12))
    assert {k[0] for k in op._masks} == {(8, 8), (8, 16)}
    assert set(op.state_dict()) == {'qkv.weight', 'qkv.bias', 'proj.weight', 'proj.bias',
                                    'relative_position_bias_table'}


def test_table_resize():
    small = _make(0, ws=4)
    big = _make(0, ws=6, seed=1)
    big.load_state_dict(small.state_dict())
    assert big.relative_position_bias_table.shape == (121, 3)
    expected = resize_relative_position_bias_table(small.relative_position_bias_table.detach(), 6)
    torch.testing.assert_close(big.relative_position_bias_table, expected)
    # a table that already has the right size is returned as is
    assert resize_relative_position_bias_table(expected, 6) is expected
    assert int(math.isqrt(expected.shape[0])) == 11


def test_invalid_arguments():
    with pytest.raises(ValueError, match='divisible'):
        ShiftedWindowAttention(10, 3, 4)
    with pytest.raises(ValueError, match='shift_size'):
        ShiftedWindowAttention(12, 3, 4, shift_size=4)
