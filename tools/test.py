"""Evaluate a checkpoint: ``python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out FILE] ...``"""
import argparse
import os
import os.path as osp
import sys

from mmengine.config import Config, DictAction

import mmattn.compat
from mmattn.utils.data_check import find_missing_data


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Evaluate a checkpoint')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save evaluation results and logs')
    parser.add_argument('--out', help='dump the predictions to this pickle file')
    parser.add_argument('--out-item', choices=['metrics', 'pred'], default='pred',
                        help="what --out dumps: the metrics or the raw predictions. Defaults to 'pred'")
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings in the config, key=value pairs')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none',
                        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def merge_args(cfg, args):
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    mmattn.compat.adapt_config(cfg, args.launcher)
    return cfg


def main(argv=None):
    args = parse_args(argv)
    if not osp.isfile(args.checkpoint):
        sys.exit(f'Checkpoint not found: {args.checkpoint}')
    cfg = merge_args(Config.fromfile(args.config), args)
    missing = find_missing_data(cfg, ('test_dataloader', ))
    if missing:
        sys.exit(missing)
    from mmengine.runner import Runner
    runner = Runner.from_cfg(cfg)
    if args.out and args.out_item == 'pred':
        from mmengine.evaluator import DumpResults
        runner.test_evaluator.metrics.append(DumpResults(out_file_path=args.out))
    metrics = runner.test()
    mmattn.compat.close_distributed()
    if args.out and args.out_item == 'metrics':
        import mmengine
        mmengine.dump(metrics, args.out)
    return metrics


if __name__ == '__main__':
    main()
