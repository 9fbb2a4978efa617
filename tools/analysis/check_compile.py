"""Does ``torch.compile`` give a config's backbone eager's outputs and gradients? And how long does it take?

    python tools/analysis/check_compile.py CONFIG [--backend inductor] [--shape H [W]] [--batch N] [--threads N]

Compiles the backbone as ``compile=True`` does (static shapes), runs one training step without drop path
(forward + backward, loss: each output weighted by a fixed ramp) and one inference forward, and compares both with eager float32
and, as ground truth, eager float64: a compiled model is right when its error against float64 is of the order
of eager float32's own. Prints the compile times (first calls) and the largest errors relative to each
tensor's largest value (outputs, and every parameter's gradient). Exit status 1 when the compiled error
exceeds ``--tolerance`` times eager float32's (and 1e-5).
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


def relative_error(actual, expected):
    return ((actual - expected).abs().max() / expected.abs().max().clamp_min(1e-30)).item()


def worst(actual, expected, skip=()):
    """``(name, error)`` of the largest relative error over matching tensors (lists or dicts)."""
    pairs = actual.items() if isinstance(actual, dict) else enumerate(actual)
    errors = {k: relative_error(v, expected[k]) for k, v in pairs if k not in skip}
    name = max(errors, key=errors.get)
    return name, errors[name]


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
    # a key bias adds the same logit to every key of a query: its true gradient is zero, its computed one noise
    skip = {n for n, _ in backbone.named_parameters() if n.endswith('proj_k.bias')}
    failed = False
    for train in (True, False):
        mode = 'training' if train else 'inference'
        print(f'.. {mode}: eager float64, eager float32, then {args.backend} (compiling)', flush=True)
        truth = step(reference, reference, x.double(), train)
        eager = step(backbone, backbone, x, train)
        start = time.perf_counter()
        result = step(compiled, backbone, x, train)
        print(f'{mode}: first compiled call {time.perf_counter() - start:.1f} s', flush=True)
        for what, index in (('outputs', 0), ('gradients', 1)):
            if not train and what == 'gradients':
                continue
            name, compiled_error = worst(result[index], truth[index], skip)
            _, eager_error = worst(eager[index], truth[index], skip)
            ok = compiled_error <= max(args.tolerance * eager_error, 1e-5)
            failed |= not ok
            print(f'{mode} {what}: compiled vs float64 {compiled_error:.1e} (worst: {name}), eager float32 vs '
                  f'float64 {eager_error:.1e}: {"ok" if ok else "MISMATCH"}')
    return int(failed)


if __name__ == '__main__':
    sys.exit(main())
