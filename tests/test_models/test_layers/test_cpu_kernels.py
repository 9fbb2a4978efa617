"""The compiled position-bias kernel against ``F.grid_sample`` with the explicit displacement grid."""
import pytest
import torch
import torch.nn.functional as F

from mmattn.models.layers.cpu_kernels import load_cpu_kernels


@pytest.fixture(scope='module')
def ops():
    # strict: a CI machine that cannot build the kernels fails here instead of silently using the fallback
    assert load_cpu_kernels(strict=True)
    return torch.ops.mmattn_cpu


def _inputs(dtype, N=3, C=2, Th=5, Tw=7, Nk=23, Nq=17, seed=0):
    """Positions well outside the table too (zeros), and points exactly on cells and on the last row/column."""
    gen = torch.Generator().manual_seed(seed)
    table = torch.randn(N, C, Th, Tw, generator=gen, dtype=dtype)
    pos = torch.rand(N, Nk, 2, generator=gen, dtype=dtype) * 3 - 1.5
    query = torch.rand(Nq, 2, generator=gen, dtype=dtype) - 0.5
    query[0] = 0
    pos[:, 0] = 0  # displacement 0: the table's centre cell
    pos[:, 1] = torch.tensor([-1., 1.], dtype=dtype)  # x at the last column, y at the first row
    pos[:, 2] = 5.  # all four taps outside
    return table, pos, query


def _grid_sample(table, pos, query):
    return F.grid_sample(table, query[None, :, None] - pos[:, None], mode='bilinear', padding_mode='zeros',
                         align_corners=True)


@pytest.mark.parametrize('dtype,atol', [(torch.float64, 1e-12), (torch.float32, 1e-5)])
def test_forward_and_backward_match_grid_sample(ops, dtype, atol):
    table, pos, query = _inputs(dtype)
    table.requires_grad_()
    pos.requires_grad_()
    expected = _grid_sample(table, pos, query)
    grad = torch.randn_like(expected)
    expected_dtable, expected_dpos = torch.autograd.grad(expected, (table, pos), grad)

    out = ops.sample_position_bias(table.detach(), pos.detach(), query)
    torch.testing.assert_close(out, expected.detach(), atol=atol, rtol=0)
    dtable, dpos = torch.ones_like(table), torch.ones_like(pos)  # the backward accumulates
    ops.sample_position_bias_backward(grad, table.detach(), pos.detach(), query, dtable, dpos)
    torch.testing.assert_close(dtable - 1, expected_dtable, atol=atol * 10, rtol=0)
    torch.testing.assert_close(dpos - 1, expected_dpos, atol=atol * 100, rtol=1e-6)


def test_backward_of_one_input_and_any_thread_count(ops):
    """Either gradient alone; per-thread accumulators sum to the same result with 1 and 2 threads."""
    table, pos, query = _inputs(torch.float64, N=1, C=3, Nq=40)
    grad = torch.randn(1, 3, 40, pos.shape[1], dtype=torch.float64)
    results = []
    threads = torch.get_num_threads()
    try:
        for n in (1, 2):
            torch.set_num_threads(n)
            dtable, dpos = torch.zeros_like(table), torch.zeros_like(pos)
            ops.sample_position_bias_backward(grad, table, pos, query, dtable, None)
            ops.sample_position_bias_backward(grad, table, pos, query, None, dpos)
            results.append((dtable, dpos))
    finally:
        torch.set_num_threads(threads)
    torch.testing.assert_close(results[0], results[1], atol=1e-12, rtol=0)
    expected = torch.ops.aten.grid_sampler_2d_backward(grad, table, query[None, :, None] - pos[:, None], 0, 0, True,
                                                       [True, True])
    torch.testing.assert_close(results[0][0], expected[0], atol=1e-12, rtol=0)
    torch.testing.assert_close(results[0][1], -expected[1].sum(1), atol=1e-10, rtol=0)


def test_nan_position_reads_zeros(ops):
    table, pos, query = _inputs(torch.float32)
    pos[0, 3, 0] = float('nan')
    out = ops.sample_position_bias(table, pos, query)
    assert out[0, :, :, 3].eq(0).all() and out.isfinite().all()


@pytest.mark.parametrize('bad,message', [
    (dict(table=torch.zeros(2, 5, 7)), 'table must be'),
    (dict(pos=torch.zeros(3, 23, 3)), 'pos_half must be'),
    (dict(query=torch.zeros(17, 2, dtype=torch.float64)), 'share a dtype'),
])
def test_bad_shapes_are_named(ops, bad, message):
    table, pos, query = _inputs(torch.float32)
    args = {**dict(table=table, pos=pos, query=query), **bad}
    with pytest.raises(RuntimeError, match=message):
        ops.sample_position_bias(args['table'], args['pos'], args['query'])


def test_build_failure_warns_and_falls_back(monkeypatch, tmp_path):
    """A source that does not compile: a warning naming the failure and False (strict: the error itself)."""
    import mmattn.models.layers.cpu_kernels as module
    broken = tmp_path / 'broken.cpp'
    broken.write_text('#error this kernel does not compile\n')
    monkeypatch.setattr(module, '_SOURCES', [broken])
    monkeypatch.setattr(module, '_loaded', None)
    monkeypatch.setenv('MMATTN_CACHE', str(tmp_path / 'cache'))
    with pytest.raises(RuntimeError, match='Error building extension'):
        module.load_cpu_kernels(strict=True)
    with pytest.warns(UserWarning, match='could not build the CPU kernels'):
        assert module.load_cpu_kernels() is False
    assert module.load_cpu_kernels() is False  # tried once per process


def test_compile_traces_through_the_kernels(ops):
    """Shape functions are registered: a deformable layer compiles as one graph (fullgraph) and matches eager."""
    from mmattn.models.layers import DeformableAttention
    torch.manual_seed(0)
    layer = DeformableAttention(24, 6, 3, 5, (6, 7))
    x = torch.randn(2, 6, 7, 24, requires_grad=True)
    expected = layer(x)
    expected_grad, = torch.autograd.grad(expected.sum(), x)
    torch._dynamo.reset()
    compiled = torch.compile(layer, backend='aot_eager', fullgraph=True, dynamic=False)
    out = compiled(x)
    grad, = torch.autograd.grad(out.sum(), x)
    torch.testing.assert_close(out, expected)
    torch.testing.assert_close(grad, expected_grad)
