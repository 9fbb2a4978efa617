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
                      batch_size=4, keep_custom_hooks=False, out_path=None):
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
    if not keep_custom_hooks:
        cfg.pop('custom_hooks', None)  # e.g. EMA
    out_path = out_path or f'{work_dir}/smoke_config.py'
    cfg.dump(out_path)
    return out_path


def train_smoke(config_path, data_root, work_dir, **smoke_options):
    """Train the shrunk ``config_path`` through tools/train.py; return ``(smoke config, work_dir, log)``."""
    from tests.conftest import run_tool
    config = make_smoke_config(config_path, data_root, work_dir, **smoke_options)
    result = run_tool('tools/train.py', config, '--work-dir', work_dir)
    assert result.returncode == 0, result.stdout[-4000:]
    return config, work_dir, result.stdout


def evaluate(config, checkpoint, *args):
    """tools/test.py must succeed and report top-1; returns its output."""
    import re

    from tests.conftest import run_tool
    result = run_tool('tools/test.py', config, str(checkpoint), *args)
    assert result.returncode == 0, result.stdout[-4000:]
    assert re.search(r'accuracy/top1: [\d.]+', result.stdout)
    return result.stdout


DENSE_SIZE_KEYS = ('scale', 'scales', 'crop_size', 'size', 'stride')


def _scale_sizes(node, factor):
    """Multiply every (w, h)-like size under the size keys of ``node`` by ``factor`` (recursively)."""
    def scaled(value):
        if isinstance(value, (list, tuple)) and value and all(isinstance(v, (list, tuple)) for v in value):
            return [scaled(v) for v in value]
        if isinstance(value, (list, tuple)) and all(isinstance(v, int) for v in value):
            return tuple(max(8, int(round(v * factor))) for v in value)
        return value

    if isinstance(node, dict):
        for key, value in node.items():
            if key in DENSE_SIZE_KEYS:
                node[key] = scaled(value)
            else:
                _scale_sizes(value, factor)
    elif isinstance(node, (list, tuple)):
        for value in node:
            _scale_sizes(value, factor)


def _set_everywhere(node, key, value):
    """Set ``key`` to ``value`` in every dict under ``node`` that has it."""
    if isinstance(node, dict):
        if key in node:
            node[key] = value
        for child in node.values():
            _set_everywhere(child, key, value)
    elif isinstance(node, (list, tuple)):
        for child in node:
            _set_everywhere(child, key, value)


def make_dense_smoke_config(config_path, data_root, work_dir, classes, size_factor, max_iters=2, batch_size=2,
                            pretrained=None, out_path=None):
    """Shrink a detection (mmdet) or segmentation (mmseg) experiment into a seconds-long run.

    The config's own pipelines, model and evaluator stay; only what ties it to COCO/ADE20K at full size
    changes: the data root and classes, every image size (scaled by ``size_factor``), the schedule (a few
    iterations) and the backbone's pretrained checkpoint (``pretrained``, or none).
    """
    cfg = Config.fromfile(config_path)
    cfg.work_dir = work_dir
    cfg.model.backbone.init_cfg = (dict(type='Pretrained', checkpoint=pretrained, prefix='backbone.')
                                   if pretrained else None)
    _set_everywhere(cfg.model, 'num_classes', len(classes))
    # a detector trained for two steps scores every box below the usual 0.05; keep them so that the metrics
    # are computed (an empty result set makes CocoMetric report nothing)
    _set_everywhere(cfg.model.get('test_cfg'), 'score_thr', 0.0)
    # a few objects an image: COCO's 1000-2000 proposals and 256/512 sampled RoIs would cost most of a step
    for key, value in (('nms_pre', 200), ('max_per_img', 100), ('num', 32)):
        _set_everywhere(cfg.model.get('train_cfg'), key, value)
        _set_everywhere(cfg.model.get('test_cfg'), key, value)
    _scale_sizes(cfg.model.get('data_preprocessor'), size_factor)
    _scale_sizes(cfg.model.get('test_cfg'), size_factor)
    _scale_sizes(cfg.get('tta_pipeline'), size_factor)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg[key]
        loader.batch_size = batch_size if key == 'train_dataloader' else 1
        loader.num_workers = 0
        loader.persistent_workers = False
        dataset = loader.dataset
        while isinstance(dataset.get('dataset'), dict):
            dataset = dataset.dataset
        dataset.data_root = data_root
        dataset.metainfo = dict(classes=tuple(classes))
        _scale_sizes(dataset.pipeline, size_factor)
    if cfg.default_scope == 'mmdet':
        for key in ('val_evaluator', 'test_evaluator'):
            cfg[key].ann_file = f'{data_root}/annotations/instances_val2017.json'
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
    cfg.val_cfg = dict(type='ValLoop')
    cfg.test_cfg = dict(type='TestLoop')
    cfg.param_scheduler = [dict(type='LinearLR', start_factor=0.5, by_epoch=False, begin=0, end=max_iters)]
    # the weights only: nothing resumes these runs, and AdamW's state would triple a write of 100-500 MB
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=max_iters, by_epoch=False,
                                        save_optimizer=False, save_param_scheduler=False)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.log_processor = dict(by_epoch=False)
    out_path = out_path or f'{work_dir}/smoke_config.py'
    cfg.dump(out_path)
    return out_path


def save_classifier_checkpoint(config_path, path, num_classes=4):
    """Save the (randomly initialised) classifier of ``config_path`` as the converters write it."""
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import MODELS

    import mmattn.models  # noqa: F401  (registers the backbones)
    from mmattn.converters.utils import save_converted
    cfg = Config.fromfile(config_path)
    cfg.model.head.num_classes = num_classes
    with DefaultScope.overwrite_default_scope('mmpretrain'):  # whatever scope an earlier in-process run left
        model = MODELS.build(cfg.model)
    save_converted(model.state_dict(), str(path), dict(arch='test', source_layout='mmattn'))
    return model.state_dict()
