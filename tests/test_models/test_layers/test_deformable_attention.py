"""DAT's deformable attention against a naive reference written here from the definition (official v1 layout:
NCHW, 1x1 convolutions, einsum attention, grid-sampled bias with an explicit displacement tensor)."""
import pytest
import torch

from mmattn.models.layers import DeformableAttention
from mmattn.models.layers.deformable_attention import resize_rpe_table
from reference.dat import naive_deformable_attention


def _make(dim=24, heads=6, groups=3, ksize=5, rpe_size=(6, 7), dtype=torch.float32, seed=0, **kwargs):
    torch.manual_seed(seed)
    op = DeformableAttention(dim, heads, groups, ksize, rpe_size, **kwargs).to(dtype)
    with torch.no_grad():  # larger offsets and bias than the init so that the sampling really moves
        op.offset_net.proj.weight.normal_(0, 1.)
        op.rpe_table.normal_(0, 1.)
    return op


def _compare(op, x, atol=1e-5):
    """Forward and all gradients of the operator vs the reference on the same parameters."""
    params = dict(op.named_parameters())
    ref_params = {k: v.detach().clone().requires_grad_() for k, v in params.items()}
    x1 = x.clone().requires_grad_()
    x2 = x.clone().permute(0, 3, 1, 2).contiguous().requires_grad_()
    y1, pos1, ref1 = op(x1, return_sampling=True)
    y2, pos2, ref2 = naive_deformable_attention(x2, ref_params, op.num_heads, op.num_groups)
    torch.testing.assert_close(y1, y2.permute(0, 2, 3, 1), atol=atol, rtol=1e-4)
    torch.testing.assert_close(pos1, pos2, atol=atol, rtol=0)
    torch.testing.assert_close(ref1, ref2, atol=atol, rtol=0)
    weight = torch.randn_like(y1)
    (y1 * weight).sum().backward()
    (y2 * weight.permute(0, 3, 1, 2)).sum().backward()
    torch.testing.assert_close(x1.grad, x2.grad.permute(0, 2, 3, 1), atol=atol, rtol=1e-4)
    for name, param in params.items():
        torch.testing.assert_close(param.grad, ref_params[name].grad, atol=atol, rtol=1e-4, msg=name)


MODES = {'saved': dict(), 'recomputed': dict(save_attention_limit=0), 'autograd': dict(fused=False)}


@pytest.mark.parametrize('size', [(6, 7), (5, 9), (11, 3), (1, 4)])
@pytest.mark.parametrize('mode', list(MODES))
def test_matches_reference_fp32(size, mode):
    """fp32, forward and gradients within 1e-5: the table's own size, off-size (table resized), 1-row; with the
    probabilities kept for backward, recomputed in backward, and through plain autograd."""
    op = _make(**MODES[mode])
    x = torch.randn(2, *size, 24)
    _compare(op, x)


@pytest.mark.parametrize('mode', ['saved', 'recomputed'])
def test_matches_reference_chunked(monkeypatch, mode):
    """Chunking the queries (as at detection sizes) changes nothing."""
    import mmattn.models.layers.deformable_attention as module
    monkeypatch.setattr(module, '_CHUNK_ELEMENTS', 3000)
    op = _make(**MODES[mode])
    _compare(op, torch.randn(2, 6, 7, 24))


@pytest.mark.parametrize('mode', ['saved', 'recomputed'])
def test_float64_tight(mode):
    op = _make(dtype=torch.float64, **MODES[mode])
    _compare(op, torch.randn(1, 5, 8, 24, dtype=torch.float64), atol=1e-10)


@pytest.mark.parametrize('save_probs', [True, False])
def test_gradcheck_core(save_probs):
    """The hand-written backward of the fused core against finite differences (float64)."""
    from mmattn.models.layers.deformable_attention import _DeformableAttentionCore, normalized_pixel_centers
    torch.manual_seed(0)
    B, h, g, nq, nk, d = 1, 2, 1, 6, 6, 3
    q = torch.randn(B, h, nq, d, dtype=torch.float64, requires_grad=True)
    k = torch.randn(B, h, nk, d, dtype=torch.float64, requires_grad=True)
    v = torch.randn(B, h, nk, d, dtype=torch.float64, requires_grad=True)
    table = torch.randn(B * g, h // g, 3, 5, dtype=torch.float64, requires_grad=True)
    pos = (torch.rand(B * g, nk, 2, dtype=torch.float64) * 2.4 - 1.2).requires_grad_()
    query = normalized_pixel_centers(2, 3, torch.float64, 'cpu').flip(-1).reshape(nq, 2) * 0.5
    core = lambda *a: _DeformableAttentionCore.apply(*a, query, 0.7, save_probs)  # noqa: E731
    assert torch.autograd.gradcheck(core, (q, k, v, table, pos))


def test_sampling_return_does_not_change_output():
    op = _make()
    x = torch.randn(1, 6, 7, 24)
    out = op(x)
    out2, pos, ref = op(x, return_sampling=True)
    assert torch.equal(out, out2)
    assert pos.shape == ref.shape == (1, 3, 6, 7, 2)


def test_zero_offset_conventions():
    """With zero offsets the positions are the pixel centres normalised by the size (not align_corners)."""
    op = _make()
    with torch.no_grad():
        op.offset_net.proj.weight.zero_()
    _, pos, ref = op(torch.randn(1, 4, 5, 24), return_sampling=True)
    assert torch.equal(pos, ref)
    torch.testing.assert_close(ref[0, 0, 0, 0], torch.tensor([-0.75, -0.8]))
    torch.testing.assert_close(ref[0, 0, -1, -1], torch.tensor([0.75, 0.8]))


def test_table_resize_on_load():
    """A table trained for another map size is resized bicubically when loaded."""
    src = _make(rpe_size=(4, 4))
    dst = _make(rpe_size=(6, 7), seed=1)
    dst.load_state_dict(src.state_dict())
    torch.testing.assert_close(dst.rpe_table, resize_rpe_table(src.rpe_table.detach(), (11, 13)))
    assert dst.rpe_table.shape == (6, 11, 13)


def test_cpu_autocast_bfloat16():
    """Under CPU bf16 autocast (--amp) the positions stay float32 and the output follows the fp32 one."""
    op = _make()
    x = torch.randn(2, 6, 7, 24)
    expected = op(x)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out, pos, _ = op(x, return_sampling=True)
    assert pos.dtype == torch.float32 and out.dtype == torch.bfloat16
    torch.testing.assert_close(out.float(), expected, atol=0.1, rtol=0.05)
    out.float().sum().backward()
    assert all(p.grad is not None for p in op.parameters())


@pytest.mark.parametrize('mode', ['saved', 'recomputed'])
def test_backward_twice_with_retain_graph(mode):
    op = _make(**MODES[mode])
    x = torch.randn(1, 5, 6, 24, requires_grad=True)
    y = op(x).square().sum()
    first = torch.autograd.grad(y, x, retain_graph=True)[0]
    second = torch.autograd.grad(y, x)[0]
    torch.testing.assert_close(first, second)


@pytest.mark.parametrize('mode', ['saved', 'recomputed'])
def test_matches_reference_without_compiled_kernels(monkeypatch, mode):
    """Where the CPU kernels cannot be built, the ATen fallback (grid_sample) gives the same results."""
    import mmattn.models.layers.deformable_attention as module
    monkeypatch.setattr(module, 'load_cpu_kernels', lambda: False)
    _compare(_make(**MODES[mode]), torch.randn(2, 5, 9, 24))
