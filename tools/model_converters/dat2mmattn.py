"""Convert an official DAT v1 checkpoint (LeapLabTHU/DAT @566a593, CVPR 2022) to an mmattn classifier checkpoint.

    python tools/model_converters/dat2mmattn.py SRC DST

SRC may be a bare state dict or one nested under ``model`` (the official training checkpoints, which also
pickle a yacs config: it is read with the weights-only loader and becomes an inert placeholder, never executed).
The buffers that mmattn rebuilds (``relative_position_index``, ``attn_mask``) are dropped and the 1x1
convolutions of the deformable layers become Linear weights. Unknown or missing keys are an error listing them.
DST evaluates with ``tools/test.py configs/dat/dat-<arch>_in1k.py DST``.
"""
import argparse

from mmattn.converters import convert_dat
from mmattn.converters.cli import convert_file

CONFIGS = {'tiny': 'dat-tiny_in1k.py', 'small': 'dat-small_in1k.py', 'base': 'dat-base_in1k.py',
           'base-384': 'dat-base_in1k-384px.py'}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='official DAT v1 checkpoint')
    parser.add_argument('dst', help='output mmattn checkpoint')
    args = parser.parse_args(argv)
    meta = convert_file('dat2mmattn', args.src, args.dst, convert_dat)
    print(f'Evaluate it with\n    python tools/test.py configs/dat/{CONFIGS[meta["arch"]]} {args.dst}')


if __name__ == '__main__':
    main()
