"""The ADE20K segmentation configs (``configs/{davit,dat,dilateformer}/*_ade20k-512x512.py``).

Every config loads with its documented recipe and builds with mmseg (without loading the pretrained
classifier); its backbone feeds the heads the channels they expect at strides 4/8/16/32 for an odd input size;
whole-image and sliding-window inference return full-size maps at sizes that are not multiples of the crop;
the DaViT UPerNet models have the paper's parameter counts; and norms, biases and attention-bias tables get no
weight decay. Each model is built once (module-scoped fixture) and shared by the tests that need it.
"""
import copy
import functools
import glob
import math
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config, ConfigDict
from mmengine.registry import DefaultScope

from tests.test_configs.decay_rules import check_no_decay_on_norms_biases_and_tables

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = {osp.basename(p)[:-3]: p for p in sorted(glob.glob(osp.join(REPO, 'configs', '*', '*_ade20k-*.py')))}

UPERNET, FPN = 'upernet_8xb2-160k_ade20k-512x512', 'fpn_8xb2-80k_ade20k-512x512'
# the grid of GitHub issue 8, with the documented drop-path rates (configs/*/README.md)
DROP_PATH = {
    f'davit-tiny_{UPERNET}': 0.3, f'davit-small_{UPERNET}': 0.3, f'davit-base_{UPERNET}': 0.3,
    f'dat-tiny_{UPERNET}': 0.3, f'dat-small_{UPERNET}': 0.5, f'dat-base_{UPERNET}': 0.7,
    f'dat-tiny_{FPN}': 0.4, f'dat-small_{FPN}': 0.4, f'dat-base_{FPN}': 0.7,
    f'datpp-tiny_{UPERNET}': 0.3, f'datpp-small_{UPERNET}': 0.5, f'datpp-base_{UPERNET}': 0.7,
    f'datpp-tiny_{FPN}': 0.4, f'datpp-small_{FPN}': 0.4, f'datpp-base_{FPN}': 0.7,
    f'dilateformer-tiny_{UPERNET}': 0.3, f'dilateformer-small_{UPERNET}': 0.3, f'dilateformer-base_{UPERNET}': 0.3,
    f'dilateformer-tiny_{FPN}': 0.3, f'dilateformer-small_{FPN}': 0.3, f'dilateformer-base_{FPN}': 0.3,
}
BACKBONE_TYPES = {'davit': 'mmattn.DaViT', 'dat': 'mmattn.DAT', 'datpp': 'mmattn.DATPlusPlus',
                  'dilateformer': 'mmattn.DilateFormer'}
# DaViT paper / official README: UPerNet params T 60M, S 81M, B 121M (rounded to 1M)
DAVIT_UPERNET_PARAMS_M = {'tiny': 60, 'small': 81, 'base': 121}
TINY = sorted(name for name in CONFIGS if '-tiny_' in name)


def parse_name(name):
    model, size, head = re.match(r'(\w+)-(tiny|small|base)_(upernet|fpn)_', name).groups()
    return model, size, head


@pytest.fixture(scope='module', autouse=True)
def _one_thread():
    """These forwards are small (a few hundred tokens per map): a second intra-op thread only adds overhead,
    and on a loaded 2-core machine it made them 20x slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@functools.lru_cache(maxsize=None)
def _read_config(name):
    return Config.fromfile(CONFIGS[name])


def load_config(name):
    """A fresh copy of config ``name``, adapted to this machine as the tools do (SyncBN -> BN without CUDA)."""
    from mmattn.compat import adapt_config
    cfg = copy.deepcopy(_read_config(name))
    adapt_config(cfg)
    return cfg


def head_channels(cfg):
    """The channels the first consumer of the backbone's maps expects (UPerHead or the FPN neck)."""
    return list(cfg.model.neck.in_channels if cfg.model.get('neck') else cfg.model.decode_head.in_channels)


def build_segmentor(cfg):
    from mmengine.utils import import_modules_from_strings
    from mmseg.registry import MODELS
    import_modules_from_strings(**cfg.custom_imports)  # as the Runner does
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        return MODELS.build(cfg.model).eval()


