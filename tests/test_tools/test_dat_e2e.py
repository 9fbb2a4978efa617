"""DAT through the real command lines on synthetic data: a few-iteration train and test of the DAT-T config,
an official checkpoint converted and evaluated with the release config, and the optimizer groups of the
recipe (no weight decay on norms, biases and relative-position tables)."""
import os.path as osp
import re

import pytest
import torch

from tests.smoke import convert_and_evaluate, evaluate, train_smoke

CONFIG = 'configs/dat/dat-tiny_in1k.py'


@pytest.fixture(scope='module')
def trained(imagenet_shapes, tmp_path_factory):
    return train_smoke(CONFIG, imagenet_shapes, str(tmp_path_factory.mktemp('dat_train')))


def test_train_writes_checkpoints_and_logs(trained):
    config, work_dir, log = trained
    assert osp.isfile(osp.join(work_dir, 'iter_4.pth'))
    assert re.search(r'Iter\(train\) \[4/4\].*loss: [\d.]+', log)
    assert 'accuracy/top1' in log


def test_test_tool_evaluates_the_trained_checkpoint(trained, tmp_path):
    config, work_dir, _ = trained
    evaluate(config, osp.join(work_dir, 'iter_4.pth'), '--work-dir', str(tmp_path))


def test_converted_official_checkpoint_evaluates_with_the_release_config(imagenet_shapes, tmp_path):
    from reference.dat import official_state_dict
    torch.save({'model': official_state_dict('tiny')}, tmp_path / 'official.pth')
    convert_and_evaluate('tools/model_converters/dat2mmattn.py', tmp_path / 'official.pth', CONFIG,
                         imagenet_shapes, tmp_path)


@pytest.mark.parametrize('name', ['dat-tiny_in1k', 'dat-small_in1k', 'dat-base_in1k', 'dat-base_in1k-384px'])
def test_configs_recipe(name):
    from mmengine.config import Config
    cfg = Config.fromfile(f'configs/dat/{name}.py')
    expected = {'dat-tiny_in1k': ('tiny', 0.2, 5e-4, 5.0), 'dat-small_in1k': ('small', 0.3, 5e-4, 5.0),
                'dat-base_in1k': ('base', 0.5, 4e-4, 1.0), 'dat-base_in1k-384px': ('base-384', 0.5, 2e-6, 1.0)}
    arch, drop_path, lr, clip = expected[name]
    assert cfg.model.backbone.type == 'mmattn.DAT' and cfg.model.backbone.arch == arch
    assert cfg.model.backbone.drop_path_rate == drop_path
    assert cfg.optim_wrapper.optimizer.lr == lr and cfg.optim_wrapper.clip_grad.max_norm == clip
    assert cfg.auto_scale_lr == dict(base_batch_size=512, enable=True)


def test_no_weight_decay_on_norms_biases_and_tables():
    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope

    import mmattn.models  # noqa: F401
    from mmattn.models.backbones import DAT
    cfg = Config.fromfile(CONFIG)
    init_default_scope('mmpretrain')
    model = torch.nn.Module()
    model.backbone = DAT('tiny')
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    decay = {}
    names = {id(p): n for n, p in model.named_parameters()}
    for group in wrapper.optimizer.param_groups:
        for p in group['params']:
            decay[names[id(p)]] = group['weight_decay']
    for name, wd in decay.items():
        no_decay = (name.endswith('.bias') or 'norm' in name.split('.')[-2] or 'rpe_table' in name
                    or 'relative_position_bias_table' in name)
        assert wd == (0.0 if no_decay else 0.05), name
    assert decay['backbone.stages.2.blocks.1.attn.rpe_table'] == 0.0
    assert decay['backbone.stages.2.blocks.1.attn.offset_net.proj.weight'] == 0.05
