"""Forward+backward time and peak memory of mmattn's dilated attention against the official unfold formulation.

    python tools/analysis/benchmark_dilated_attention.py [--shapes 200x336 56x56] [--channels 72] [--heads 3]
        [--batch 2] [--repeats 5] [--threads 2]

Both sides compute DilateFormer's multi-scale dilated attention core (kernel 3, the heads split over dilations
1/2/3, zero-padded neighbours inside the softmax) from the same q/k/v tensor, as the 1x1 qkv projection
produces it (``(B, 3, heads, head_dim, H, W)``, requires grad), then backpropagate a fixed upstream gradient
into it. The projections around the core are identical in both models and are left out.

* ``unfold``: the official ``DilateAttention`` per dilation group (``nn.Unfold`` on k and v, 5-D matmuls,
  softmax), outputs concatenated: ``reference.dilateformer.unfold_msda``, the formulation the parity tests use.
* ``mmattn``: :func:`mmattn.models.layers.packed_dilated_neighbourhood_attention`, as
  ``MultiScaleDilatedAttention`` calls it (shifted views, no unfolded copies, hand-written backward).

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

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))  # reference/ of the checkout
from mmattn.models.layers import packed_dilated_neighbourhood_attention  # noqa: E402
from mmattn.utils.benchmark import interleaved_median_times, peak_cpu_bytes  # noqa: E402
from reference.dilateformer import DILATIONS, KERNEL_SIZE, unfold_msda  # noqa: E402


def mmattn_msda(qkv: torch.Tensor) -> torch.Tensor:
    out = packed_dilated_neighbourhood_attention(qkv, KERNEL_SIZE, DILATIONS)  # B, heads, d, H, W
    B, heads, d, H, W = out.shape
    return out.view(B, heads * d, H, W).permute(0, 2, 3, 1)  # B, H, W, C (a view)


OPERATORS = {'unfold': unfold_msda, 'mmattn': mmattn_msda}


def forward_backward(operator, qkv, grad):
    qkv.grad = None
    operator(qkv).backward(grad)


def benchmark(shape, channels, heads, batch, repeats):
    H, W = shape
    torch.manual_seed(0)
    qkv = torch.randn(batch, 3, heads, channels // heads, H, W, requires_grad=True)
    grad = torch.randn(batch, H, W, channels)
    # same numbers first
    outputs, grads = {}, {}
    for name, operator in OPERATORS.items():
        forward_backward(operator, qkv, grad)
        outputs[name], grads[name] = operator(qkv).detach(), qkv.grad.clone()
    error = max((outputs['unfold'] - outputs['mmattn']).abs().max().item(),
                (grads['unfold'] - grads['mmattn']).abs().max().item())
    del outputs, grads
    calls = {name: functools.partial(forward_backward, operator, qkv, grad) for name, operator in OPERATORS.items()}
    times = interleaved_median_times(calls, repeats)
    memory = {}
    for name, call in calls.items():
        qkv.grad = None
        memory[name] = peak_cpu_bytes(call)
    return {name: (times[name], memory[name]) for name in OPERATORS}, error


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--shapes', nargs='+', default=['200x336', '56x56'], help='HxW maps')
    parser.add_argument('--channels', type=int, default=72)
    parser.add_argument('--heads', type=int, default=3)
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--threads', type=int, default=None, help='torch threads (default: torch default)')
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads, kernel {KERNEL_SIZE}, dilations '
          f'{list(DILATIONS)}, fp32, batch {args.batch}, {args.channels} channels, {args.heads} heads, '
          f'median of {args.repeats}')
    print('| map | unfold fwd+bwd | mmattn fwd+bwd | speed-up | unfold peak | mmattn peak | memory ratio | '
          'max abs diff |')
    print('|---|---|---|---|---|---|---|---|')
    for text in args.shapes:
        shape = tuple(int(s) for s in text.lower().split('x'))
        results, error = benchmark(shape, args.channels, args.heads, args.batch, args.repeats)
        (t_ref, m_ref), (t_ours, m_ours) = results['unfold'], results['mmattn']
        print(f'| {shape[0]}x{shape[1]} | {t_ref * 1e3:.1f} ms | {t_ours * 1e3:.1f} ms | {t_ref / t_ours:.2f}x | '
              f'{m_ref / 2**20:.1f} MiB | {m_ours / 2**20:.1f} MiB | {m_ours / m_ref:.2f}x | {error:.1e} |',
              flush=True)


if __name__ == '__main__':
    main()
