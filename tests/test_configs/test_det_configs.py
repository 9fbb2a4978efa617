"""The COCO detection configs (``configs/{davit,dat,dilateformer}/*_coco.py``, GitHub issue 7).

Every config loads with its documented recipe (detector, arch, FPN channels, drop path, checkpoint path, data
pipeline, AdamW schedule); one model per backbone x detector pair is built with mmdet (without loading the
pretrained classifier, so no checkpoint is needed) and its backbone feeds the FPN the channels it expects at
strides 4/8/16/32 for an odd input size; the DaViT Mask R-CNN and RetinaNet models have the paper's parameter
counts to 0.1M (DAT's the published rounded values); the built optimiser gives norms, biases and attention-bias
tables no weight decay; the multi-scale + crop training pipeline runs; ``with_cp`` is settable from the command
line; a missing checkpoint names its converter; and the metafiles list every config with its parameter count.

Loading a config with ``mmdet::`` bases makes mmengine parse all of mmdet's metafiles (about 0.5 s per base);
the module-scoped ``_memoised_metafiles`` fixture reads each of them once, and every config is loaded once.
"""
import functools
import glob
import math
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from tests.test_configs.decay_rules import check_no_decay_on_norms_biases_and_tables

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = {
    osp.basename(p)[:-3]: p
    for p in sorted(glob.glob(osp.join(REPO, 'configs', '*', '*_coco.py')))
    if osp.basename(osp.dirname(p)) != '_base_'
}
NAME = re.compile(r'^(mask-rcnn|retinanet|cascade-mask-rcnn)_(davit|datpp|dat|dilateformer)-(tiny|small|base)_fpn_'
                  r'ms-crop-(1x|3x)_coco$')

# The grid of GitHub issue 7 with the documented drop-path rates (configs/*/README.md): DaViT-T official;
# DAT from DAT++ (Base 1x extrapolated); DilateFormer and DaViT-S/B our choices.
DROP_PATH = {}
for _det, _model, _sched, _rates in [
        ('mask-rcnn', 'davit', '1x', (0.1, 0.2, 0.2)), ('mask-rcnn', 'davit', '3x', (0.2, 0.3, 0.3)),
        ('retinanet', 'davit', '1x', (0.1, 0.2, 0.2)), ('retinanet', 'davit', '3x', (0.2, 0.3, 0.3)),
        ('mask-rcnn', 'dat', '1x', (0.0, 0.1, 0.2)), ('mask-rcnn', 'dat', '3x', (0.3, 0.5, 0.8)),
        ('retinanet', 'dat', '1x', (0.0, 0.1, 0.2)), ('retinanet', 'dat', '3x', (0.2, 0.5, 0.8)),
        ('cascade-mask-rcnn', 'dat', '3x', (0.1, 0.5, 0.8)),
        ('mask-rcnn', 'dilateformer', '1x', (0.2, 0.2, 0.3)), ('mask-rcnn', 'dilateformer', '3x', (0.2, 0.2, 0.3)),
        ('cascade-mask-rcnn', 'dilateformer', '3x', (0.2, 0.2, 0.3))]:
    for _size, _rate in zip(('tiny', 'small', 'base'), _rates):
        DROP_PATH[f'{_det}_{_model}-{_size}_fpn_ms-crop-{_sched}_coco'] = _rate
# DAT++: the official DAT-Detection grid (models.md 3.4), drop path from its file names
for _det, _size, _sched, _rate in [
        ('retinanet', 'tiny', '1x', 0.0), ('retinanet', 'tiny', '3x', 0.2), ('retinanet', 'small', '1x', 0.1),
        ('retinanet', 'small', '3x', 0.5), ('mask-rcnn', 'tiny', '1x', 0.0), ('mask-rcnn', 'tiny', '3x', 0.3),
        ('mask-rcnn', 'small', '1x', 0.1), ('mask-rcnn', 'small', '3x', 0.5),
        ('cascade-mask-rcnn', 'tiny', '1x', 0.0), ('cascade-mask-rcnn', 'tiny', '3x', 0.1),
        ('cascade-mask-rcnn', 'small', '3x', 0.5), ('cascade-mask-rcnn', 'base', '3x', 0.8)]:
    DROP_PATH[f'{_det}_datpp-{_size}_fpn_ms-crop-{_sched}_coco'] = _rate

