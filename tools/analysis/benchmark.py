"""Throughput, latency and peak memory of a config's model, optionally side by side with its reference.

    python tools/analysis/benchmark.py CONFIG [--shape H [W]] [--batch N] [--mode infer|train] [--amp]
        [--reference-fp32] [--compile] [--channels-last] [--device cpu|cuda] [--threads N] [--repeats N] [--warmup N]
        [--compare timm|official] [--profile] [--json OUT] [--cfg-options KEY=VALUE ...]

What is measured follows the config's task (its ``default_scope``): a classification config measures the
classifier (``mode='tensor'``: logits) at 224x224; a detection or segmentation config measures its backbone
(the feature maps of ``out_indices``, each through its output norm) at 800x1344 (H=800, W=1344). ``--mode
train`` times a training step's forward and backward (loss: the sum of the outputs), ``infer`` a forward under
``torch.no_grad``. Latency is the median step time, throughput ``batch / latency``; peak memory is the maximum
of the bytes held by tensors created during one step (CPU: torch's allocator records,
:func:`mmattn.utils.benchmark.peak_cpu_bytes`; CUDA: ``max_memory_allocated``).

``--compare`` builds the reference with the *same weights* (a reference-layout state dict converted into
mmattn's with mmattn's converters) and calls the two alternately in one process, so machine load affects both
alike; it reports the reference's time over mmattn's (speed-up) and mmattn's peak memory over the reference's,
and the largest absolute difference of the outputs (eval mode, the benchmark's precision):

* ``timm``: timm's ``davit_*`` model (DaViT; numerically the official model).
* ``official``: the official DilateFormer and DAT v1 formulations, as transcribed in ``reference/`` (the
  functions the parity tests compare mmattn with), run at any input size.

For dense configs the reference returns its stage outputs through copies of mmattn's output norms. Only mmattn's
side is compiled (``--compile``: ``torch.compile`` as mmengine's ``compile=True`` does; the first call's time
is reported as the compile time), put in channels-last (``--channels-last``) or run under autocast (``--amp``:
bfloat16 on CPU, float16 on CUDA; ``--amp-dtype`` overrides) only where the flag says; ``--amp`` and
``--channels-last`` apply to the reference too, so that the two run the same arithmetic, unless
``--reference-fp32`` keeps the reference in float32 (mixed precision against the reference's full precision).

``--profile`` (CPU) profiles one more step of each side by operator: the time in matrix products and
convolutions (the model's arithmetic, at the BLAS / oneDNN library's speed in both implementations), the top
operators, and with ``--compare`` the speed-up that mmattn would reach were its other operators free and its
matrix products as fast as the reference's (``speedup_bound``).
"""
import argparse
import contextlib
import copy
import json
import os
import os.path as osp
import sys
import time

import torch
import torch.nn as nn
from mmengine.config import Config, DictAction
from mmengine.logging import MMLogger

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))  # reference/ of the checkout
import mmattn.compat  # noqa: E402,F401  (torch 2.13 x mmengine fixes)
from mmattn.utils.benchmark import cpu_op_profile, interleaved_median_times, peak_bytes  # noqa: E402
from mmattn.utils.flops import TASKS, _scope_of, build_model  # noqa: E402

DEFAULT_SHAPES = {'classification': (224, 224), 'detection': (800, 1344), 'segmentation': (800, 1344)}
REFERENCES = {'timm': ('DaViT', ), 'official': ('DilateFormer', 'DAT')}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Throughput, latency and peak memory of a config\'s model')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--shape', type=int, nargs='+', metavar='N',
                        help='input H W, or one value for a square; default 224x224 (classification), H=800 '
                        'W=1344 (detection, segmentation)')
    parser.add_argument('--batch', type=int, default=1, help='images per step. Defaults to 1')
    parser.add_argument('--mode', choices=['infer', 'train'], default='infer',
                        help='infer: forward under no_grad; train: forward + backward. Defaults to infer')
    parser.add_argument('--amp', action='store_true', help='autocast: bfloat16 on CPU, float16 on CUDA')
    parser.add_argument('--amp-dtype', choices=['bfloat16', 'float16'], help='the autocast dtype instead')
    parser.add_argument('--reference-fp32', action='store_true',
                        help='with --amp: run the reference in float32 (autocast on mmattn\'s side only)')
    parser.add_argument('--compile', action='store_true', help='torch.compile the mmattn model')
    parser.add_argument('--compile-backend', default='inductor', help='torch.compile backend. Defaults to inductor')
    parser.add_argument('--channels-last', action='store_true', help='channels-last inputs and 4-D weights')
    parser.add_argument('--device', default='cpu', choices=['cpu', 'cuda'], help='Defaults to cpu')
    parser.add_argument('--threads', type=int, help='torch CPU threads (default: torch\'s)')
    parser.add_argument('--repeats', type=int, default=5, help='timed steps per model. Defaults to 5')
    parser.add_argument('--warmup', type=int, default=1, help='untimed steps per model first. Defaults to 1')
    parser.add_argument('--compare', choices=sorted(REFERENCES), help='run this reference side by side')
    parser.add_argument('--profile', action='store_true',
                        help='also profile one step of each side (CPU): its matrix-product time and top operators')
    parser.add_argument('--json', metavar='OUT', help='also write the results to this JSON file')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value pairs as in tools/train.py')
    args = parser.parse_args(argv)
    if args.shape is not None and len(args.shape) not in (1, 2):
        parser.error('--shape takes H W, or one value for a square input')
    if args.batch < 1 or args.repeats < 1 or args.warmup < 0:
        parser.error('--batch and --repeats must be at least 1, --warmup at least 0')
    if args.reference_fp32 and not (args.amp and args.compare):
        parser.error('--reference-fp32 compares mmattn under --amp with a --compare reference in float32')
    if args.profile and args.device != 'cpu':
        parser.error('--profile reads CPU operator times; use it with --device cpu')
    if args.device == 'cuda' and not torch.cuda.is_available():
        parser.error('--device cuda: no CUDA device is available')
    return args


