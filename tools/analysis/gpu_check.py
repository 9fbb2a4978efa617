"""The prepared GPU session of issue 9: parity on the card, then the benchmark rows, written into the docs.

    python tools/analysis/gpu_check.py [--device cuda] [--models davit dilateformer dat datpp] [--quick]
        [--skip-rows] [--skip-compile] [--only TEXT ...] [--write-docs docs/benchmarks.md] [--json OUT]

1. Parity: each backbone's classifier (logits) forward and backward (the gradients of the input and of every
   parameter) on the device in float64 and float32 (TF32 off) against the CPU in float64, same weights and
   input; the largest difference relative to the largest value must stay under 1e-9 (float64) and 1e-3
   (float32). Exit status 1 if any fails.
2. Rows: ``tools/analysis/benchmark.py`` against timm / the official formulations on the device, most
   important first (fp32 at 224 and 800x1344, training and inference; AMP inference against the reference's
   fp32; compiled), each written into the ``gpu-check`` section of ``--write-docs`` as soon as it is measured,
   so that a session cut short still leaves its rows. The section names the card.

``--quick`` (plumbing check, e.g. ``--device cpu`` in the tests): 32x32 parity, batch 1, one timed step, 32x32
rows; ``--only`` picks rows by title (e.g. ``--only '800x1344 train'``).
"""
import argparse
import datetime
import json
import os.path as osp
import sys

import torch
from mmengine.config import Config

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import benchmark  # noqa: E402  (its imports apply mmattn.compat)

MODELS = {  # name: (classification config, dense config, reference)
    'davit': ('configs/davit/davit-tiny_in1k.py', 'configs/davit/mask-rcnn_davit-tiny_fpn_ms-crop-1x_coco.py',
              'timm'),
    'dilateformer': ('configs/dilateformer/dilateformer-tiny_in1k.py',
                     'configs/dilateformer/mask-rcnn_dilateformer-tiny_fpn_ms-crop-1x_coco.py', 'official'),
    'dat': ('configs/dat/dat-tiny_in1k.py', 'configs/dat/mask-rcnn_dat-tiny_fpn_ms-crop-1x_coco.py', 'official'),
    'datpp': ('configs/datpp/datpp-tiny_in1k.py', None, None),  # no reference formulation: parity only
}
TOLERANCE = {torch.float64: 1e-9, torch.float32: 1e-3}
BEGIN, END = '<!-- gpu-check:begin -->', '<!-- gpu-check:end -->'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Parity on the GPU, then the issue 9 rows, into the docs')
    parser.add_argument('--device', default='cuda', choices=['cuda', 'cpu'], help='Defaults to cuda')
    parser.add_argument('--models', nargs='+', choices=sorted(MODELS), default=sorted(MODELS),
                        help='Defaults to all')
    parser.add_argument('--quick', action='store_true', help='tiny inputs and one step: a plumbing check')
    parser.add_argument('--skip-rows', action='store_true', help='parity only')
    parser.add_argument('--skip-compile', action='store_true', help='no torch.compile rows')
    parser.add_argument('--only', nargs='+', metavar='TEXT', help='only the rows whose title contains one of these')
    parser.add_argument('--write-docs', metavar='MD', help='write the rows into this file\'s gpu-check section')
    parser.add_argument('--json', metavar='OUT', help='also write parity and rows to this JSON file')
    args = parser.parse_args(argv)
    if args.device == 'cuda' and not torch.cuda.is_available():
        parser.error('--device cuda: no CUDA device is available (use --device cpu --quick for a dry run)')
    return args


def _forward_backward(forward, model, x, weights):
    """Outputs, input gradient and parameter gradients of ``sum(outputs * weights)``."""
    x = x.clone().requires_grad_()
    model.zero_grad(set_to_none=True)
    outs = benchmark.as_tuple(forward(x))
    sum((o * w).sum() for o, w in zip(outs, weights)).backward()
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in model.parameters()]
    return [o.detach() for o in outs] + [x.grad] + grads


def parity(name, device, quick):
    """Max relative difference of outputs and gradients on ``device`` (float64 and float32) vs CPU float64."""
    cfg = Config.fromfile(MODELS[name][0])
    model = benchmark.build_model(cfg).eval()  # eval: no drop path, the same function on both sides
    forward = benchmark.subject(model, 'classification')
    size = 32 if quick else 224
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(1 if quick else 2, 3, size, size, generator=gen, dtype=torch.float64)
    model.double()
    weights = [torch.randn(o.shape, generator=gen, dtype=torch.float64)
               for o in benchmark.as_tuple(forward(x))]
    expected = _forward_backward(forward, model, x, weights)
    scale = max(t.abs().max().item() for t in expected) or 1.
    result = {}
    for dtype in (torch.float64, torch.float32):
        model.to(device=device, dtype=dtype)
        got = _forward_backward(forward, model, x.to(device, dtype), [w.to(device, dtype) for w in weights])
        diff = max((g.double().cpu() - e).abs().max().item() for g, e in zip(got, expected)) / scale
        result[str(dtype).replace('torch.', '')] = dict(max_rel_diff=diff, ok=diff < TOLERANCE[dtype])
    return result