@pytest.fixture(scope='module')
def segmentor(request):
    """``(config, model)`` for ``request.param`` (a config name), built once without ``init_weights`` and
    without PyTorch's random initialisation (seconds for 100M parameters on 2 cores; the weights are left
    uninitialised): the tests that use it look at shapes, parameter counts and the optimiser, not at values."""
    cfg = load_config(request.param)
    with pytest.MonkeyPatch.context() as patch:
        for method in ('uniform_', 'normal_'):
            patch.setattr(torch.Tensor, method, lambda self, *args, **kwargs: self)
        model = build_segmentor(cfg)
    return cfg, model


def test_the_issue_grid_is_complete():
    assert sorted(CONFIGS) == sorted(DROP_PATH)


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_config_holds_the_documented_recipe(name):
    cfg = load_config(name)
    model, size, head = parse_name(name)
    assert cfg.default_scope == 'mmseg'
    assert cfg.custom_imports == dict(imports=['mmattn.models'], allow_failed_imports=False)
    assert cfg.tta_model.type == 'SegTTAModel' and cfg.tta_pipeline  # tools/test.py --tta
    backbone = cfg.model.backbone
    assert backbone.type == BACKBONE_TYPES[model] and backbone.arch == size
    assert backbone.out_type == 'featmap' and tuple(backbone.out_indices) == (0, 1, 2, 3)
    assert backbone.drop_path_rate == DROP_PATH[name]
    assert backbone.get('norm_eval', False) == (model == 'dilateformer')
    assert backbone.init_cfg == dict(type='Pretrained', checkpoint=f'checkpoints/{model}-{size}_in1k.pth',
                                     prefix='backbone.')
    assert cfg.model.get('pretrained') is None
    assert cfg.model.decode_head.num_classes == 150 and cfg.model.test_cfg.mode == 'whole'
    assert tuple(cfg.model.data_preprocessor.size) == (512, 512) and cfg.train_dataloader.batch_size == 2
    optimizer, schedulers = cfg.optim_wrapper.optimizer, cfg.param_scheduler
    assert optimizer.type == 'AdamW' and tuple(optimizer.betas) == (0.9, 0.999)
    poly = schedulers[-1]
    assert poly.type == 'PolyLR' and poly.eta_min == 0 and poly.end == cfg.train_cfg.max_iters
    if head == 'upernet':
        aux = cfg.model.auxiliary_head
        assert aux.in_index == 2 and aux.loss_decode.loss_weight == 0.4 and aux.num_classes == 150
        assert (optimizer.lr, optimizer.weight_decay, poly.power, cfg.train_cfg.max_iters) == (6e-5, 0.01, 1., 160000)
        warmup = schedulers[0]
        assert (warmup.type, warmup.start_factor, warmup.end, poly.begin) == ('LinearLR', 1e-6, 1500, 1500)
    else:
        assert cfg.model.neck.type == 'FPN' and cfg.model.decode_head.type == 'FPNHead'
        assert (optimizer.lr, optimizer.weight_decay, poly.power, cfg.train_cfg.max_iters) == (1e-4, 1e-4, .9, 80000)
        assert len(schedulers) == 1 and poly.begin == 0


_OUTPUT_SHAPES = {}


def backbone_output_shapes(backbone, backbone_cfg, height, width):
    """``(C, H, W)`` of each output for a ``height`` x ``width`` image; computed once per backbone arch (the
    UPerNet and Semantic FPN configs of a backbone differ only in drop path)."""
    key = (backbone_cfg.type, backbone_cfg.arch, height, width)
    if key not in _OUTPUT_SHAPES:
        flush = torch.set_flush_denormal(True)  # uninitialised weights: denormals would slow the CPU down
        try:
            with torch.no_grad():
                maps = backbone(torch.zeros(1, 3, height, width))
        finally:
            if flush:
                torch.set_flush_denormal(False)
        _OUTPUT_SHAPES[key] = [tuple(m.shape[1:]) for m in maps]
    return _OUTPUT_SHAPES[key]


@pytest.mark.parametrize('segmentor', sorted(CONFIGS), indirect=True)
def test_backbone_feeds_the_heads_at_strides_4_to_32(segmentor):
    cfg, model = segmentor
    height, width = 97, 131
    channels = head_channels(cfg)
    assert backbone_output_shapes(model.backbone, cfg.model.backbone, height, width) == [
        (c, math.ceil(height / s), math.ceil(width / s)) for c, s in zip(channels, (4, 8, 16, 32))]
    if cfg.model.get('auxiliary_head'):
        aux = cfg.model.auxiliary_head
        assert aux.in_channels == channels[aux.in_index]


