"""Sharded training with FSDP2 (mmattn.FSDP2Strategy) in two CPU processes (gloo), through tools/dist_train.sh
and a DaViT-H config shrunk to a small custom arch: each rank holds half the parameters, the checkpoint is the
full model's and tools/test.py evaluates it in one process, and a resumed run ends with the same weights and
optimizer state as the uninterrupted one."""
import json
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from mmattn.utils.checkpoint import load_checkpoint_path_or_url
from tests.conftest import free_port, run_command
from tests.smoke import evaluate, make_smoke_config

CONFIG = 'configs/davit/davit-huge_fsdp_in1k.py'


def dist_train(config, work_dir, *args):
    result = run_command(['bash', 'tools/dist_train.sh', config, '2', '--work-dir', work_dir, '--no-validate',
                          *args], env={'PORT': str(free_port())})
    assert result.returncode == 0, result.stdout[-6000:]
    return result.stdout


@pytest.fixture(scope='module')
def sharded_run(imagenet_shapes, tmp_path_factory):
    """Two iterations of 2 ranks x 2 images, a full checkpoint after each."""
    work_dir = str(tmp_path_factory.mktemp('fsdp2'))
    cfg = Config.fromfile(make_smoke_config(CONFIG, imagenet_shapes, work_dir, max_iters=2, batch_size=2))
    cfg.model.backbone.arch = dict(embed_dims=[16, 32, 64, 128], depths=[1, 1, 1, 1], num_heads=[1, 2, 4, 8])
    cfg.model.head.in_channels = 128
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1, by_epoch=False)
    cfg.custom_hooks = [dict(type='ShardProbeHook')]
    cfg.custom_imports = dict(imports=['mmattn.models', 'tests.fault_hooks'])
    cfg.randomness = dict(seed=0)
    config = osp.join(work_dir, 'fsdp2_config.py')
    cfg.dump(config)
    log = dist_train(config, work_dir)
    return config, work_dir, log


def test_each_rank_holds_half_of_the_parameters_and_computes_in_bfloat16(sharded_run):
    _, work_dir, log = sharded_run
    probes = [json.load(open(osp.join(work_dir, f'shard_rank{rank}.json'))) for rank in (0, 1)]
    full = probes[0]['full']
    assert probes[0]['local'] + probes[1]['local'] == full
    assert all(0.45 * full < probe['local'] < 0.55 * full for probe in probes), probes
    assert all(probe['compute_dtype'] == 'torch.bfloat16' for probe in probes)  # the config's mixed precision
    assert 'FSDP2: 4 modules (DualBlock) and the root sharded across 2 ranks' in log


def test_checkpoint_is_the_full_model_and_tools_test_evaluates_it_unsharded(sharded_run, tmp_path):
    config, work_dir, _ = sharded_run
    checkpoint = load_checkpoint_path_or_url(osp.join(work_dir, 'iter_2.pth'))
    from mmpretrain.registry import MODELS
    with DefaultScope.overwrite_default_scope('mmpretrain'):  # whatever scope an earlier in-process test left
        model = MODELS.build(Config.fromfile(config).model)
    model.load_state_dict(checkpoint['state_dict'])  # strict: every key, full shapes
    exp_avg = checkpoint['optimizer']['state']['backbone.stem.conv.weight']['exp_avg']
    assert exp_avg.shape == model.backbone.stem.conv.weight.shape  # the optimizer state is gathered too
    log = evaluate(config, osp.join(work_dir, 'iter_2.pth'), '--work-dir', str(tmp_path))
    assert 'the model runs unsharded' in log and 'every key matched' in log


def test_resumed_run_ends_with_the_weights_and_optimizer_state_of_the_uninterrupted_one(sharded_run, tmp_path):
    config, work_dir, _ = sharded_run
    log = dist_train(config, str(tmp_path), '--resume', osp.join(work_dir, 'iter_1.pth'))
    assert 'resumed epoch: 0, iter: 1' in log
    expected, resumed = (load_checkpoint_path_or_url(osp.join(d, 'iter_2.pth')) for d in (work_dir, tmp_path))
    assert len(expected['state_dict']) == len(expected['optimizer']['state']) > 100
    for name, value in expected['state_dict'].items():
        assert torch.equal(value, resumed['state_dict'][name]), name
    for name, state in expected['optimizer']['state'].items():
        for item, value in state.items():
            assert torch.equal(value, resumed['optimizer']['state'][name][item]), (name, item)