def progress(message):
    print(f'.. {message}', flush=True)


# --------------------------------------------------------------------------------------------- the models


def backbone_name(cfg):
    name = str(cfg.model.backbone.type).split('.')[-1]
    arch = cfg.model.backbone.get('arch', 'tiny')
    return name, arch


def head_classes(model):
    return model.head.fc.out_features


def load_converted(model, converted, dense):
    """Load converted weights (mmpretrain classifier keys) into the classifier, or its backbone if ``dense``.

    A dense backbone has output norms that a classifier checkpoint lacks (``norm0``-``norm2``): they keep their
    initial values, in mmattn and (copied) in the reference alike.
    """
    if not dense:
        model.load_state_dict(converted, strict=True)
        return
    backbone = {k[len('backbone.'):]: v for k, v in converted.items() if k.startswith('backbone.')}
    missing, unexpected = model.backbone.load_state_dict(backbone, strict=False)
    if unexpected or any(not k.startswith('norm') for k in missing):
        raise RuntimeError(f'converted weights do not fit the backbone: missing {missing}, unexpected {unexpected}')


def output_norms(backbone):
    """Copies of the backbone's output norms, ``{stage: norm}``, applied to NCHW maps by the reference."""
    return {i: copy.deepcopy(getattr(backbone, f'norm{i}')) for i in backbone.out_indices}


def normed_outputs(features, norms):
    return tuple(norm(features[i].permute(0, 2, 3, 1)).permute(0, 3, 1, 2) for i, norm in norms.items())


class StateDictModel(nn.Module):
    """A functional reference forward over an official-layout state dict, as a module (parameters for training)."""

    def __init__(self, forward, state_dict, norms=None):
        super().__init__()
        self._forward = forward
        self.names = [k for k, v in state_dict.items() if v.is_floating_point() and not k.endswith('running_var')
                      and not k.endswith('running_mean')]
        self.params = nn.ParameterList([nn.Parameter(state_dict[k].clone()) for k in self.names])
        self.buffers_ = {k: v.clone() for k, v in state_dict.items() if k not in self.names}
        self.norms = nn.ModuleDict({str(i): n for i, n in (norms or {}).items()})

    def _apply(self, fn, recurse=True):
        super()._apply(fn, recurse)
        self.buffers_ = {k: fn(v) for k, v in self.buffers_.items()}  # BN statistics follow .to()
        return self

    def forward(self, x):
        sd = dict(zip(self.names, self.params), **self.buffers_)
        out = self._forward(sd, x, self.training)
        if self.norms:
            return normed_outputs(out, {int(i): n for i, n in self.norms.items()})
        return out


