"""Convert an official DilateFormer checkpoint (JIAOJIAYUASD/dilateformer) to an mmattn classifier checkpoint.

    python tools/model_converters/dilateformer2mmattn.py SRC DST [--ema]

SRC may be a bare state dict or a training checkpoint with the weights under ``model`` / ``state_dict``
(``--ema``: under ``model_ema``). The file is read with the weights-only loader: pickled non-tensor objects
(the official checkpoints hold an ``argparse.Namespace``) become inert placeholders and are never executed.
DST evaluates with ``tools/test.py configs/dilateformer/dilateformer-<arch>_in1k.py DST``.
"""
import argparse
import sys

from mmattn.converters import ConversionError, convert_dilateformer
from mmattn.converters.dilateformer import select_weights
from mmattn.converters.utils import save_converted
from mmattn.utils import UnsafeCheckpointError, load_checkpoint_file


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='official DilateFormer checkpoint')
    parser.add_argument('dst', help='output mmattn checkpoint')
    parser.add_argument('--ema', action='store_true', help='convert the model_ema weights instead of model')
    args = parser.parse_args(argv)
    try:
        checkpoint = load_checkpoint_file(args.src, opaque_objects=True)
        state_dict, meta = convert_dilateformer(select_weights(checkpoint, ema=args.ema))
    except (ConversionError, UnsafeCheckpointError, FileNotFoundError, ValueError) as err:
        sys.exit(f'dilateformer2mmattn: {err}')
    meta = dict(meta, converted_from=args.src, weights='model_ema' if args.ema else 'model')
    save_converted(state_dict, args.dst, meta)
    print(f'Converted a {meta["source_layout"]} DilateFormer-{meta["arch"]} checkpoint ({len(state_dict)} '
          f'tensors, {meta["num_classes"]} classes, {meta["weights"]} weights) to {args.dst}; evaluate it with\n'
          f'    python tools/test.py configs/dilateformer/dilateformer-{meta["arch"]}_in1k.py {args.dst}')


if __name__ == '__main__':
    main()