# small archs of each backbone for the inference test (the full models take seconds per forward on 2 cores)
SMALL_ARCHS = {
    'davit': dict(embed_dims=[16, 32, 64, 128], depths=[1, 1, 1, 1], num_heads=[1, 2, 4, 8]),
    'dilateformer': dict(embed_dims=[24, 48, 96, 192], depths=[1, 1, 1, 1], num_heads=[3, 3, 6, 6],
                         dilated_stages=[True, True, False, False]),
    'dat': dict(embed_dims=[16, 32, 64, 128], depths=[2, 2, 2, 2], num_heads=[1, 2, 4, 8], num_groups=[1, 1, 2, 4],
                stage_specs=['LS', 'LS', 'LD', 'LD'], window_size=7, offset_kernel_sizes=[9, 7, 5, 3],
                offset_range_factors=[2, 2, 2, 2], img_size=224),
    'datpp': dict(embed_dims=[16, 32, 64, 128], depths=[1, 1, 1, 2], num_heads=[1, 2, 4, 8], num_groups=[1, 1, 2, 4],
                  stage_specs=['N', 'D', 'N', 'DD'], neighbourhood_size=7, offset_strides=[8, 4, 2, 1],
                  offset_kernel_sizes=[9, 7, 5, 3], img_size=224),
}


def small_segmentor(name):
    """The model of config ``name`` with a small arch of its backbone and narrow heads (same types, same
    test_cfg, same 150 classes), randomly initialised."""
    cfg = load_config(name)
    model_cfg = cfg.model
    dims = SMALL_ARCHS[parse_name(name)[0]]['embed_dims']
    model_cfg.backbone.arch = SMALL_ARCHS[parse_name(name)[0]]
    if model_cfg.get('neck'):
        model_cfg.neck.update(in_channels=dims, out_channels=32)
        model_cfg.decode_head.update(in_channels=[32] * 4, channels=16)
    else:
        model_cfg.decode_head.update(in_channels=dims, channels=32)
        model_cfg.auxiliary_head.update(in_channels=dims[2], channels=16)
    torch.manual_seed(0)
    return cfg, build_segmentor(cfg)


@pytest.mark.parametrize('name', TINY)
def test_whole_and_slide_inference_give_full_size_maps(name):
    cfg, model = small_segmentor(name)
    inputs = torch.randn(1, 3, 75, 101)  # neither a multiple of the crop nor of the stride
    with torch.no_grad():
        whole = model.predict(inputs)[0]
        model.test_cfg = ConfigDict(mode='slide', crop_size=(64, 64), stride=(43, 43))  # 2 x 2 overlapping windows
        slide = model.predict(inputs)[0]
        model.test_cfg = ConfigDict(mode='slide', crop_size=(128, 128), stride=(85, 85))  # one window: the image
        one_window = model.predict(inputs)[0]
    for result in (whole, slide, one_window):
        assert result.seg_logits.data.shape == (150, 75, 101)
        assert result.pred_sem_seg.data.shape == (1, 75, 101)
        assert torch.isfinite(result.seg_logits.data).all()
    torch.testing.assert_close(one_window.seg_logits.data, whole.seg_logits.data)
    assert not torch.allclose(slide.seg_logits.data, whole.seg_logits.data)


@pytest.mark.parametrize('segmentor', [f'davit-{size}_{UPERNET}' for size in DAVIT_UPERNET_PARAMS_M],
                         indirect=True)
def test_davit_upernet_params_match_the_paper(segmentor):
    cfg, model = segmentor
    params = sum(p.numel() for p in model.parameters())
    assert round(params / 1e6) == DAVIT_UPERNET_PARAMS_M[cfg.model.backbone.arch], params


@pytest.mark.parametrize('segmentor', TINY, indirect=True)
def test_no_weight_decay_on_norms_biases_and_position_tables(segmentor):
    check_no_decay_on_norms_biases_and_tables(*segmentor)