BACKBONE_TYPES = {'davit': 'mmattn.DaViT', 'dat': 'mmattn.DAT', 'datpp': 'mmattn.DATPlusPlus',
                  'dilateformer': 'mmattn.DilateFormer'}
DETECTOR_TYPES = {'mask-rcnn': 'MaskRCNN', 'retinanet': 'RetinaNet', 'cascade-mask-rcnn': 'CascadeRCNN'}
EMBED_DIMS = {
    'davit': {'tiny': [96, 192, 384, 768], 'small': [96, 192, 384, 768], 'base': [128, 256, 512, 1024]},
    'dat': {'tiny': [96, 192, 384, 768], 'small': [96, 192, 384, 768], 'base': [128, 256, 512, 1024]},
    'datpp': {'tiny': [64, 128, 256, 512], 'small': [96, 192, 384, 768], 'base': [128, 256, 512, 1024]},
    'dilateformer': {'tiny': [72, 144, 288, 576], 'small': [72, 144, 288, 576], 'base': [96, 192, 384, 768]},
}


def expected_lr(name):
    """AdamW lr at batch 16: 1e-4, except DAT++ RetinaNet (the official 2e-4 at 64 images, over 4)."""
    return 5e-5 if name.startswith('retinanet_datpp-') else 1e-4
# DaViT paper / official README, in M: Mask R-CNN and RetinaNet (80 classes)
DAVIT_PARAMS_M = {
    ('mask-rcnn', 'tiny'): 47.8, ('mask-rcnn', 'small'): 69.2, ('mask-rcnn', 'base'): 107.3,
    ('retinanet', 'tiny'): 38.5, ('retinanet', 'small'): 59.9, ('retinanet', 'base'): 98.5,
}
MS_SCALES = [(short, 1333) for short in range(480, 801, 32)]
# one model per backbone x detector pair is built (Tiny, 1x where it exists)
PAIRS = sorted({(m.group(1), m.group(2)) for m in map(NAME.match, DROP_PATH)})
BUILT = [f'{det}_{model}-tiny_fpn_ms-crop-{"3x" if det.startswith("cascade") else "1x"}_coco'
         for det, model in PAIRS]


def parse_name(name):
    match = NAME.match(name)
    assert match, f'{name} does not follow {{detector}}_{{backbone}}-{{size}}_fpn_ms-crop-{{1x|3x}}_coco'
    return match.groups()  # detector, model, size, schedule


@pytest.fixture(scope='module', autouse=True)
def _memoised_metafiles():
    """Let mmengine parse each of mmdet's metafiles once in this module instead of once per ``mmdet::`` base."""
    import mmengine.config.utils as config_utils
    original, cache = config_utils.load, {}

    def load(file, *args, **kwargs):
        if args or kwargs or not isinstance(file, str):
            return original(file, *args, **kwargs)
        if file not in cache:
            cache[file] = original(file)
        return cache[file]

    config_utils.load = load
    yield
    config_utils.load = original


@functools.lru_cache(maxsize=None)
def _load(name):
    from mmattn.compat import adapt_config
    cfg = Config.fromfile(CONFIGS[name])
    adapt_config(cfg)  # as the tools do: SyncBN -> BN without CUDA
    return cfg


def load_config(name):
    return _load(name).copy()  # Config.copy is deep enough for the tests: they only read or rebind keys


def build_detector(cfg, **backbone_options):
    from mmdet.registry import MODELS
    from mmengine.utils import import_modules_from_strings
    import_modules_from_strings(**cfg.custom_imports)
    model_cfg = cfg.model.copy()
    model_cfg.backbone.update(backbone_options)
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        return MODELS.build(model_cfg)  # init_weights is not called: no checkpoint is read


@pytest.fixture(scope='module')
def detector(request):
    """``(config, model)`` for ``request.param`` (a config name), built once per module."""
    cfg = load_config(request.param)
    return cfg, build_detector(cfg).eval()


