"""Convert an official (dingmyu/davit), timm or mmpretrain DaViT checkpoint to an mmattn classifier checkpoint.

    python tools/model_converters/davit2mmattn.py SRC DST

SRC may be a bare state dict or one nested under ``state_dict`` / ``model``. The file is read with the
weights-only loader: pickled non-tensor objects (e.g. training arguments) become inert placeholders and are
never executed. DST evaluates with ``tools/test.py configs/davit/davit-<arch>_in1k.py DST``.
"""
import argparse
import sys

from mmattn.converters import ConversionError, convert_davit
from mmattn.converters.utils import save_converted
from mmattn.utils import UnsafeCheckpointError, extract_state_dict, load_checkpoint_file


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='official / timm / mmpretrain DaViT checkpoint')
    parser.add_argument('dst', help='output mmattn checkpoint')
    args = parser.parse_args(argv)
    try:
        checkpoint = load_checkpoint_file(args.src, opaque_objects=True)
        state_dict, meta = convert_davit(extract_state_dict(checkpoint))
    except (ConversionError, UnsafeCheckpointError, FileNotFoundError, ValueError) as err:
        sys.exit(f'davit2mmattn: {err}')
    save_converted(state_dict, args.dst, dict(meta, converted_from=args.src))
    print(f'Converted a {meta["source_layout"]} DaViT-{meta["arch"]} checkpoint ({len(state_dict)} tensors, '
          f'{meta["num_classes"]} classes) to {args.dst}; evaluate it with\n'
          f'    python tools/test.py configs/davit/davit-{meta["arch"]}_in1k.py {args.dst}')


if __name__ == '__main__':
    main()
