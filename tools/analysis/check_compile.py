"""Does ``torch.compile`` give a config's backbone eager's outputs and gradients? And how long does it take?

    python tools/analysis/check_compile.py CONFIG [--backend inductor] [--shape H [W]] [--batch N] [--threads N]

Compiles the backbone as ``compile=True`` does (static shapes), runs one inference forward and one training
step without drop path (forward + backward, loss: each output weighted by a fixed ramp), and compares them with
eager float32 and, as ground truth, eager float64: a compiled model is right when, for every output and every
parameter's gradient, its error against float64 (relative to the tensor's largest value) is of the order of
eager float32's own. Prints the compile times (first calls) and, per kind, the tensor whose compiled error is
largest next to eager float32's. Exit status 1 when a compiled error exceeds ``--tolerance`` times eager
float32's (and 1e-5).
"""
import argparse
import copy
import os.path as osp
import sys
import time

import torch
from mmengine.config import Config
from mmengine.logging import MMLogger

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
import mmattn.compat  # noqa: E402,F401  (torch 2.13 x mmengine fixes)
from mmattn.utils.flops import build_model  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Check torch.compile of a config\'s backbone against eager')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--backend', default='inductor', help='torch.compile backend. Defaults to inductor')
    parser.add_argument('--shape', type=int, nargs='+', default=[64], metavar='N',
                        help='input H W, or one value for a square. Defaults to 64')
    parser.add_argument('--batch', type=int, default=2, help='images per step. Defaults to 2')
    parser.add_argument('--threads', type=int, help='torch CPU threads (default: torch\'s)')
    parser.add_argument('--tolerance', type=float, default=10.,
                        help='allowed ratio of the compiled error to eager float32\'s. Defaults to 10')
    args = parser.parse_args(argv)
    if len(args.shape) not in (1, 2):
        parser.error('--shape takes H W, or one value for a square input')
    return args


def step(forward, model, x, train):
    """Outputs and, in training, ``{name: grad}`` of one step, all in float64 for comparison."""
    model.train(train)
    model.zero_grad(set_to_none=True)
    with torch.set_grad_enabled(train):
        outs = forward(x)
        if train:
            sum((o * torch.linspace(-1, 1, o.numel(), dtype=o.dtype).view(o.shape)).sum() for o in outs).backward()
    grads = {n: p.grad.double() for n, p in model.named_parameters() if p.grad is not None} if train else {}
    return [o.detach().double() for o in outs], grads


def relative_errors(actual, expected):
    """``{key: max |actual - expected| / max |expected|}`` over matching tensors (lists or dicts)."""
    pairs = actual.items() if isinstance(actual, dict) else enumerate(actual)
    return {k: ((v - expected[k]).abs().max() / expected[k].abs().max().clamp_min(1e-30)).item() for k, v in pairs}


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    MMLogger.get_instance('mmattn_check_compile', log_level='WARNING')
    cfg = Config.fromfile(args.config)
    # every stage's output map (a classifier's backbone returns only the last, pooled)
    num_stages = build_model(cfg).backbone.num_stages
    # drop path off: its random masks would differ between the runs compared
    cfg.model.backbone.update(out_indices=tuple(range(num_stages)), out_type='featmap', drop_path_rate=0.)
    backbone = build_model(cfg).backbone
    shape = args.shape * 2 if len(args.shape) == 1 else args.shape
    x = torch.randn(args.batch, 3, *shape, generator=torch.Generator().manual_seed(0))
    reference = copy.deepcopy(backbone).double()
    compiled = torch.compile(backbone, backend=args.backend, dynamic=False)
    failed = False
    # inference first: training steps update BatchNorm statistics (DilateFormer), by different amounts per model
    for train in (False, True):
        mode = 'training' if train else 'inference'
        print(f'.. {mode}: eager float64, eager float32, then {args.backend} (compiling)', flush=True)
        truth = step(reference, reference, x.double(), train)
        eager = step(backbone, backbone, x, train)
        start = time.perf_counter()
        result = step(compiled, backbone, x, train)
        print(f'{mode}: first compiled call {time.perf_counter() - start:.1f} s', flush=True)
        for what, index in (('outputs', 0), ('gradients', 1)) if train else (('outputs', 0), ):
            compiled_errors = relative_errors(result[index], truth[index])
            eager_errors = relative_errors(eager[index], truth[index])
            # per tensor: a gradient that is zero in exact arithmetic (a bias before a norm, a key bias) is
            # rounding noise in both, and its eager error is as large as the compiled one
            bad = [k for k in compiled_errors if compiled_errors[k] > max(args.tolerance * eager_errors[k], 1e-5)]
            key = bad[0] if bad else max(compiled_errors,
                                         key=lambda k: compiled_errors[k] / max(eager_errors[k], 1e-7))
            failed |= bool(bad)
            verdict = f'MISMATCH in {len(bad)}' if bad else 'ok, all'
            print(f'{mode} {what}: {verdict} of {len(compiled_errors)}; {"first" if bad else "worst against eager"}: '
                  f'{key}, compiled vs float64 {compiled_errors[key]:.1e}, eager float32 vs float64 '
                  f'{eager_errors[key]:.1e}')
    return int(failed)


if __name__ == '__main__':
    sys.exit(main())