def test_the_issue_grid_is_complete():
    assert sorted(CONFIGS) == sorted(DROP_PATH)


def test_every_detector_backbone_pair_is_built():
    assert len(PAIRS) == 10 and all(name in CONFIGS for name in BUILT)


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_config_holds_the_documented_recipe(name):
    cfg = load_config(name)
    det, model, size, sched = parse_name(name)
    assert cfg.default_scope == 'mmdet'
    assert cfg.custom_imports == dict(imports=['mmattn.models'], allow_failed_imports=False)
    assert cfg.model.type == DETECTOR_TYPES[det]

    backbone = cfg.model.backbone
    assert backbone.type == BACKBONE_TYPES[model] and backbone.arch == size
    assert backbone.out_type == 'featmap'
    assert backbone.drop_path_rate == DROP_PATH[name]
    assert backbone.with_cp is False  # settable: --cfg-options model.backbone.with_cp=True
    assert backbone.get('norm_eval', False) == (model == 'dilateformer')  # its stem/downsample BatchNorms
    assert backbone.get('frozen_stages', -1) == -1
    assert backbone.init_cfg == dict(type='Pretrained', checkpoint=f'checkpoints/{model}-{size}_in1k.pth',
                                     prefix='backbone.')

    # the FPN takes exactly the maps the backbone returns: all 4 stages, or stages 1-3 for RetinaNet
    neck, dims = cfg.model.neck, EMBED_DIMS[model][size]
    indices = (1, 2, 3) if det == 'retinanet' else (0, 1, 2, 3)
    assert tuple(backbone.out_indices) == indices
    assert list(neck.in_channels) == [dims[i] for i in indices]
    assert neck.type == 'FPN' and neck.out_channels == 256 and neck.num_outs == 5 and neck.get('start_level', 0) == 0
    if det == 'retinanet':
        assert neck.add_extra_convs == 'on_input' and cfg.model.bbox_head.num_classes == 80
    else:
        heads = cfg.model.roi_head.bbox_head
        heads = heads if isinstance(heads, list) else [heads]
        assert all(h.num_classes == 80 for h in heads) and cfg.model.roi_head.mask_head.num_classes == 80
    if det == 'cascade-mask-rcnn':  # Swin / DAT++ Cascade heads: 4conv1fc + GIoU, decoded boxes
        assert [h.type for h in heads] == ['ConvFCBBoxHead'] * 3
        assert all(h.num_shared_convs == 4 and h.num_shared_fcs == 1 and h.reg_decoded_bbox for h in heads)
        assert all(h.loss_bbox == dict(type='GIoULoss', loss_weight=10.0) for h in heads)
        assert [h.bbox_coder.target_stds[0] for h in heads] == [0.1, 0.05, 0.033]

    # DETR-style multi-scale + crop training for 1x and 3x; 2 images per GPU, single-scale test at 1333x800
    pipeline = cfg.train_dataloader.dataset.pipeline
    assert cfg.train_dataloader.batch_size == 2
    load = pipeline[1]
    assert (load.type, load.with_bbox, load.get('with_mask', False)) == ('LoadAnnotations', True, det != 'retinanet')
    choice = [t for t in pipeline if t.type == 'RandomChoice']
    assert len(choice) == 1 and len(choice[0].transforms) == 2
    resize_only, resize_crop_resize = choice[0].transforms
    assert [t.type for t in resize_only] == ['RandomChoiceResize']
    assert [list(map(tuple, t.scales)) for t in resize_only] == [MS_SCALES]
    assert [t.type for t in resize_crop_resize] == ['RandomChoiceResize', 'RandomCrop', 'RandomChoiceResize']
    first, crop, last = resize_crop_resize
    assert list(map(tuple, first.scales)) == [(400, 1333), (500, 1333), (600, 1333)]
    assert (crop.crop_type, tuple(crop.crop_size), crop.allow_negative_crop) == ('absolute_range', (384, 600), True)
    assert list(map(tuple, last.scales)) == MS_SCALES
    assert all(t.keep_ratio for t in (*resize_only, first, last))
    test_resize = [t for t in cfg.test_dataloader.dataset.pipeline if t.type == 'Resize']
    assert [tuple(t.scale) for t in test_resize] == [(1333, 800)]
    metric = cfg.val_evaluator.metric
    assert (metric if isinstance(metric, str) else tuple(metric)) == ('bbox' if det == 'retinanet' else
                                                                       ('bbox', 'segm'))

    # AdamW 1e-4 / 0.05 at batch 16, 500 warm-up iterations, steps [8, 11] / 12 or [27, 33] / 36 epochs
    optim = cfg.optim_wrapper
    assert optim.type == 'OptimWrapper'
    adamw = optim.optimizer
    assert (adamw.type, adamw.lr, tuple(adamw.betas), adamw.weight_decay) == ('AdamW', expected_lr(name), (0.9, 0.999),
                                                                             0.05)
    assert optim.get('clip_grad') is None
    assert optim.paramwise_cfg.norm_decay_mult == 0 and optim.paramwise_cfg.bias_decay_mult == 0
    assert cfg.auto_scale_lr.base_batch_size == 16
    epochs, milestones = {'1x': (12, [8, 11]), '3x': (36, [27, 33])}[sched]
    warmup, steps = cfg.param_scheduler
    assert (warmup.type, warmup.start_factor, warmup.by_epoch, warmup.end) == ('LinearLR', 0.001, False, 500)
    assert (steps.type, steps.milestones, steps.end, steps.gamma) == ('MultiStepLR', milestones, epochs, 0.1)
    assert cfg.train_cfg.max_epochs == epochs