def build_pair(cfg, model, task, reference):
    """The mmattn side (loaded with the converted reference weights) and the reference module."""
    name, arch = backbone_name(cfg)
    if name not in REFERENCES[reference]:
        raise SystemExit(f'--compare {reference} covers {", ".join(REFERENCES[reference])} backbones, not {name}; '
                         + ' '.join(f'{n}: --compare {r}.' for r, ns in REFERENCES.items() for n in ns))
    if not isinstance(arch, str):
        raise SystemExit(f'--compare needs a named {name} arch (the reference builds it by name), got a custom '
                         'arch dict')
    dense = task != 'classification'
    num_classes = 1000 if dense else head_classes(model)
    if name == 'DaViT':
        import timm
        from mmattn.converters import convert_davit
        torch.manual_seed(0)
        ref = timm.create_model(f'davit_{arch}', num_classes=num_classes)
        load_converted(model, convert_davit(ref.state_dict())[0], dense)
        if dense:
            norms = output_norms(model.backbone)
            ref.norms = nn.ModuleDict({str(i): n for i, n in norms.items()})

            def features(x):
                return normed_outputs(ref.forward_intermediates(x, intermediates_only=True),
                                      {int(i): n for i, n in ref.norms.items()})

            ref.forward = features
        return ref
    if name == 'DilateFormer':
        from mmattn.converters import convert_dilateformer
        from reference import dilateformer as official
        sd = official.random_official_state_dict(arch, num_classes)
        load_converted(model, convert_dilateformer(sd)[0], dense)
        dims = official.ARCHS[arch]
        if dense:
            return StateDictModel(lambda sd, x, training: official.official_features(sd, x, *dims, training), sd,
                                  output_norms(model.backbone))
        return StateDictModel(lambda sd, x, training: official.official_forward(sd, x, *dims, training), sd)
    from mmattn.converters import convert_dat
    from reference import dat as official
    sd = official.official_state_dict(arch, num_classes)
    load_converted(model, convert_dat(sd)[0], dense)
    if dense:
        return StateDictModel(lambda sd, x, training: official.official_features(sd, arch, x), sd,
                              output_norms(model.backbone))
    return StateDictModel(lambda sd, x, training: official.official_forward(sd, arch, x), sd)


def subject(model, task):
    """What is measured of the built model: the classifier's logits or the backbone's feature maps."""
    if task == 'classification':
        return lambda x: model(x, mode='tensor')
    return model.backbone


# ---------------------------------------------------------------------------------------------- measuring


def as_tuple(out):
    return tuple(out) if isinstance(out, (tuple, list)) else (out, )


def make_step(forward, module, x, mode, autocast, device):
    def step():
        with autocast():
            if mode == 'train':
                module.zero_grad(set_to_none=True)
                sum(o.float().sum() for o in as_tuple(forward(x))).backward()
            else:
                with torch.no_grad():
                    forward(x)
        if device == 'cuda':
            torch.cuda.synchronize()
    return step


def max_abs_diff(forwards, modules, x, autocasts):
    outputs = []
    for forward, module, autocast in zip(forwards, modules, autocasts):
        module.eval()
        with torch.no_grad(), autocast():
            outputs.append(as_tuple(forward(x)))
    a, b = outputs
    if len(a) != len(b):
        raise RuntimeError(f'the outputs differ in number: {len(a)} vs {len(b)}')
    return max((p.float() - q.float()).abs().max().item() for p, q in zip(a, b))


