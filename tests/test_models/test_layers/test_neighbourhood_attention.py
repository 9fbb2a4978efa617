"""NATTEN-style neighbourhood attention (``border='shift'`` with a bias table) against reference/natten.py."""
import pytest
import torch
import torch.nn.functional as F

from mmattn.models.layers import (NeighbourhoodAttention, dilated_neighbourhood_attention,
                                  packed_dilated_neighbourhood_attention)
from reference.natten import naive_av, naive_neighbourhood_attention, naive_qk_rpb, window_indices


def to_natten(x):
    """(B, heads, head_dim, H, W) -> NATTEN's (B, heads, H, W, head_dim)."""
    return x.permute(0, 1, 3, 4, 2)


def random_inputs(size, kernel_size, heads=2, head_dim=3, batch=2, seed=0):
    generator = torch.Generator().manual_seed(seed)
    q, k, v = (torch.randn(batch, heads, head_dim, *size, generator=generator, dtype=torch.float64,
                           requires_grad=True) for _ in range(3))
    rpb = torch.randn(heads, 2 * kernel_size - 1, 2 * kernel_size - 1, generator=generator, dtype=torch.float64,
                      requires_grad=True)
    return q, k, v, rpb


def test_reference_windows_by_hand():
    # length 5, kernel 3: the border queries share the first / last window; the bias index is key - query + 2
    keys, bias = window_indices(5, 3)
    assert keys.tolist() == [[0, 1, 2], [0, 1, 2], [1, 2, 3], [2, 3, 4], [2, 3, 4]]
    assert bias.tolist() == [[2, 3, 4], [1, 2, 3], [1, 2, 3], [1, 2, 3], [0, 1, 2]]
    # dilation 2 on length 7: even queries see {0, 2, 4, 6}, odd ones {1, 3, 5}; offsets count in steps of 2
    keys, bias = window_indices(7, 3, 2)
    assert keys.tolist() == [[0, 2, 4], [1, 3, 5], [0, 2, 4], [1, 3, 5], [2, 4, 6], [1, 3, 5], [2, 4, 6]]
    assert bias.tolist() == [[2, 3, 4], [2, 3, 4], [1, 2, 3], [1, 2, 3], [1, 2, 3], [0, 1, 2], [0, 1, 2]]
    with pytest.raises(ValueError, match='shorter than kernel_size'):
        window_indices(5, 3, 2)


@pytest.mark.parametrize('kernel_size,dilation,size', [(7, 1, (7, 7)), (7, 1, (9, 13)), (3, 1, (10, 5)),
                                                       (5, 2, (11, 10)), (3, 3, (9, 14)), (3, (1, 2), (7, 9))])
def test_matches_naive_reference_values_and_gradients(kernel_size, dilation, size):
    q, k, v, rpb = random_inputs(size, kernel_size)
    ours = dilated_neighbourhood_attention(q, k, v, kernel_size, dilation, border='shift', rpb=rpb)
    dilations = [dilation] if isinstance(dilation, int) else list(dilation)
    group = q.shape[1] // len(dilations)
    reference = torch.cat([
        naive_neighbourhood_attention(*(to_natten(x[:, g * group:(g + 1) * group]) for x in (q, k, v)),
                                      rpb[g * group:(g + 1) * group], kernel_size, d) for g, d in enumerate(dilations)
    ], dim=1).permute(0, 1, 4, 2, 3)
    assert (ours - reference).abs().max().item() < 1e-12
    grad = torch.randn_like(ours)
    for a, b in zip(torch.autograd.grad(ours, (q, k, v, rpb), grad),
                    torch.autograd.grad(reference, (q, k, v, rpb), grad)):
        assert (a - b).abs().max().item() < 1e-12


def test_packed_entry_point_and_optional_bias():
    q, k, v, rpb = random_inputs((8, 9), 5)
    qkv = torch.stack([q, k, v], dim=1).detach().requires_grad_()
    packed = packed_dilated_neighbourhood_attention(qkv, 5, border='shift', rpb=rpb)
    grad = torch.randn_like(packed)
    packed_grads = torch.autograd.grad(packed, (qkv, rpb), grad)
    separate = dilated_neighbourhood_attention(*qkv.unbind(1), 5, border='shift', rpb=rpb)
    separate_grads = torch.autograd.grad(separate, (qkv, rpb), grad)
    assert torch.equal(packed, separate)
    assert all(torch.equal(a, b) for a, b in zip(packed_grads, separate_grads))
    # no bias: plain neighbourhood attention
    unbiased = dilated_neighbourhood_attention(q, k, v, 5, border='shift')
    reference = naive_neighbourhood_attention(*map(to_natten, (q, k, v)), None, 5).permute(0, 1, 4, 2, 3)
    assert (unbiased - reference).abs().max().item() < 1e-12


