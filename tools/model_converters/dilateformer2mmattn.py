"""Convert an official DilateFormer checkpoint (JIAOJIAYUASD/dilateformer) to an mmattn classifier checkpoint.

    python tools/model_converters/dilateformer2mmattn.py SRC DST [--ema]

SRC may be a bare state dict or a training checkpoint with the weights under ``model`` / ``state_dict``
(``--ema``: under ``model_ema``). The file is read with the weights-only loader: pickled non-tensor objects
(the official checkpoints hold an ``argparse.Namespace``) become inert placeholders and are never executed.
DST evaluates with ``tools/test.py configs/dilateformer/dilateformer-<arch>_in1k.py DST``.
"""
import argparse
from functools import partial

from mmattn.converters import convert_dilateformer
from mmattn.converters.cli import convert_file
from mmattn.converters.dilateformer import select_weights


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='official DilateFormer checkpoint')
    parser.add_argument('dst', help='output mmattn checkpoint')
    parser.add_argument('--ema', action='store_true', help='convert the model_ema weights instead of model')
    args = parser.parse_args(argv)
    weights = 'model_ema' if args.ema else 'model'
    meta = convert_file('dilateformer2mmattn', args.src, args.dst, convert_dilateformer,
                        select_weights=partial(select_weights, ema=args.ema), extra_meta=dict(weights=weights))
    print(f'({weights} weights). Evaluate it with\n'
          f'    python tools/test.py configs/dilateformer/dilateformer-{meta["arch"]}_in1k.py {args.dst}')


if __name__ == '__main__':
    main()
