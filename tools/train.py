"""Train a model from a config: ``python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] ...``

The same flags as mmpretrain's tools/train.py.
"""
import argparse
import os
import os.path as osp
import sys

from mmengine.config import Config, DictAction

import mmattn.compat
from mmattn.engine.loops import use_reproducible_loops
from mmattn.utils.config_check import unknown_option_keys
from mmattn.utils.data_check import find_missing_data


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from the given checkpoint, or from the latest checkpoint in the work dir '
                        'when no path is given')
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision: fp16 AMP on GPU, bfloat16 autocast on CPU')
    parser.add_argument('--no-validate', action='store_true', help='do not evaluate during training')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the lr by the actual batch size over auto_scale_lr.base_batch_size')
    parser.add_argument('--no-pin-memory', action='store_true', help='no pin_memory in dataloaders')
    parser.add_argument('--no-persistent-workers', action='store_true',
                        help='no persistent_workers in dataloaders')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings in the config, key=value pairs (e.g. model.backbone.arch=small)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none',
                        help='job launcher')
    parser.add_argument('--dist-timeout', type=float, default=1800,
                        help='seconds a distributed collective may wait for the other ranks before the run stops '
                        '(a hung rank would otherwise hold every rank). Defaults to 1800')
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
    if args.amp:
        import torch
        wrapper_type = 'AmpOptimWrapper' if torch.cuda.is_available() else 'mmattn.CpuAmpOptimWrapper'
        cfg.optim_wrapper.type = wrapper_type
        if wrapper_type == 'AmpOptimWrapper':
            cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    if args.auto_scale_lr:
        cfg.setdefault('auto_scale_lr', {})['enable'] = True
    if args.no_validate:
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None

    def set_loader_flag(name, value):
        for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
            if cfg.get(key):
                cfg[key][name] = value

    if args.no_pin_memory:
        set_loader_flag('pin_memory', False)
    if args.no_persistent_workers:
        set_loader_flag('persistent_workers', False)
    cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['timeout'] = args.dist_timeout
    hooks = cfg.get('custom_hooks') or []
    if not any(str(hook.get('type', '')).endswith('NonFiniteGuardHook') for hook in hooks):
        cfg.custom_hooks = [*hooks, dict(type='mmattn.NonFiniteGuardHook')]
    if args.cfg_options is not None:
        unknown = unknown_option_keys(cfg, args.cfg_options)
        if unknown:
            sys.exit(unknown)
        cfg.merge_from_dict(args.cfg_options)
    use_reproducible_loops(cfg)  # a run killed at any iteration resumes to the weights of an uninterrupted one
    mmattn.compat.adapt_config(cfg, args.launcher)
    return cfg


def main(argv=None):
    args = parse_args(argv)
    cfg = merge_args(Config.fromfile(args.config), args)
    missing = find_missing_data(cfg, ('train_dataloader', 'val_dataloader'))
    if missing:
        sys.exit(missing)
    from mmattn.engine import RUN_STOPPING_ERRORS, build_runner, require_exact_checkpoints
    runner = build_runner(cfg)
    if cfg.resume:  # the checkpoint resumed from must be this model's (load_from alone may fine-tune)
        require_exact_checkpoints(runner)
    try:
        runner.train()
    except RUN_STOPPING_ERRORS as error:
        sys.exit(f'{type(error).__name__}: {error}')
    mmattn.compat.close_distributed()


if __name__ == '__main__':
    main()
