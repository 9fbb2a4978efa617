"""Shrink a real experiment config into a seconds-long run on the synthetic data (used by the e2e tests)."""
from mmengine.config import Config

SIZE_KEYS = {'RandomResizedCrop': 'scale', 'CenterCrop': 'crop_size', 'ResizeEdge': 'scale',
             'Resize': 'scale', 'RandomCrop': 'crop_size'}


def _shrink_pipeline(pipeline, size):
    for step in pipeline:
        key = SIZE_KEYS.get(step.get('type'))
        if key:
            step[key] = size
        if step.get('type') == 'RandAugment':
            step['num_policies'] = 1


def make_smoke_config(config_path, data_root, work_dir, num_classes=4, image_size=32, max_iters=4,
                      batch_size=4, out_path=None):
    """Load ``config_path``, point it at ``data_root`` and make it tiny; dump and return the new path."""
    cfg = Config.fromfile(config_path)
    cfg.work_dir = work_dir
    cfg.model.head.num_classes = num_classes
    if cfg.model.get('data_preprocessor'):
        cfg.model.data_preprocessor.num_classes = num_classes
    if cfg.get('data_preprocessor'):
        cfg.data_preprocessor.num_classes = num_classes
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg[key]
        loader.batch_size = batch_size
        loader.num_workers = 0
        loader.persistent_workers = False
        loader.dataset.data_root = data_root
        _shrink_pipeline(loader.dataset.pipeline, image_size)
    cfg.train_dataloader.dataset.pipeline = [p for p in cfg.train_dataloader.dataset.pipeline
                                             if p['type'] != 'RandAugment']  # speed; covered elsewhere
    cfg.val_evaluator = cfg.test_evaluator = dict(type='Accuracy', topk=(1, ))
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
    cfg.val_cfg = cfg.test_cfg = dict()
    cfg.param_scheduler = [dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=2)]
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=max_iters // 2, by_epoch=False)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.log_processor = dict(by_epoch=False)
    cfg.pop('custom_hooks', None)  # e.g. EMA: exercised by its own configs' tests
    out_path = out_path or f'{work_dir}/smoke_config.py'
    cfg.dump(out_path)
    return out_path
