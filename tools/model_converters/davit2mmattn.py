"""Convert an official (dingmyu/davit), timm or mmpretrain DaViT checkpoint to an mmattn classifier checkpoint.

    python tools/model_converters/davit2mmattn.py SRC DST

SRC may be a bare state dict or one nested under ``state_dict`` / ``model``. The file is read with the
weights-only loader: pickled non-tensor objects (e.g. training arguments) become inert placeholders and are
never executed. DST evaluates with ``tools/test.py configs/davit/davit-<arch>_in1k.py DST``.
"""
import argparse

from mmattn.converters import convert_davit
from mmattn.converters.cli import convert_file


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='official / timm / mmpretrain DaViT checkpoint')
    parser.add_argument('dst', help='output mmattn checkpoint')
    args = parser.parse_args(argv)
    meta = convert_file('davit2mmattn', args.src, args.dst, convert_davit)
    print(f'Evaluate it with\n    python tools/test.py configs/davit/davit-{meta["arch"]}_in1k.py {args.dst}')


if __name__ == '__main__':
    main()
