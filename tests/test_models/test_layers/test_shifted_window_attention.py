"""Window attention with relative-position bias and shift masks against a naive reference of DAT v1's
LocalAttention / ShiftWindowAttention (NCHW, fixed-size mask built from the three Swin regions, -100 fill)."""
import math

import pytest
import torch
import torch.nn.functional as F

from mmattn.models.layers import ShiftedWindowAttention
from mmattn.models.layers.shifted_window_attention import resize_relative_position_bias_table
from reference.dat import naive_window_attention


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
