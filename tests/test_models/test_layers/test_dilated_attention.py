"""The dilated neighbourhood attention operator against the official unfold formulation, written out here."""
import pytest
import torch

from mmattn.models.layers import (MultiScaleDilatedAttention, dilated_neighbourhood_attention,
                                  packed_dilated_neighbourhood_attention)


def unfold_attention(q, k, v, kernel_size, dilation, scale):
    """DilateFormer's ``DilateAttention``: unfold k and v with zero padding, softmax over the neighbours."""
    B, h, d, H, W = q.shape
    unfold = torch.nn.Unfold(kernel_size, dilation, dilation * (kernel_size - 1) // 2, 1)
    n = kernel_size * kernel_size
    q = q.reshape(B, h, d, 1, H * W).permute(0, 1, 4, 3, 2)  # B, h, N, 1, d
    k = unfold(k.reshape(B, h * d, H, W)).reshape(B, h, d, n, H * W).permute(0, 1, 4, 2, 3)  # B, h, N, d, n
    attn = ((q @ k) * scale).softmax(dim=-1)  # B, h, N, 1, n
    v = unfold(v.reshape(B, h * d, H, W)).reshape(B, h, d, n, H * W).permute(0, 1, 4, 3, 2)  # B, h, N, n, d
    return (attn @ v).reshape(B, h, H, W, d).permute(0, 1, 4, 2, 3)


def official_msda(module, x, dilations):
    """The official ``MultiDilatelocalAttention`` (without its in-place writes), given our module's weights."""
    B, H, W, C = x.shape
    groups = len(dilations)
    qkv = module.qkv(x.permute(0, 3, 1, 2)).reshape(B, 3, groups, C // groups, H, W).permute(2, 1, 0, 3, 4, 5)
    outs = []
    for g, dilation in enumerate(dilations):
        q, k, v = (t.reshape(B, -1, module.head_dim, H, W) for t in qkv[g])
        out = unfold_attention(q, k, v, module.kernel_size, dilation, module.head_dim**-0.5)
        outs.append(out.reshape(B, C // groups, H, W).permute(0, 2, 3, 1))
    return module.proj(torch.cat(outs, dim=-1))


def max_errors(size, kernel_size, dilation, heads=2, head_dim=5, batch=2):
    torch.manual_seed(kernel_size * 100 + sum(size) + (dilation if isinstance(dilation, int) else 7))
    q, k, v = (torch.randn(batch, heads, head_dim, *size, requires_grad=True) for _ in range(3))
    scale = head_dim**-0.5
    ours = dilated_neighbourhood_attention(q, k, v, kernel_size, dilation)
    dilations = [dilation] if isinstance(dilation, int) else list(dilation)
    group = heads // len(dilations)
    reference = torch.cat([
        unfold_attention(q[:, g * group:(g + 1) * group], k[:, g * group:(g + 1) * group],
                         v[:, g * group:(g + 1) * group], kernel_size, r, scale) for g, r in enumerate(dilations)
    ], dim=1)
    grad = torch.randn_like(ours)
    ours_grads = torch.autograd.grad(ours, (q, k, v), grad)
    reference_grads = torch.autograd.grad(reference, (q, k, v), grad)
    return [(ours - reference).abs().max().item()] + [
        (a - b).abs().max().item() for a, b in zip(ours_grads, reference_grads)]


@pytest.mark.parametrize('kernel_size', [3, 5, 7])
@pytest.mark.parametrize('dilation', [1, 2, 3])
@pytest.mark.parametrize('size', [(9, 9), (7, 12), (13, 5)])
def test_matches_unfold_forward_and_gradients(kernel_size, dilation, size):
    errors = max_errors(size, kernel_size, dilation)
    assert max(errors) < 1e-5, errors


@pytest.mark.parametrize('kernel_size,dilation,size', [(3, 3, (2, 3)), (5, 2, (3, 3)), (7, 3, (4, 2)),
                                                       (3, 2, (1, 1)), (7, 1, (1, 6)), (5, 3, (6, 1))])
def test_maps_smaller_than_the_dilated_window(kernel_size, dilation, size):
    errors = max_errors(size, kernel_size, dilation)
    assert max(errors) < 1e-5, errors


def test_out_of_map_neighbours_take_part_in_the_softmax():
    # a 1x1 map with constant v: the centre gets weight e^s / (e^s + 8), not 1 (masking would give 1)
    q = torch.ones(1, 1, 4, 1, 1)
    k = torch.ones(1, 1, 4, 1, 1)
    v = torch.full((1, 1, 4, 1, 1), 3.)
    out = dilated_neighbourhood_attention(q, k, v, 3, 1, scale=0.5)
    logit = 0.5 * 4
    expected = 3. * torch.exp(torch.tensor(logit)) / (torch.exp(torch.tensor(logit)) + 8)
    assert torch.allclose(out, expected.expand_as(out))


def test_head_groups_use_their_own_dilation():
    errors = max_errors((11, 8), 3, (1, 2, 3), heads=6, head_dim=4)
    assert max(errors) < 1e-5, errors


def test_packed_entry_point_gives_the_same_values_and_gradients():
    torch.manual_seed(0)
    qkv = torch.randn(2, 3, 6, 4, 9, 14, requires_grad=True)
    packed = packed_dilated_neighbourhood_attention(qkv, 5, (1, 2, 3))
    grad = torch.randn_like(packed)
    (packed_grad, ) = torch.autograd.grad(packed, qkv, grad)
    separate = dilated_neighbourhood_attention(*qkv.unbind(1), 5, (1, 2, 3))
    (separate_grad, ) = torch.autograd.grad(separate, qkv, grad)
    assert torch.equal(packed, separate) and torch.equal(packed_grad, separate_grad)
    with pytest.raises(ValueError, match='qkv of shape'):
        packed_dilated_neighbourhood_attention(qkv[:, :2])


def test_only_requested_gradients_and_double_precision():
    q, k, v = (torch.randn(1, 2, 3, 6, 5, dtype=torch.float64) for _ in range(3))
    k.requires_grad_()
    assert torch.autograd.gradcheck(lambda k: dilated_neighbourhood_attention(q, k, v, 3, 2), (k, ))
    out = dilated_neighbourhood_attention(q, k, v, 3, 2)
    assert out.dtype == torch.float64 and out.requires_grad


@pytest.mark.parametrize('dilations', [(1, 2, 3), (2, )])
def test_multi_scale_module_matches_the_official_block(dilations):
    torch.manual_seed(0)
    module = MultiScaleDilatedAttention(48, num_heads=6 if len(dilations) == 3 else 2, dilations=dilations)
    assert module.qkv.weight.shape == (144, 48, 1, 1)
    x = torch.randn(2, 10, 13, 48, requires_grad=True)
    ours, reference = module(x), official_msda(module, x, dilations)
    assert (ours - reference).abs().max().item() < 1e-5
    grad = torch.randn_like(ours)
    params = [x, module.qkv.weight, module.proj.weight]
    for a, b in zip(torch.autograd.grad(ours, params, grad), torch.autograd.grad(reference, params, grad)):
        assert (a - b).abs().max().item() < 1e-4


def test_invalid_arguments_are_explained():
    x = torch.randn(1, 3, 4, 5, 5)
    with pytest.raises(ValueError, match='odd'):
        dilated_neighbourhood_attention(x, x, x, kernel_size=4)
    with pytest.raises(ValueError, match='split evenly'):
        dilated_neighbourhood_attention(x, x, x, dilation=(1, 2))
    with pytest.raises(ValueError, match='one shape'):
        dilated_neighbourhood_attention(x, x[..., :4], x)
    with pytest.raises(ValueError, match='multiple of the number of dilations'):
        MultiScaleDilatedAttention(32, num_heads=4)
