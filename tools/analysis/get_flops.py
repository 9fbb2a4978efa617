"""Parameters and FLOPs (multiply-accumulates) of a classifier, detector or segmentor config.

    python tools/analysis/get_flops.py CONFIG [--shape H [W]] [--cfg-options KEY=VALUE ...] [--json]
        [--per-module DEPTH]

The task follows the config's ``default_scope`` (mmpretrain / mmdet / mmseg) and picks the default input:
224x224, 1280x800 (H=800, W=1280) and 2048x512 (H=512, W=2048). One MAC counts as one FLOP, as in the papers.
The counting rules (handles for attention, deformable and dilated operators, grid sampling) are in
``mmattn/utils/flops.py``; docs/flops.md has the measured numbers next to the published ones.
"""
import argparse
import json
import sys

from mmengine.config import Config, DictAction
from mmengine.logging import MMLogger

import mmattn.compat  # noqa: F401  (torch 2.13 x mmengine fixes)
from mmattn.utils.flops import MASK_HEAD_ROIS, model_complexity


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Parameters and FLOPs (MACs) of a model config')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--shape', type=int, nargs='+', metavar='N',
                        help='input height and width: H W, or one value for a square; default per task: 224x224, '
                        'H=800 W=1280 (detection), H=512 W=2048 (segmentation)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value pairs as in tools/train.py')
    parser.add_argument('--json', action='store_true', help='print the result as one JSON object')
    parser.add_argument('--per-module', type=int, default=0, metavar='DEPTH',
                        help='also list params and FLOPs of the modules up to this depth (1 = backbone, '
                        'head, ...)')
    args = parser.parse_args(argv)
    if args.shape is not None and len(args.shape) not in (1, 2):
        parser.error('--shape takes H W, or one value for a square input')
    return args


def per_module_rows(result, depth):
    rows = []
    for name, flops in result['by_module'].items():
        if name and name.count('.') < depth:
            rows.append((name, result['module_params'].get(name, 0), flops))
    return rows


def quiet_logger(to_stderr):
    """The logger building the model reports to: warnings only, and on stderr with ``--json``.

    mmengine's components log to the latest MMLogger instance, whose console handler writes to stdout; building
    a classifier logs INFO lines (e.g. about batch augmentations) that mean nothing here and would corrupt the
    JSON output.
    """
    logger = MMLogger.get_instance('mmattn_get_flops', log_level='WARNING')
    if to_stderr:
        for handler in logger.handlers:
            if getattr(handler, 'stream', None) is sys.stdout:
                handler.setStream(sys.stderr)
    return logger


def main(argv=None):
    args = parse_args(argv)
    quiet_logger(args.json)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    result = model_complexity(cfg, args.shape, with_modules=args.per_module > 0)
    result['config'] = args.config
    if args.json:
        result.pop('module_params', None)
        print(json.dumps(result, indent=1))
        return 0
    line = '=' * 60
    height, width = result['input_shape'][2:]
    print(line)
    print(f'Config: {args.config}')
    print(f'Task: {result["task"]} ({result["scope"]}), input {width}x{height} (W x H), batch 1')
    print(f'Params: {result["params"] / 1e6:.2f} M (backbone {result["backbone_params"] / 1e6:.2f} M)')
    print(f'FLOPs: {result["flops"] / 1e9:.2f} G (backbone {result["backbone_flops"] / 1e9:.2f} G); '
          '1 FLOP = 1 multiply-accumulate')
    if result['num_rois'] is not None:
        print(f'RoIs entering the RoI head: {result["num_rois"]} (its cost scales with them)')
    rescaled = {name: rois for name, rois in result['mask_rois'].items() if rois > MASK_HEAD_ROIS}
    if rescaled:
        print(f'Mask heads counted at {MASK_HEAD_ROIS} RoIs, as mmdet 2.x and the standard RoI head run them '
              f'(traced on: {", ".join(f"{name} {rois}" for name, rois in rescaled.items())}); '
              'the by-operator line is the traced run\'s')
    top = ', '.join(f'{op} {flops / 1e9:.2f}' for op, flops in list(result['by_operator'].items())[:8])
    print(f'By operator (G): {top}')
    if result['uncounted_ops']:
        print('WARNING: operators without a FLOP handle, counted as 0: '
              + ', '.join(f'{op} x{n}' for op, n in result['uncounted_ops'].items()))
    if args.per_module:
        print(f'{"module":<50} {"params (M)":>11} {"FLOPs (G)":>10}')
        for name, params, flops in per_module_rows(result, args.per_module):
            print(f'{"  " * name.count(".") + name:<50} {params / 1e6:>11.3f} {flops / 1e9:>10.3f}')
    print(line)
    return 0


if __name__ == '__main__':
    sys.exit(main())
