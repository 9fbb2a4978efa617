"""A run killed with SIGKILL inside an epoch and resumed with --resume ends with the weights of an uninterrupted
run (issue 10), with the full ImageNet recipe: RandAugment, RandomErasing, Mixup/CutMix, drop path, two
persistent dataloader workers."""
import os

import torch
from mmengine.config import Config

from mmattn.utils.checkpoint import load_checkpoint_path_or_url
from tests.conftest import run_tool
from tests.smoke import make_smoke_config

CONFIG = 'configs/davit/davit-tiny_in1k.py'


def full_recipe_config(data_root, work_dir, name, **changes):
    """DaViT's ImageNet training (a narrow DaViT: the recipe is what matters) at 32x32: 2 epochs of 4 batches,
    a checkpoint at iteration 6 and at the end."""
    os.makedirs(work_dir, exist_ok=True)
    cfg = Config.fromfile(make_smoke_config(CONFIG, data_root, work_dir, batch_size=4))
    pipeline = Config.fromfile(CONFIG).train_dataloader.dataset.pipeline
    next(step for step in pipeline if step.type == 'RandomResizedCrop').scale = 32
    cfg.train_dataloader.dataset.pipeline = pipeline
    cfg.train_dataloader.update(num_workers=2, persistent_workers=True)
    cfg.model.backbone.arch = dict(embed_dims=[16, 32, 64, 128], depths=[1, 1, 1, 1], num_heads=[1, 2, 4, 8])
    cfg.model.head.in_channels = 128
    assert cfg.model.train_cfg.augments and cfg.model.backbone.drop_path_rate > 0
    cfg.train_cfg = dict(by_epoch=True, max_epochs=2, val_interval=100)
    cfg.param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=False, begin=0, end=8)]
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=6, by_epoch=False)
    cfg.log_processor = dict(by_epoch=True)
    cfg.randomness = dict(seed=0, deterministic=True)
    cfg.merge_from_dict(changes)
    path = f'{work_dir}/{name}.py'
    cfg.dump(path)
    return path


def tensors(node, prefix=''):
    """Every tensor under ``node`` (nested dicts and lists), by its path."""
    if isinstance(node, torch.Tensor):
        yield prefix, node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from tensors(value, f'{prefix}/{key}')
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from tensors(value, f'{prefix}/{i}')


def test_a_run_killed_mid_epoch_resumes_to_the_weights_of_an_uninterrupted_run(imagenet_shapes, tmp_path):
    whole, killed = tmp_path / 'whole', tmp_path / 'killed'
    config = full_recipe_config(imagenet_shapes, str(whole), 'recipe')
    result = run_tool('tools/train.py', config, '--work-dir', str(whole), '--no-validate')
    assert result.returncode == 0, result.stdout[-4000:]

    # killed as it is about to train the 7th iteration (epoch 2, batch 3): the last checkpoint is iter_6
    doomed = full_recipe_config(imagenet_shapes, str(killed), 'doomed', custom_hooks=[
        dict(type='SigkillHook', at_iter=6)], custom_imports=dict(imports=['mmattn.models', 'tests.fault_hooks']))
    result = run_tool('tools/train.py', doomed, '--work-dir', str(killed), '--no-validate')
    assert result.returncode == -9, result.stdout[-4000:]
    assert (killed / 'iter_6.pth').is_file() and not (killed / 'iter_8.pth').exists()

    result = run_tool('tools/train.py', config, '--work-dir', str(killed), '--resume', '--no-validate')
    assert result.returncode == 0, result.stdout[-4000:]
    assert 'resumed epoch: 1, iter: 6' in result.stdout
    assert 'Epoch(train) [2][3/4]' in result.stdout and 'Epoch(train) [2][1/4]' not in result.stdout

    expected = dict(tensors({key: value for key, value in load_checkpoint_path_or_url(
        str(whole / 'iter_8.pth')).items() if key in ('state_dict', 'optimizer')}))
    resumed = dict(tensors({key: value for key, value in load_checkpoint_path_or_url(
        str(killed / 'iter_8.pth')).items() if key in ('state_dict', 'optimizer')}))
    assert expected.keys() == resumed.keys() and len(expected) > 150
    different = [name for name, value in expected.items() if not torch.equal(value, resumed[name])]
    assert not different, f'{len(different)} of {len(expected)} tensors differ, e.g. {different[:5]}'
