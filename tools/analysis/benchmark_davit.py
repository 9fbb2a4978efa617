"""Forward+backward time and peak memory of mmattn's DaViT against timm's (numerically the official model).

    python tools/analysis/benchmark_davit.py [--arch tiny] [--sizes 224x224 800x1344] [--batch 8]
        [--repeats 5] [--threads 2]

Both models get the same weights (converted with mmattn's converter) and the same input; the script first
checks that their outputs agree, then times a training step's forward+backward (median, interleaved) and its
peak tensor memory (see :func:`mmattn.utils.benchmark.peak_cpu_bytes`). Dense sizes (e.g. 800x1344) compare
the backbones' last feature maps.
"""
import argparse

import timm
import torch

from mmattn.converters import convert_davit
from mmattn.models import DaViT
from mmattn.utils.benchmark import interleaved_median_times, peak_cpu_bytes


def build_pair(arch):
    torch.manual_seed(0)
    reference = timm.create_model(f'davit_{arch}', num_classes=0)  # features + pooled norm, no fc
    ours = DaViT(arch, out_type='avg_featmap')
    state_dict = dict(reference.state_dict(), **{'head.fc.weight': torch.zeros(1000, ours.embed_dims[-1]),
                                                  'head.fc.bias': torch.zeros(1000)})
    converted, _ = convert_davit(state_dict)
    ours.load_state_dict({k[len('backbone.'):]: v for k, v in converted.items() if k.startswith('backbone.')})
    return reference.train(), ours.train()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--arch', default='tiny')
    parser.add_argument('--sizes', nargs='+', default=['224x224', '512x512'])
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--threads', type=int, default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    reference, ours = build_pair(args.arch)
    print(f'DaViT-{args.arch}, torch {torch.__version__}, {torch.get_num_threads()} threads, fp32, batch '
          f'{args.batch}, train mode, median of {args.repeats}')
    print('| input | timm fwd+bwd | mmattn fwd+bwd | speed-up | timm peak | mmattn peak | memory ratio | '
          'max abs diff |')
    print('|---|---|---|---|---|---|---|---|')
    for text in args.sizes:
        h, w = (int(s) for s in text.lower().split('x'))
        x = torch.randn(args.batch, 3, h, w)
        with torch.no_grad():
            diff = (reference.eval()(x) - ours.eval()(x)[0]).abs().max().item()
        reference.train(), ours.train()
        steps = {'timm': lambda: reference(x).sum().backward(), 'mmattn': lambda: ours(x)[0].sum().backward()}
        times = interleaved_median_times(steps, args.repeats)
        memory = {name: peak_cpu_bytes(step) for name, step in steps.items()}
        print(f'| {h}x{w} | {times["timm"] * 1e3:.0f} ms | {times["mmattn"] * 1e3:.0f} ms | '
              f'{times["timm"] / times["mmattn"]:.2f}x | {memory["timm"] / 2**20:.0f} MiB | '
              f'{memory["mmattn"] / 2**20:.0f} MiB | {memory["mmattn"] / memory["timm"]:.2f}x | {diff:.1e} |',
              flush=True)


if __name__ == '__main__':
    main()
