"""DilateFormer-T through the real command lines on synthetic data: train (EMA hook, repeated augmentation),
test, and evaluation of a converted official checkpoint."""
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config

from tests.conftest import run_tool
from tests.smoke import make_smoke_config

CONFIG = 'configs/dilateformer/dilateformer-tiny_in1k.py'


@pytest.fixture(scope='module')
def trained(imagenet_shapes, tmp_path_factory):
    work_dir = str(tmp_path_factory.mktemp('dilateformer_train'))
    config = make_smoke_config(CONFIG, imagenet_shapes, work_dir, max_iters=4)
    cfg = Config.fromfile(config)
    cfg.custom_hooks = Config.fromfile(CONFIG).custom_hooks  # keep the recipe's model EMA in the smoke run
    cfg.dump(config)
    result = run_tool('tools/train.py', config, '--work-dir', work_dir)
    assert result.returncode == 0, result.stdout[-4000:]
    return config, work_dir, result.stdout


def test_train_runs_the_recipe_and_writes_checkpoints(trained):
    config, work_dir, log = trained
    assert re.search(r'Iter\(train\) \[4/4\].*loss: [\d.]+', log)
    assert 'accuracy/top1' in log
    cfg = Config.fromfile(config)
    assert cfg.train_dataloader.sampler.type == 'RepeatAugSampler'
    assert cfg.model.backbone.type == 'mmattn.DilateFormer'
    checkpoint = torch.load(osp.join(work_dir, 'iter_4.pth'), map_location='cpu', weights_only=False)
    assert 'ema_state_dict' in checkpoint  # mmengine's EMAHook ran
    assert 'backbone.stages.0.blocks.0.attn.qkv.weight' in checkpoint['state_dict']


def test_test_tool_evaluates_the_trained_checkpoint(trained, tmp_path):
    config, work_dir, _ = trained
    result = run_tool('tools/test.py', config, osp.join(work_dir, 'iter_4.pth'), '--work-dir', str(tmp_path))
    assert result.returncode == 0, result.stdout[-4000:]
    assert re.search(r'accuracy/top1: [\d.]+', result.stdout)


def test_converted_official_checkpoint_evaluates_with_the_release_config(imagenet_shapes, tmp_path):
    import argparse

    from tests.test_converters.test_dilateformer import random_official_state_dict
    checkpoint = {'model': random_official_state_dict('tiny'), 'epoch': 299,
                  'args': argparse.Namespace(model='dilateformer_tiny')}
    torch.save(checkpoint, tmp_path / 'official.pth')
    result = run_tool('tools/model_converters/dilateformer2mmattn.py', str(tmp_path / 'official.pth'),
                      str(tmp_path / 'mmattn.pth'))
    assert result.returncode == 0, result.stdout
    assert 'configs/dilateformer/dilateformer-tiny_in1k.py' in result.stdout
    config = make_smoke_config(CONFIG, imagenet_shapes, str(tmp_path), num_classes=1000, image_size=64)
    result = run_tool('tools/test.py', config, str(tmp_path / 'mmattn.pth'))
    assert result.returncode == 0, result.stdout[-4000:]
    assert re.search(r'accuracy/top1: [\d.]+', result.stdout)
