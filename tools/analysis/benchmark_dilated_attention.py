"""Forward+backward time and peak memory of mmattn's neighbourhood attention operator against unfold formulations.

    python tools/analysis/benchmark_dilated_attention.py [--mode msda] [--shapes 200x336 56x56] [--channels 72]
        [--heads 3] [--batch 2] [--repeats 5] [--threads 2]

Both sides compute the same attention core from the same q/k/v tensor, as the qkv projection produces it
(``(B, 3, heads, head_dim, H, W)``, requires grad), then backpropagate a fixed upstream gradient into it (and
into the bias table, where there is one). The projections around the core are identical in both models and are
left out. ``--mode`` picks the core:

* ``msda`` (default; DilateFormer-T/S stage 1: 72 channels, 3 heads): kernel 3, the heads split over dilations
  1/2/3, zero-padded neighbours inside the softmax.

  * ``unfold``: the official ``DilateAttention`` per dilation group (``nn.Unfold`` on k and v, 5-D matmuls,
    softmax), outputs concatenated: ``reference.dilateformer.unfold_msda``, the formulation the parity tests use.
  * ``mmattn``: :func:`mmattn.models.layers.packed_dilated_neighbourhood_attention`, as
    ``MultiScaleDilatedAttention`` calls it (shifted views, no unfolded copies, hand-written backward).

* ``natten`` (DAT-T++ stage 1: 64 channels, 2 heads): NATTEN's neighbourhood attention, kernel 7, windows
  shifted inwards at the borders, relative-position bias table ``(heads, 13, 13)`` added to the scaled logits.

  * ``unfold``: the windows of k and v as an unfold without padding (one per window position), gathered per
    query at its clamped window start, and the bias gathered the same way; 5-D matmuls, softmax.
  * ``mmattn``: ``packed_dilated_neighbourhood_attention(..., border='shift', rpb=...)``, as
    ``NeighbourhoodAttention`` calls it.

Time: the median wall time of ``--repeats`` forward+backward passes after one warm-up, the two operators
interleaved so that load from other processes affects both alike.

Peak memory: one extra forward+backward pass per operator under ``torch.profiler`` with
``profile_memory=True``, which records every allocation and free of torch's CPU allocator (no caching on CPU:
each is a real malloc/free). The running sum of those records, in order, is the memory held by tensors created
during the pass (activations saved for backward, temporaries, outputs, input gradients); its maximum is the
peak reported. Inputs and the upstream gradient exist before the pass and are not counted.
"""
import argparse
import functools
import os.path as osp
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))  # reference/ of the checkout
from mmattn.models.layers import packed_dilated_neighbourhood_attention  # noqa: E402
from mmattn.utils.benchmark import interleaved_median_times, peak_cpu_bytes  # noqa: E402
from reference.dilateformer import DILATIONS, KERNEL_SIZE, unfold_msda  # noqa: E402

NA_KERNEL_SIZE = 7


def mmattn_msda(qkv: torch.Tensor) -> torch.Tensor:
    out = packed_dilated_neighbourhood_attention(qkv, KERNEL_SIZE, DILATIONS)  # B, heads, d, H, W
    B, heads, d, H, W = out.shape
    return out.view(B, heads * d, H, W).permute(0, 2, 3, 1)  # B, H, W, C (a view)


