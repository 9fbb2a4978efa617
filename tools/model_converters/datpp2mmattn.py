"""Convert an official DAT++ checkpoint (LeapLabTHU/DAT, DAT-Detection, DAT-Segmentation) for mmattn.DATPlusPlus.

    python tools/model_converters/datpp2mmattn.py SRC DST

SRC is an official classification checkpoint (weights under ``model``), a DAT-Detection / DAT-Segmentation
checkpoint (the whole detector or segmentor under ``state_dict``: only its ``backbone.`` part is kept), or a
bare state dict. The file is read with the weights-only loader: pickled non-tensor objects (the yacs config,
mmcv meta) become inert placeholders and are never executed. The official 1x1 convolutions become Linear
weights; unknown or missing keys are an error listing them. A DAT v1 checkpoint is refused (use
``dat2mmattn.py``). A classifier evaluates with ``tools/test.py configs/datpp/datpp-<arch>_in1k.py DST``; a
backbone loads with ``init_cfg=dict(type='Pretrained', checkpoint=DST, prefix='backbone.')``.
"""
import argparse

from mmattn.converters import convert_datpp
from mmattn.converters.cli import convert_file

CONFIGS = {'tiny': ['datpp-tiny_in1k.py'], 'small': ['datpp-small_in1k.py'],
           'base': ['datpp-base_in1k.py', 'datpp-base_in1k-384px.py']}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='official DAT++ checkpoint (classifier, detector or segmentor)')
    parser.add_argument('dst', help='output mmattn checkpoint')
    args = parser.parse_args(argv)
    meta = convert_file('datpp2mmattn', args.src, args.dst, convert_datpp)
    if meta['num_classes'] is None:
        print(f"Backbone weights (output norms {meta['out_indices']}); load them with\n    "
              f"init_cfg=dict(type='Pretrained', checkpoint='{args.dst}', prefix='backbone.')")
        return
    for config in CONFIGS[meta['arch']]:  # base: the 224 and the 384 model have the same shapes
        print(f'Evaluate it with\n    python tools/test.py configs/datpp/{config} {args.dst}')


if __name__ == '__main__':
    main()