def row_commands(models, quick, skip_compile):
    """``(title, benchmark.py arguments)``, most important first."""
    shape = ['--shape', '32'] if quick else []
    batch = ['--batch', '1'] if quick else ['--batch', '32']
    steps = ['--repeats', '1', '--warmup', '0'] if quick else ['--repeats', '10', '--warmup', '3']
    rows = []
    for mode in ('train', 'infer'):
        for name in models:
            cls, dense, ref = MODELS[name]
            if ref:
                rows.append((f'{name} 224 {mode}', [cls, '--mode', mode, '--compare', ref, *batch, *shape, *steps]))
        for name in models:
            cls, dense, ref = MODELS[name]
            if ref:
                rows.append((f'{name} 800x1344 {mode}', [dense, '--mode', mode, '--compare', ref, '--batch', '1',
                                                          *shape, *steps]))
    for name in models:
        cls, _, ref = MODELS[name]
        if ref:
            rows.append((f'{name} 224 amp infer', [cls, '--amp', '--reference-fp32', '--compare', ref, *batch,
                                                   *shape, *steps]))
    if not skip_compile:
        for mode in ('infer', 'train'):
            for name in models:
                cls, _, ref = MODELS[name]
                if ref:
                    rows.append((f'{name} 224 compiled {mode}', [cls, '--compile', '--mode', mode, '--compare', ref,
                                                                 *batch, *shape, *steps]))
    return rows


def markdown(device_name, parities, rows):
    lines = [BEGIN, '', f'Card: **{device_name}**, torch {torch.__version__}, '
             f'{datetime.date.today().isoformat()}, written by `python tools/analysis/gpu_check.py '
             '--write-docs docs/benchmarks.md`.', '',
             '| backbone | float64 vs CPU float64 | float32 vs CPU float64 |', '|---|---|---|']
    for name, p in parities.items():
        lines.append(f"| {name} | {p['float64']['max_rel_diff']:.1e} | {p['float32']['max_rel_diff']:.1e} |")
    lines += ['', '| row | mmattn | reference | speed-up | memory ratio | max abs diff | compile time |',
              '|---|---|---|---|---|---|---|']
    for title, r in rows:
        ours, ref = r['results']['mmattn'], r['results'][r['compare']['reference']]
        compile_s = f"{r['compile_s']:.0f} s" if r['compile_s'] is not None else ''
        lines.append(f"| {title} | {ours['latency_ms']:.1f} ms, {ours['peak_mib']:.0f} MiB | "
                     f"{ref['latency_ms']:.1f} ms, {ref['peak_mib']:.0f} MiB | **{r['compare']['speedup']:.2f}x** | "
                     f"{r['compare']['memory_ratio']:.2f}x | {r['compare']['max_abs_diff']:.1e} | {compile_s} |")
    return '\n'.join(lines + ['', END])


def write_section(path, text):
    """Replace the gpu-check section of ``path`` (appended at the end the first time)."""
    doc = open(path).read()
    if BEGIN in doc and END in doc:
        doc = doc[:doc.index(BEGIN)] + text + doc[doc.index(END) + len(END):]
    else:
        doc = doc.rstrip('\n') + '\n\n' + text + '\n'
    with open(path, 'w') as f:
        f.write(doc)


def main(argv=None):
    args = parse_args(argv)
    device_name = torch.cuda.get_device_name() if args.device == 'cuda' else 'CPU (dry run)'
    if args.device == 'cuda':  # float32 parity means float32, not TF32
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    parities, rows = {}, []

    def save():
        if args.write_docs:
            write_section(args.write_docs, markdown(device_name, parities, rows))
        if args.json:
            with open(args.json, 'w') as f:
                json.dump(dict(device=device_name, parity=parities, rows=rows), f, indent=1)

    for name in args.models:
        print(f'.. parity: {name}', flush=True)
        parities[name] = parity(name, args.device, args.quick)
        print(f'{name}: ' + ', '.join(f"{k} {v['max_rel_diff']:.1e} ({'ok' if v['ok'] else 'FAILED'})"
                                      for k, v in parities[name].items()), flush=True)
    save()
    failed = [n for n, p in parities.items() if not all(v['ok'] for v in p.values())]
    if not args.skip_rows:
        for title, argv_row in row_commands(args.models, args.quick, args.skip_compile):
            if args.only and not any(text in title for text in args.only):
                continue
            print(f'.. row: {title}', flush=True)
            result = benchmark.run(benchmark.parse_args([*argv_row, '--device', args.device]))
            benchmark.report(result)
            rows.append((title, result))
            save()
            if args.device == 'cuda':
                torch.cuda.empty_cache()
    if failed:
        print(f'parity FAILED for: {", ".join(failed)}')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
