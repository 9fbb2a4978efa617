"""Forward+backward time and peak memory of DAT's deformable attention: mmattn's operator vs the naive reference.

The reference is the step-by-step formulation of the official DAT v1 code (NCHW, 1x1 convolutions, einsum
attention, a materialised displacement tensor and grid-sampled bias), the same function the unit tests compare
the operator with. Both run with the same parameters on a DAT-T stage-3 layer (dim 384, 12 heads, 3 offset
groups, 5x5 offset kernel, bias table for 14x14), from the normalised block input to the gradients of the input
and of every parameter.

Two modes:

* ``interleaved`` (default, the house method of docs/benchmarks.md): one process, the two implementations
  called alternately (median time, ``mmattn.utils.benchmark.interleaved_median_times``); peak memory is the
  maximum of the bytes held by tensors created during one step, from torch's allocator records
  (``peak_cpu_bytes``); outputs and gradients are compared in the same run.
* ``isolated``: each implementation in its own fresh subprocess per round, alternating; time is the fastest
  step; peak memory is ``ru_maxrss`` minus the resident size before the first step (what the step adds to the
  process, allocator effects included).

Usage::

    python tools/analysis/benchmark_deformable_attention.py [--sizes 14x14:8 50x84:1] [--threads 1]
        [--repeats 5] [--mode interleaved|isolated] [--rounds 3]
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


def make_steps(height, width, batch):
    """Both implementations on the same parameters and input: ``{name: step}`` plus a result getter."""
    sys.path.insert(0, REPO)
    import torch
    from mmattn.models.layers import DeformableAttention
    from reference.dat import naive_deformable_attention

    torch.manual_seed(0)
    op = DeformableAttention(**DAT_T_STAGE3)
    x = torch.randn(batch, height, width, DAT_T_STAGE3['dim'])
    ref_params = {k: v.detach().clone().requires_grad_() for k, v in op.named_parameters()}
    x_nchw = x.permute(0, 3, 1, 2).contiguous()
    upstream = torch.randn(batch, height, width, DAT_T_STAGE3['dim'])
    results = {}

    def operator():
        for p in op.parameters():
            p.grad = None
        x_ = x.clone().requires_grad_()
        y = op(x_)
        y.backward(upstream)
        results['operator'] = (y.detach(), x_.grad, {k: p.grad for k, p in op.named_parameters()})

    def reference():
        for p in ref_params.values():
            p.grad = None
        x_ = x_nchw.clone().requires_grad_()
        y = naive_deformable_attention(x_, ref_params, op.num_heads, op.num_groups)[0]
        y.backward(upstream.permute(0, 3, 1, 2))
        results['reference'] = (y.detach().permute(0, 2, 3, 1), x_.grad.permute(0, 2, 3, 1),
                                {k: p.grad for k, p in ref_params.items()})

    def max_abs_diff():
        (y1, g1, p1), (y2, g2, p2) = results['operator'], results['reference']
        diffs = [(y1 - y2).abs().max(), (g1 - g2).abs().max()] + [(p1[k] - p2[k]).abs().max() for k in p1]
        return float(max(diffs))

    return {'reference': reference, 'operator': operator}, max_abs_diff


def run_isolated_worker(impl, height, width, batch, repeats):
    steps, _ = make_steps(height, width, batch)
    step = steps[impl]
    rss0 = _rss_bytes()
    step()  # warm-up, and the peak-memory measurement
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - rss0
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return dict(time_s=min(times), peak_mb=peak / 2**20)


def measure_interleaved(height, width, batch, repeats):
    from mmattn.utils.benchmark import interleaved_median_times, peak_cpu_bytes
    steps, max_abs_diff = make_steps(height, width, batch)
    times = interleaved_median_times(steps, repeats)
    peaks = {name: peak_cpu_bytes(step) for name, step in steps.items()}
    diff = max_abs_diff()
    return {name: dict(time_s=times[name], peak_mb=peaks[name] / 2**20) for name in steps}, diff


def measure_isolated(spec, args):
    h, w, batch = spec
    res = {}
    env = dict(os.environ, PYTHONPATH=REPO)
    for _ in range(args.rounds):
        for impl in ('reference', 'operator'):
            cmd = [sys.executable, osp.abspath(__file__), '--threads', str(args.threads), '--_worker', impl,
                   str(h), str(w), str(batch), str(args.repeats)]
            out = subprocess.run(cmd, env=env, check=True, stdout=subprocess.PIPE, text=True).stdout
            new = json.loads(out.strip().splitlines()[-1])
            old = res.setdefault(impl, new)
            old['time_s'] = min(old['time_s'], new['time_s'])
            old['peak_mb'] = max(old['peak_mb'], new['peak_mb'])
    return res, None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--sizes', nargs='+', default=['14x14:8', '50x84:1'],
                        help='HxW:batch of the stage-3 map (50x84 is the stride-16 map of 800x1344)')
    parser.add_argument('--mode', choices=['interleaved', 'isolated'], default='interleaved')
    parser.add_argument('--repeats', type=int, default=5, help='timed fwd+bwd steps per implementation (per round)')
    parser.add_argument('--rounds', type=int, default=3, help='isolated mode: alternating subprocess rounds')
    parser.add_argument('--threads', type=int, default=1, help='torch CPU threads')
    parser.add_argument('--_worker', nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    import torch
    torch.set_num_threads(args.threads)
    if args._worker:
        impl, h, w, b, r = args._worker
        print(json.dumps(run_isolated_worker(impl, int(h), int(w), int(b), int(r))))
        return
    sys.path.insert(0, REPO)
    rows = []
    for text in args.sizes:
        hw, batch = text.split(':') if ':' in text else (text, '1')
        h, w = (int(v) for v in hw.split('x'))
        if args.mode == 'interleaved':
            res, diff = measure_interleaved(h, w, int(batch), args.repeats)
        else:
            res, diff = measure_isolated((h, w, int(batch)), args)
        rows.append((f'{h}x{w}', batch, res['reference'], res['operator'], diff))
    how = (f'median of {args.repeats} interleaved steps, peak from torch allocator records' if args.mode ==
           'interleaved' else f'fastest of {args.rounds} subprocess rounds x {args.repeats} steps, peak RSS')
    print(f'DAT-T stage-3 deformable attention (dim 384, 12 heads, 3 groups), fwd+bwd on CPU, {args.threads} '
          f'thread(s), {args.mode}: {how}; load average {os.getloadavg()[0]:.1f}')
    print('| map | batch | reference fwd+bwd | operator fwd+bwd | speed-up | reference peak | operator peak | '
          'memory ratio | max abs diff |')
    print('|---|---|---|---|---|---|---|---|---|')
    for size, batch, ref, opr, diff in rows:
        print(f"| {size} | {batch} | {ref['time_s'] * 1e3:.0f} ms | {opr['time_s'] * 1e3:.0f} ms | "
              f"{ref['time_s'] / opr['time_s']:.2f}x | {ref['peak_mb']:.0f} MiB | {opr['peak_mb']:.0f} MiB | "
              f"{opr['peak_mb'] / max(ref['peak_mb'], 1e-9):.2f}x | "
              f"{'-' if diff is None else f'{diff:.1e}'} |")


if __name__ == '__main__':
    main()