@pytest.mark.parametrize('detector', BUILT, indirect=True)
def test_backbone_feeds_the_fpn_at_strides_4_to_32(detector):
    cfg, model = detector
    height, width = 97, 131
    with torch.no_grad():
        maps = model.backbone(torch.randn(1, 3, height, width))
        pyramid = model.neck(maps)
    strides = (8, 16, 32) if cfg.model.type == 'RetinaNet' else (4, 8, 16, 32)
    assert [m.shape[1] for m in maps] == list(cfg.model.neck.in_channels)
    assert [tuple(m.shape[2:]) for m in maps] == [(math.ceil(height / s), math.ceil(width / s)) for s in strides]
    assert len(pyramid) == 5 and all(p.shape[1] == 256 for p in pyramid)
    first = strides[0]
    assert [tuple(p.shape[2:]) for p in pyramid] == [(math.ceil(height / s), math.ceil(width / s))
                                                      for s in (first, 2 * first, 4 * first, 8 * first, 16 * first)]


@pytest.mark.parametrize('name', [f'{det}_davit-{size}_fpn_ms-crop-1x_coco' for det, size in DAVIT_PARAMS_M])
def test_davit_params_match_the_paper(name):
    det, _, size, _ = parse_name(name)
    model = build_detector(load_config(name))
    params = sum(p.numel() for p in model.parameters()) / 1e6
    assert abs(params - DAVIT_PARAMS_M[(det, size)]) < 0.1, params


@pytest.mark.parametrize('detector', [n for n in BUILT if '_dat-' in n], indirect=True)
def test_dat_params_match_the_published_rounded_values(detector):
    # DAT v1 paper via the QFormer tables: Mask R-CNN-T 48M, RetinaNet-T 38M [U], Cascade-T 86M (rounded to 1M)
    cfg, model = detector
    published = {'MaskRCNN': 48, 'RetinaNet': 38, 'CascadeRCNN': 86}[cfg.model.type]
    assert round(sum(p.numel() for p in model.parameters()) / 1e6) == published


@pytest.mark.parametrize('detector', BUILT, indirect=True)
def test_no_weight_decay_on_norms_biases_and_position_tables(detector, request):
    cfg, model = detector
    lr = check_no_decay_on_norms_biases_and_tables(cfg, model)
    assert set(lr.values()) == {expected_lr(request.node.callspec.params['detector'])}


