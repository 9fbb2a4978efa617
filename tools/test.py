"""Evaluate a checkpoint: ``python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out FILE] ...``

The same flags as mmpretrain's, mmdet's and mmseg's tools/test.py, for classification, detection and
segmentation configs alike (the task is read from the config's ``default_scope``).
"""
import argparse
import os
import os.path as osp
import sys

from mmengine.config import Config, DictAction

import mmattn.compat
from mmattn.utils.config_check import unknown_option_keys
from mmattn.utils.data_check import find_missing_data


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Evaluate a checkpoint')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save evaluation results and logs')
    parser.add_argument('--out', help='classification and detection: dump the predictions (or, with '
                        '--out-item metrics, the metrics) to this pickle file; segmentation: write the predicted '
                        'label maps (PNG) into this directory')
    parser.add_argument('--out-item', choices=['metrics', 'pred'], default='pred',
                        help="what --out dumps for classification and detection: the metrics or the raw "
                        "predictions. Defaults to 'pred'")
    parser.add_argument('--show-dir', help='draw the predictions onto the test images and save them here')
    parser.add_argument('--show', action='store_true', help='display the drawn predictions in a window')
    parser.add_argument('--wait-time', type=float, default=2, help='seconds each --show window stays')
    parser.add_argument('--tta', action='store_true',
                        help="test-time augmentation with the config's tta_pipeline and tta_model (segmentation: "
                        'multi-scale + flip)')
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
        unknown = unknown_option_keys(cfg, args.cfg_options)
        if unknown:
            sys.exit(unknown)
        cfg.merge_from_dict(args.cfg_options)
    if args.show or args.show_dir:
        enable_visualization(cfg, args)
    if args.tta:
        use_tta(cfg)
    if args.out and task_of(cfg) == 'segmentation':
        # mmseg's IoUMetric writes the predicted label maps itself
        cfg.test_evaluator.update(output_dir=args.out, keep_results=True)
    mmattn.compat.adapt_config(cfg, args.launcher)
    return cfg


def task_of(cfg) -> str:
    return {'mmdet': 'detection', 'mmseg': 'segmentation'}.get(cfg.get('default_scope'), 'classification')


def enable_visualization(cfg, args):
    """Switch on the downstream library's visualisation hook, as its own tools/test.py does."""
    hook = cfg.default_hooks.get('visualization')
    if not hook:
        sys.exit('--show/--show-dir: the config has no default_hooks.visualization to draw with.')
    if task_of(cfg) == 'classification':  # mmpretrain's VisualizationHook
        hook.update(enable=True, out_dir=args.show_dir, show=args.show, wait_time=args.wait_time)
        return
    hook.update(draw=True, show=args.show, wait_time=args.wait_time)
    if args.show_dir and task_of(cfg) == 'detection':
        hook['test_out_dir'] = osp.abspath(args.show_dir)
    elif args.show_dir:  # mmseg's hook saves through the visualizer's backends, every `interval` images
        cfg.visualizer['save_dir'] = args.show_dir
        hook['interval'] = 1


def use_tta(cfg):
    """Wrap the model in the config's ``tta_model`` and test with its ``tta_pipeline``."""
    if not cfg.get('tta_pipeline') or not cfg.get('tta_model'):
        sys.exit('--tta: the config defines no tta_pipeline / tta_model (the mmseg ADE20K configs do).')
    dataset = cfg.test_dataloader.dataset
    while isinstance(dataset.get('dataset'), dict):  # wrappers such as RepeatDataset
        dataset = dataset.dataset
    dataset.pipeline = cfg.tta_pipeline
    cfg.tta_model.module = cfg.model
    cfg.model = cfg.tta_model


def main(argv=None):
    args = parse_args(argv)
    if '://' not in args.checkpoint and not osp.isfile(args.checkpoint):
        sys.exit(f'Checkpoint not found: {args.checkpoint}')
    cfg = merge_args(Config.fromfile(args.config), args)
    missing = find_missing_data(cfg, ('test_dataloader', ))
    if missing:
        sys.exit(missing)
    from mmattn.engine import RUN_STOPPING_ERRORS, build_runner, require_exact_checkpoints
    runner = build_runner(cfg)
    require_exact_checkpoints(runner)
    if args.out and args.out_item == 'pred' and task_of(cfg) != 'segmentation':
        from mmengine.evaluator import DumpResults
        if task_of(cfg) == 'detection':  # encodes masks as RLE, as mmdet's tools do
            from mmdet.evaluation import DumpDetResults as DumpResults
        runner.test_evaluator.metrics.append(DumpResults(out_file_path=args.out))
    try:
        metrics = runner.test()
    except RUN_STOPPING_ERRORS as error:
        sys.exit(f'{type(error).__name__}: {error}')
    mmattn.compat.close_distributed()
    if args.out and args.out_item == 'metrics':
        import mmengine
        mmengine.dump(metrics, args.out)
    return metrics


if __name__ == '__main__':
    main()
