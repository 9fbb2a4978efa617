"""DilateFormer-T through the real command lines on synthetic data: train (EMA hook, repeated augmentation),
test, and evaluation of a converted official checkpoint."""
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config

from mmattn.utils import load_checkpoint_file
from tests.smoke import convert_and_evaluate, evaluate, train_smoke

CONFIG = 'configs/dilateformer/dilateformer-tiny_in1k.py'


@pytest.fixture(scope='module')
def trained(imagenet_shapes, tmp_path_factory):
    # keeps the recipe's model EMA in the smoke run
    return train_smoke(CONFIG, imagenet_shapes, str(tmp_path_factory.mktemp('dilateformer_train')),
                       keep_custom_hooks=True)


def test_train_runs_the_recipe_and_writes_checkpoints(trained):
    config, work_dir, log = trained
    assert re.search(r'Iter\(train\) \[4/4\].*loss: [\d.]+', log)
    assert 'accuracy/top1' in log
    cfg = Config.fromfile(config)
    assert cfg.train_dataloader.sampler.type == 'RepeatAugSampler'
    assert cfg.model.backbone.type == 'mmattn.DilateFormer'
    checkpoint = load_checkpoint_file(osp.join(work_dir, 'iter_4.pth'))
    assert 'ema_state_dict' in checkpoint  # mmengine's EMAHook ran
    assert 'backbone.stages.0.blocks.0.attn.qkv.weight' in checkpoint['state_dict']


def test_test_tool_evaluates_the_trained_checkpoint(trained, tmp_path):
    config, work_dir, _ = trained
    evaluate(config, osp.join(work_dir, 'iter_4.pth'), '--work-dir', str(tmp_path))


def test_converted_official_checkpoint_evaluates_with_the_release_config(imagenet_shapes, tmp_path):
    import argparse

    from reference.dilateformer import random_official_state_dict
    checkpoint = {'model': random_official_state_dict('tiny'), 'epoch': 299,
                  'args': argparse.Namespace(model='dilateformer_tiny')}
    torch.save(checkpoint, tmp_path / 'official.pth')
    output = convert_and_evaluate('tools/model_converters/dilateformer2mmattn.py', tmp_path / 'official.pth',
                                  CONFIG, imagenet_shapes, tmp_path)
    assert 'configs/dilateformer/dilateformer-tiny_in1k.py' in output


def test_release_configs_hold_the_official_recipe():
    cfg = Config.fromfile(CONFIG)
    assert cfg.optim_wrapper.optimizer == dict(type='AdamW', lr=2e-3, weight_decay=0.05, eps=1e-8,
                                               betas=(0.9, 0.999))  # 1e-3 per 512 images at 8 x 128
    assert cfg.train_dataloader.batch_size == 128 and cfg.auto_scale_lr.base_batch_size == 1024
    assert 'clip_grad' not in cfg.optim_wrapper
    warmup, cosine = cfg.param_scheduler
    assert warmup.type == 'LinearLR' and warmup.end == 10 and warmup.start_factor * 2e-3 == pytest.approx(1e-6)
    assert cosine.type == 'CosineAnnealingLR' and cosine.eta_min == 1e-5 and cosine.end == 300
    assert cfg.train_cfg.max_epochs == 300
    assert cfg.custom_hooks == [dict(type='EMAHook', momentum=4e-5, update_buffers=True, priority='ABOVE_NORMAL')]
    assert cfg.train_dataloader.sampler.type == 'RepeatAugSampler'
    steps = {step['type']: step for step in cfg.train_dataloader.dataset.pipeline}
    assert steps['RandAugment']['magnitude_level'] == 9 and steps['RandAugment']['magnitude_std'] == 0.5
    assert steps['RandomErasing']['erase_prob'] == 0.25
    assert cfg.model.head.loss.label_smooth_val == 0.1
    assert [a['alpha'] for a in cfg.model.train_cfg.augments] == [0.8, 1.0]
    for arch, channels in (('tiny', 576), ('small', 576), ('base', 768)):
        model = Config.fromfile(f'configs/dilateformer/dilateformer-{arch}_in1k.py').model
        assert model.backbone.arch == arch and model.backbone.drop_path_rate == 0.1
        assert model.backbone.out_type == 'avg_featmap' and model.head.in_channels == channels
    fine_tune = Config.fromfile('configs/dilateformer/dilateformer-base_in1k-384px.py')
    assert fine_tune.model.backbone.arch == 'base' and fine_tune.load_from
    sizes = {step['type']: step for step in fine_tune.train_dataloader.dataset.pipeline}
    assert sizes['RandomResizedCrop']['scale'] == 384
    assert {step['type']: step for step in fine_tune.test_dataloader.dataset.pipeline}['CenterCrop'][
        'crop_size'] == 384
    assert fine_tune.train_cfg.max_epochs == 30