def official_layer(module, x):
    """The official DAT++ ``NeighborhoodAttention2D.forward`` (NATTEN 0.14 API) on channels-last input, with
    NATTEN replaced by the naive reference."""
    B, H, W, C = x.shape
    window = module.kernel_size * module.dilation
    x = F.pad(x, (0, 0, 0, max(0, window - W), 0, max(0, window - H)))  # before the projection
    Hp, Wp = x.shape[1:3]
    qkv = module.qkv(x).reshape(B, Hp, Wp, 3, module.num_heads, module.head_dim).permute(3, 0, 4, 1, 2, 5)
    q, k, v = qkv[0] * module.scale, qkv[1], qkv[2]
    attn = naive_qk_rpb(q, k, module.rpb, module.kernel_size, module.dilation).softmax(dim=-1)
    out = naive_av(attn, v, module.kernel_size, module.dilation).permute(0, 2, 3, 1, 4).reshape(B, Hp, Wp, C)
    return module.proj(out[:, :H, :W]), attn[:, :, :H, :W].permute(0, 1, 4, 2, 3)


@pytest.mark.parametrize('size,dilation', [((9, 11), 1), ((4, 6), 1), ((3, 10), 1), ((8, 7), 2)])
def test_module_matches_the_official_layer(size, dilation):
    torch.manual_seed(0)
    module = NeighbourhoodAttention(12, num_heads=2, kernel_size=5, dilation=dilation).double()
    x = torch.randn(2, *size, 12, dtype=torch.float64, requires_grad=True)
    ours = module(x)
    reference, reference_attn = official_layer(module, x)
    assert ours.shape == x.shape and (ours - reference).abs().max().item() < 1e-12
    assert (module.attention_weights(x) - reference_attn).abs().max().item() < 1e-12
    grad = torch.randn_like(ours)
    params = [x, module.qkv.weight, module.qkv.bias, module.rpb, module.proj.weight]
    for a, b in zip(torch.autograd.grad(ours, params, grad), torch.autograd.grad(reference, params, grad)):
        assert (a - b).abs().max().item() < 1e-12


def test_module_parameters_follow_the_official_keys_and_init():
    torch.manual_seed(0)
    module = NeighbourhoodAttention(64, num_heads=2)
    shapes = {name: tuple(p.shape) for name, p in module.state_dict().items()}
    assert shapes == {'qkv.weight': (192, 64), 'qkv.bias': (192, ), 'rpb': (2, 13, 13), 'proj.weight': (64, 64),
                      'proj.bias': (64, )}
    assert 0.015 < module.rpb.std().item() < 0.025 and module.rpb.abs().max().item() < 0.2
    assert 'qkv.bias' not in NeighbourhoodAttention(8, num_heads=2, kernel_size=3, qkv_bias=False).state_dict()
    # the default fp32 module (kernel 7) on a map smaller than its window, against the reference in fp32
    x = torch.randn(1, 5, 8, 64)
    assert (module(x) - official_layer(module, x)[0]).abs().max().item() < 1e-5


def test_invalid_arguments_are_explained():
    q, k, v, rpb = random_inputs((7, 7), 3)
    with pytest.raises(ValueError, match="border must be one of"):
        dilated_neighbourhood_attention(q, k, v, border='reflect')
    with pytest.raises(ValueError, match="only defined for border='shift'"):
        dilated_neighbourhood_attention(q, k, v, rpb=rpb)
    with pytest.raises(ValueError, match=r'rpb must have shape .* \(2, 5, 5\)'):
        dilated_neighbourhood_attention(q, k, v, 3, border='shift', rpb=rpb[:, :4])
    with pytest.raises(ValueError, match=r'at least kernel_size \* dilation = 3 \* 3'):
        dilated_neighbourhood_attention(q, k, v, 3, 3, border='shift')
    with pytest.raises(ValueError, match='not divisible by num_heads'):
        NeighbourhoodAttention(10, num_heads=3)
    with pytest.raises(ValueError, match='positive odd'):
        NeighbourhoodAttention(8, num_heads=2, kernel_size=6)
    with pytest.raises(ValueError, match='dilation must be a positive int'):
        NeighbourhoodAttention(8, num_heads=2, dilation=0)
    with pytest.raises(ValueError, match='attn_drop must be 0'):
        NeighbourhoodAttention(8, num_heads=2, attn_drop=0.1)
    with pytest.raises(ValueError, match=r'\(B, H, W, C\)'):
        NeighbourhoodAttention(8, num_heads=2)(torch.randn(2, 8, 8))
