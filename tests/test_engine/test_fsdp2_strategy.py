"""mmattn.FSDP2Strategy's options and the sharded DaViT-L/H/G configs, in one process (the two-process run is
tests/test_tools/test_fsdp2_e2e.py)."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from mmattn.engine.strategies import mixed_precision_policy, shard_modules
from mmattn.models import DaViT
from tests.conftest import REPO


def test_strategy_resolves_from_mmengines_registry_by_its_mmattn_name():
    from mmengine.registry import STRATEGIES

    from mmattn.engine import FSDP2Strategy
    assert STRATEGIES.get('mmattn.FSDP2Strategy') is FSDP2Strategy


def test_mixed_precision_takes_dtype_names_and_rejects_others():
    policy = mixed_precision_policy(dict(param_dtype='bfloat16', reduce_dtype='float32'))
    assert (policy.param_dtype, policy.reduce_dtype) == (torch.bfloat16, torch.float32)
    assert mixed_precision_policy(None).param_dtype is None
    with pytest.raises(ValueError, match=r"mixed_precision.param_dtype: 'int8' is not a torch floating-point"):
        mixed_precision_policy(dict(param_dtype='int8'))


def test_wrap_modules_that_match_nothing_are_named():
    model = DaViT(dict(embed_dims=[8, 16], depths=[1, 1], num_heads=[1, 2]), out_indices=(1, ))
    with pytest.raises(ValueError, match=r"wrap_modules \['DualBlok'\] match no module of DaViT; .*'DualBlock'"):
        shard_modules(model, ['DualBlock', 'DualBlok'])


@pytest.mark.parametrize('config,arch,params', [
    ('davit-large_fsdp_in1k-384px', 'large', 196_811_752),
    ('davit-huge_fsdp_in1k', 'huge', 348_922_856),
    ('davit-giant_fsdp_in1k', 'giant', 1_406_470_120),
])
def test_large_configs_shard_the_dual_blocks_of_their_arch(config, arch, params):
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import MODELS
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'davit', f'{config}.py'))
    assert cfg.runner_type == 'FlexibleRunner' and cfg.strategy.type == 'mmattn.FSDP2Strategy'
    # whatever scope an earlier in-process test of this worker left
    with torch.device('meta'), DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(cfg.model)
    assert model.backbone.embed_dims == DaViT.arch_zoo[arch]['embed_dims']
    assert sum(p.numel() for p in model.parameters()) == params
    classes = {type(module).__name__ for module in model.modules()}
    assert set(cfg.strategy.wrap_modules) <= classes
    window = model.backbone.stages[0].blocks[0][0].attn.window_size
    assert window == (12 if arch == 'large' else 7)  # the official large model's 12x12 windows