def run(args):
    if args.threads:
        torch.set_num_threads(args.threads)
    MMLogger.get_instance('mmattn_benchmark', log_level='WARNING')  # building a model logs INFO lines otherwise
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    task = TASKS[_scope_of(cfg)]
    shape = tuple(args.shape or DEFAULT_SHAPES[task])
    shape = shape * 2 if len(shape) == 1 else shape
    progress(f'building {cfg.model.backbone.type} ({task}) from {args.config}')
    model = build_model(cfg)
    forward, measured = subject(model, task), ('classifier' if task == 'classification' else 'backbone')
    implementations = {'mmattn': (forward, model)}
    if args.compare:
        progress(f'building the {args.compare} reference with the same weights')
        ref = build_pair(cfg, model, task, args.compare)
        implementations[args.compare] = (ref, ref)
    device = torch.device(args.device)
    memory_format = torch.channels_last if args.channels_last else torch.contiguous_format
    for _, module in implementations.values():
        module.to(device=device, memory_format=memory_format)
    amp_dtype = getattr(torch, args.amp_dtype or ('bfloat16' if args.device == 'cpu' else 'float16'))

    def autocast():
        return torch.autocast(args.device, dtype=amp_dtype) if args.amp else contextlib.nullcontext()

    def autocast_of(name):
        return contextlib.nullcontext if name != 'mmattn' and args.reference_fp32 else autocast

    x = torch.randn(args.batch, cfg.model.backbone.get('in_channels', 3), *shape,
                    generator=torch.Generator().manual_seed(0)).to(device, memory_format=memory_format)
    diff = None
    if args.compare:
        progress('comparing the outputs (eval mode)')
        diff = max_abs_diff([implementations['mmattn'][0], ref], [model, ref], x,
                            [autocast_of('mmattn'), autocast_of(args.compare)])
    if args.compile:
        compiled = torch.compile(forward, backend=args.compile_backend, dynamic=False)  # as mmattn.compat
        implementations['mmattn'] = (compiled, model)
    for _, module in implementations.values():
        module.train(args.mode == 'train')
    steps = {name: make_step(f, module, x, args.mode, autocast_of(name), args.device)
             for name, (f, module) in implementations.items()}
    compile_s = None
    if args.compile:
        progress(f'compiling ({args.compile_backend})')
        start = time.perf_counter()
        steps['mmattn']()
        compile_s = time.perf_counter() - start
    progress(f'warm-up ({args.warmup}) and {args.repeats} interleaved timed steps per model')
    times = interleaved_median_times(
        steps, args.repeats, args.warmup, on_repeat=lambda i: progress(f'step {i + 1}/{args.repeats}'))
    progress('peak memory')
    peaks = {name: peak_bytes(step, args.device) for name, step in steps.items()}
    profiles = None
    if args.profile:
        progress('operator profile')
        profiles = {name: cpu_op_profile(step) for name, step in steps.items()}
    result = dict(
        config=args.config, task=task, measured=measured, backbone=cfg.model.backbone.type,
        input_shape=[args.batch, x.shape[1], *shape], mode=args.mode, device=args.device,
        threads=torch.get_num_threads(), amp=str(amp_dtype).replace('torch.', '') if args.amp else None,
        reference_fp32=args.reference_fp32,
        compile=args.compile_backend if args.compile else None, compile_s=compile_s,
        channels_last=args.channels_last, repeats=args.repeats, torch=torch.__version__,
        load_average=os.getloadavg()[0] if hasattr(os, 'getloadavg') else None,
        results={name: dict(latency_ms=times[name] * 1e3, throughput=args.batch / times[name],
                            peak_mib=peaks[name] / 2**20) for name in steps})
    if profiles:
        result['profile'] = profiles
    if args.compare:
        ours, theirs = result['results']['mmattn'], result['results'][args.compare]
        result['compare'] = dict(reference=args.compare, speedup=theirs['latency_ms'] / ours['latency_ms'],
                                 memory_ratio=ours['peak_mib'] / max(theirs['peak_mib'], 1e-9),
                                 max_abs_diff=diff)
        if profiles:
            # the reference's matrix products are the model's arithmetic at the BLAS library's speed; were
            # mmattn's other operators free, its step could not be shorter than them
            theirs = profiles[args.compare]
            result['compare']['speedup_bound'] = theirs['total_ms'] / max(theirs['matmul_ms'], 1e-9)
    return result


def report(result):
    batch, _, h, w = result['input_shape']
    amp = result['amp'] and f'autocast {result["amp"]}' + (' (reference in float32)' * result['reference_fp32'])
    how = ', '.join(filter(None, [result['mode'], amp,
                                  result['compile'] and f'compiled ({result["compile"]})',
                                  result['channels_last'] and 'channels-last']))
    print(f'{result["backbone"]} {result["measured"]} ({result["task"]}), input {h}x{w} (H x W), batch {batch}, '
          f'{how}, {result["device"]}, {result["threads"]} threads, torch {result["torch"]}, median of '
          f'{result["repeats"]}, load average {result["load_average"]:.1f}')
    print('| implementation | latency | throughput | peak memory |')
    print('|---|---|---|---|')
    for name, r in result['results'].items():
        print(f'| {name} | {r["latency_ms"]:.1f} ms | {r["throughput"]:.2f} img/s | {r["peak_mib"]:.0f} MiB |')
    if result['compile_s'] is not None:
        print(f'compile time (first call): {result["compile_s"]:.1f} s')
    for name, p in result.get('profile', {}).items():
        print(f'profile {name}: {p["total_ms"]:.1f} ms of operators, {p["matmul_ms"]:.1f} ms '
              f'({100 * p["matmul_ms"] / max(p["total_ms"], 1e-9):.0f}%) in matrix products and convolutions; top: '
              + ', '.join(f'{op} {ms:.1f} ms' for op, ms in p['top'][:5]))
    if 'compare' in result:
        c = result['compare']
        print(f'speed-up ({c["reference"]} time / mmattn time): {c["speedup"]:.2f}x; memory ratio (mmattn / '
              f'{c["reference"]}): {c["memory_ratio"]:.2f}x; max abs diff: {c["max_abs_diff"]:.1e}')
        if 'speedup_bound' in c:
            print(f'bound: with the reference\'s matrix products and nothing else, the speed-up would be '
                  f'{c["speedup_bound"]:.2f}x')


def main(argv=None):
    args = parse_args(argv)
    result = run(args)
    report(result)
    if args.json:
        os.makedirs(osp.dirname(osp.abspath(args.json)), exist_ok=True)
        with open(args.json, 'w') as f:
            json.dump(result, f, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