def unfold_natten(qkv: torch.Tensor, rpb: torch.Tensor) -> torch.Tensor:
    """NATTEN's neighbourhood attention (dilation 1) with unfolded copies of the windows of k and v."""
    B, _, heads, d, H, W = qkv.shape
    K = NA_KERNEL_SIZE
    n = K * K
    # each query's window starts at its position minus K // 2, clamped so that the window stays inside
    rows, cols = ((torch.arange(L) - K // 2).clamp(0, L - K) for L in (H, W))
    window = (rows[:, None] * (W - K + 1) + cols[None, :]).flatten()  # per query, its unfolded window
    q, k, v = qkv.unbind(1)
    q = q.reshape(B, heads, d, 1, H * W).permute(0, 1, 4, 3, 2) * d**-0.5  # B, h, N, 1, d

    def windows(x):  # B, h, d, n, N
        return F.unfold(x.reshape(B, heads * d, H, W), K).reshape(B, heads, d, n, -1)[..., window]

    k = windows(k).permute(0, 1, 4, 2, 3)  # B, h, N, d, n
    # bias index: the key's offset from the query plus K - 1, per axis
    offsets = torch.arange(K)
    bias_rows, bias_cols = ((starts[:, None] + offsets - torch.arange(L)[:, None] + K - 1)
                            for starts, L in ((rows, H), (cols, W)))
    bias = rpb[:, bias_rows[:, None, :, None], bias_cols[None, :, None, :]].reshape(heads, H * W, 1, n)
    attn = (q @ k + bias).softmax(dim=-1)
    v = windows(v).permute(0, 1, 4, 3, 2)  # B, h, N, n, d
    return (attn @ v).transpose(1, 2).reshape(B, H, W, heads * d)


def mmattn_natten(qkv: torch.Tensor, rpb: torch.Tensor) -> torch.Tensor:
    out = packed_dilated_neighbourhood_attention(qkv, NA_KERNEL_SIZE, border='shift', rpb=rpb)
    B, heads, d, H, W = out.shape
    return out.view(B, heads * d, H, W).permute(0, 2, 3, 1)


# per mode: the operators (taking the qkv tensor, and the bias table where there is one) and the defaults
MODES = {
    'msda': dict(operators={'unfold': unfold_msda, 'mmattn': mmattn_msda}, channels=72, heads=3, bias=False,
                 title=f'kernel {KERNEL_SIZE}, dilations {list(DILATIONS)}'),
    'natten': dict(operators={'unfold': unfold_natten, 'mmattn': mmattn_natten}, channels=64, heads=2, bias=True,
                   title=f'NATTEN windows, kernel {NA_KERNEL_SIZE}, relative-position bias'),
}


def forward_backward(operator, inputs, grad):
    for x in inputs:
        x.grad = None
    operator(*inputs).backward(grad)


def benchmark(mode, shape, channels, heads, batch, repeats):
    H, W = shape
    torch.manual_seed(0)
    operators = MODES[mode]['operators']
    inputs = [torch.randn(batch, 3, heads, channels // heads, H, W, requires_grad=True)]
    if MODES[mode]['bias']:
        inputs.append((torch.randn(heads, 2 * NA_KERNEL_SIZE - 1, 2 * NA_KERNEL_SIZE - 1) * .02).requires_grad_())
    grad = torch.randn(batch, H, W, channels)
    # same numbers first
    results = {}
    for name, operator in operators.items():
        forward_backward(operator, inputs, grad)
        results[name] = [operator(*inputs).detach()] + [x.grad.clone() for x in inputs]
    error = max((a - b).abs().max().item() for a, b in zip(results['unfold'], results['mmattn']))
    del results
    calls = {name: functools.partial(forward_backward, operator, inputs, grad) for name, operator in operators.items()}
    times = interleaved_median_times(calls, repeats)
    memory = {}
    for name, call in calls.items():
        for x in inputs:
            x.grad = None
        memory[name] = peak_cpu_bytes(call)
    return {name: (times[name], memory[name]) for name in operators}, error


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--mode', choices=list(MODES), default='msda',
                        help="msda: DilateFormer's dilated attention; natten: DAT++'s neighbourhood attention")
    parser.add_argument('--shapes', nargs='+', default=['200x336', '56x56'], help='HxW maps')
    parser.add_argument('--channels', type=int, default=None, help='default: 72 (msda), 64 (natten)')
    parser.add_argument('--heads', type=int, default=None, help='default: 3 (msda), 2 (natten)')
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--threads', type=int, default=None, help='torch threads (default: torch default)')
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    mode = MODES[args.mode]
    channels, heads = args.channels or mode['channels'], args.heads or mode['heads']
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {mode['title']}, fp32, batch "
          f'{args.batch}, {channels} channels, {heads} heads, median of {args.repeats}')
    print('| map | unfold fwd+bwd | mmattn fwd+bwd | speed-up | unfold peak | mmattn peak | memory ratio | '
          'max abs diff |')
    print('|---|---|---|---|---|---|---|---|')
    for text in args.shapes:
        shape = tuple(int(s) for s in text.lower().split('x'))
        results, error = benchmark(args.mode, shape, channels, heads, args.batch, args.repeats)
        (t_ref, m_ref), (t_ours, m_ours) = results['unfold'], results['mmattn']
        print(f'| {shape[0]}x{shape[1]} | {t_ref * 1e3:.1f} ms | {t_ours * 1e3:.1f} ms | {t_ref / t_ours:.2f}x | '
              f'{m_ref / 2**20:.1f} MiB | {m_ours / 2**20:.1f} MiB | {m_ours / m_ref:.2f}x | {error:.1e} |',
              flush=True)


if __name__ == '__main__':
    main()