@pytest.mark.parametrize('model', sorted(BACKBONE_TYPES))
def test_with_cp_is_settable_from_the_command_line(model):
    from mmdet.registry import MODELS
    cfg = load_config(f'mask-rcnn_{model}-tiny_fpn_ms-crop-1x_coco')
    cfg.merge_from_dict({'model.backbone.with_cp': True})  # --cfg-options model.backbone.with_cp=True
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        backbone = MODELS.build(cfg.model.backbone)
    assert all(stage.with_cp for stage in backbone.stages)


@pytest.mark.parametrize('model', sorted(BACKBONE_TYPES))
def test_missing_checkpoint_names_the_converter(model, tmp_path):
    """The documented checkpoint path, when absent, stops init_weights with the converter command."""
    cfg = load_config(f'mask-rcnn_{model}-tiny_fpn_ms-crop-1x_coco')
    missing = str(tmp_path / f'{model}-tiny_in1k.pth')
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        from mmdet.registry import MODELS
        backbone_cfg = cfg.model.backbone.copy()
        backbone_cfg.init_cfg.checkpoint = missing
        backbone = MODELS.build(backbone_cfg)
    with pytest.raises(FileNotFoundError, match=f'tools/model_converters/{model}2mmattn.py'):
        backbone.init_weights()


def metafile_entries():
    import yaml
    entries = {}
    for model in BACKBONE_TYPES:
        with open(osp.join(REPO, 'configs', model, 'metafile.yml')) as f:
            for entry in yaml.safe_load(f)['Models']:
                if entry.get('Config', '').endswith('_coco.py'):
                    entries[entry['Name']] = entry
    return entries


def test_metafiles_list_every_detection_config():
    entries = metafile_entries()
    assert sorted(entries) == sorted(CONFIGS)
    for name, entry in entries.items():
        _, model, _, _ = parse_name(name)
        assert entry['Config'] == f'configs/{model}/{name}.py' and entry['Weights'] is None
        assert entry['In Collection'] == {'davit': 'DaViT', 'dat': 'DAT', 'datpp': 'DAT++',
                                          'dilateformer': 'DilateFormer'}[model]
        for result in entry.get('Results', []):
            assert result['Dataset'] == 'COCO'
            assert set(result['Metrics']) == {'Object Detection': {'box AP'},
                                              'Instance Segmentation': {'mask AP'}}[result['Task']]


@pytest.mark.parametrize('detector', BUILT, indirect=True)
def test_metafile_params_are_the_built_models(detector, request):
    _, model = detector
    name = request.node.callspec.params['detector']
    assert metafile_entries()[name]['Metadata']['Parameters'] == sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize('name', ['mask-rcnn_davit-tiny_fpn_ms-crop-1x_coco',
                                  'retinanet_davit-tiny_fpn_ms-crop-1x_coco'])
def test_train_pipeline_runs(name, tmp_path):
    """The multi-scale + crop pipeline builds with mmdet's transforms and yields 480-800 short sides."""
    import cv2
    import numpy as np
    from mmcv.transforms import Compose
    from mmengine.registry import init_default_scope
    cfg = load_config(name)
    init_default_scope(cfg.default_scope)
    image = str(tmp_path / 'image.jpg')
    cv2.imwrite(image, np.random.RandomState(0).randint(0, 256, (427, 640, 3), dtype=np.uint8))
    pipeline = Compose(cfg.train_dataloader.dataset.pipeline)
    shorts = set()
    for seed in range(12):
        np.random.seed(seed)
        instances = [dict(bbox=[100., 100., 300., 250.], bbox_label=3, ignore_flag=0,
                          mask=[[100., 100., 300., 100., 300., 250., 100., 250.]])]
        out = pipeline(dict(img_path=image, img_id=0, height=427, width=640, instances=instances))
        height, width = out['inputs'].shape[1:]
        shorts.add(min(height, width))
        assert max(height, width) <= 1333 and out['data_samples'].gt_instances.bboxes.shape[1] == 4
        assert ('masks' in out['data_samples'].gt_instances) == name.startswith('mask-rcnn')
    assert min(shorts) >= 480 and max(shorts) <= 800 and len(shorts) > 1
