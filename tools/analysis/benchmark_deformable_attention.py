"""Forward+backward time and peak memory of DAT's deformable attention: mmattn's operator vs the naive reference.

The reference is the step-by-step formulation of the official DAT v1 code (NCHW, 1x1 convolutions, einsum
attention, a materialised displacement tensor and grid-sampled bias), the same function the unit tests compare
the operator with. Both run with the same parameters on a DAT-T stage-3 layer (dim 384, 12 heads, 3 offset
groups, 5x5 offset kernel, bias table for 14x14). Each (implementation, size) runs in a fresh subprocess so that
its peak resident memory can be measured: ``ru_maxrss`` (the process high-water mark) minus the resident size
just before the first fwd+bwd step, i.e. the extra memory one training step needs (activations, gradients,
temporaries) with the default allocator. Timing: the two implementations alternate, one subprocess each per
round, and each reports its fastest timed step after the first; the table shows the minimum over rounds (the
least disturbed measurement when other processes share the cores; the load average is printed with it).

Usage::

    python tools/analysis/benchmark_deformable_attention.py [--sizes 14x14:8 50x84:1] [--rounds 3] [--repeats 2]
"""
import argparse
import json
import os
import os.path as osp
import resource
import subprocess
import sys
import time

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DAT_T_STAGE3 = dict(dim=384, num_heads=12, num_groups=3, offset_kernel_size=5, rpe_size=(14, 14))


def _rss_bytes():
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')


def run_one(impl, height, width, batch, repeats, threads):
    sys.path.insert(0, REPO)
    import torch
    torch.set_num_threads(threads)
    from mmattn.models.layers import DeformableAttention
    from tests.test_models.test_layers.test_deformable_attention import naive_deformable_attention

    torch.manual_seed(0)
    op = DeformableAttention(**DAT_T_STAGE3)
    x = torch.randn(batch, height, width, DAT_T_STAGE3['dim'])
    if impl == 'operator':
        params = list(op.parameters())

        def step():
            x_ = x.clone().requires_grad_()
            op(x_).sum().backward()
    else:
        ref = {k: v.detach().clone().requires_grad_() for k, v in op.named_parameters()}
        params = list(ref.values())
        x_nchw = x.permute(0, 3, 1, 2).contiguous()

        def step():
            x_ = x_nchw.clone().requires_grad_()
            naive_deformable_attention(x_, ref, op.num_heads, op.num_groups)[0].sum().backward()

    rss0 = _rss_bytes()
    step()  # warm-up, and the peak-memory measurement
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - rss0
    times = []
    for _ in range(repeats):
        for p in params:
            p.grad = None
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return dict(impl=impl, size=f'{height}x{width}', batch=batch, time_s=min(times), peak_mb=peak / 2**20)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--sizes', nargs='+', default=['14x14:8', '50x84:1'],
                        help='HxW:batch of the stage-3 map (50x84 is the stride-16 map of 800x1344)')
    parser.add_argument('--rounds', type=int, default=3, help='alternating rounds of both implementations')
    parser.add_argument('--repeats', type=int, default=2, help='timed fwd+bwd steps per round')
    parser.add_argument('--threads', type=int, default=2, help='torch CPU threads')
    parser.add_argument('--_worker', nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._worker:
        impl, h, w, b, r = args._worker
        print(json.dumps(run_one(impl, int(h), int(w), int(b), int(r), args.threads)))
        return
    env = dict(os.environ, PYTHONPATH=REPO)
    rows = []
    for spec in args.sizes:
        hw, batch = spec.split(':') if ':' in spec else (spec, '1')
        h, w = hw.split('x')
        res = {}
        for _ in range(args.rounds):
            for impl in ('reference', 'operator'):
                cmd = [sys.executable, osp.abspath(__file__), '--threads', str(args.threads), '--_worker', impl, h,
                       w, batch, str(args.repeats)]
                out = subprocess.run(cmd, env=env, check=True, stdout=subprocess.PIPE, text=True).stdout
                new = json.loads(out.strip().splitlines()[-1])
                old = res.setdefault(impl, new)
                old['time_s'] = min(old['time_s'], new['time_s'])
                old['peak_mb'] = max(old['peak_mb'], new['peak_mb'])
        rows.append((f'{h}x{w}', batch, res['reference'], res['operator']))
    print(f'DAT-T stage-3 deformable attention (dim 384, 12 heads, 3 groups), fwd+bwd on CPU, '
          f'{args.threads} threads, best of {args.rounds} rounds x {args.repeats} steps, peak = max over rounds; '
          f'load average {os.getloadavg()[0]:.1f}')
    print('| map | batch | reference time (s) | operator time (s) | speed-up | reference peak (MB) | '
          'operator peak (MB) | memory ratio (op/ref) |')
    print('|---|---|---|---|---|---|---|---|')
    for size, batch, ref, opr in rows:
        print(f"| {size} | {batch} | {ref['time_s']:.3f} | {opr['time_s']:.3f} | "
              f"{ref['time_s'] / opr['time_s']:.2f}x | {ref['peak_mb']:.0f} | {opr['peak_mb']:.0f} | "
              f"{opr['peak_mb'] / max(ref['peak_mb'], 1e-9):.2f} |")


if __name__ == '__main__':
    main()
