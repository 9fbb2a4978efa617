"""Constructor options that must change what the backbones compute (issue 13): stochastic depth on every
residual branch, DaViT's qkv_bias in both attentions, DilateFormer's kernel_size; and SyncBN -> BN on CPU."""
import pytest
import torch

from mmattn.models import DAT, DaViT, DilateFormer
from tests.test_models.test_backbones.test_pretrained import CASES


def forward_twice(model, x):
    with torch.no_grad():
        return model(x), model(x)


@pytest.mark.parametrize('backbone_cls,arch', CASES)
def test_drop_path_is_random_in_training_and_off_in_eval(backbone_cls, arch):
    torch.manual_seed(0)
    model = backbone_cls(arch=arch, out_type='featmap', out_indices=(0, 1, 2, 3), drop_path_rate=0.5)
    x = torch.randn(2, 3, 64, 64)
    model.train()
    first, second = forward_twice(model, x)
    # the last stage's output changes between two training calls: branches were dropped at random (the rates
    # grow from 0 over the blocks, so the very first block may keep all of its branches)
    assert not torch.allclose(first[-1], second[-1])
    model.eval()
    first, second = forward_twice(model, x)
    assert all(torch.equal(a, b) for a, b in zip(first, second))


@pytest.mark.parametrize('backbone_cls,arch', CASES)
def test_both_residual_branches_of_every_block_go_through_drop_path(backbone_cls, arch):
    from mmcv.cnn.bricks import DropPath
    model = backbone_cls(arch=arch, out_type='featmap', out_indices=(0, 1, 2, 3), drop_path_rate=0.5).train()
    calls = {}
    droppers = [m for m in model.modules() if isinstance(m, DropPath)]
    assert droppers  # every block but the first (rate 0 there)
    for module in droppers:
        module.register_forward_hook(lambda m, args, out: calls.__setitem__(m, calls.get(m, 0) + 1))
    with torch.no_grad():
        model(torch.randn(1, 3, 64, 64))
    assert sorted(calls.values()) == [2] * len(droppers)  # the attention branch and the MLP branch


@pytest.mark.parametrize('backbone_cls,arch', CASES)
def test_without_drop_path_training_is_deterministic(backbone_cls, arch):
    model = backbone_cls(arch=arch, out_type='featmap', out_indices=(0, 1, 2, 3), drop_path_rate=0.0).train()
    first, second = forward_twice(model, torch.randn(2, 3, 64, 64))
    assert all(torch.equal(a, b) for a, b in zip(first, second))


def test_davit_qkv_bias_reaches_both_attentions():
    arch = CASES[0][1]
    with_bias, without = DaViT(arch=arch, qkv_bias=True), DaViT(arch=arch, qkv_bias=False)
    spatial = [b.blocks[0][0].attn.qkv for b in without.stages]
    channel = [b.blocks[0][1].attn.qkv for b in without.stages]
    assert all(layer.bias is None for layer in spatial + channel)
    assert all(b.blocks[0][1].attn.qkv.bias is not None for b in with_bias.stages)


def test_dilateformer_kernel_size_changes_the_neighbourhood():
    arch = CASES[1][1]
    torch.manual_seed(0)
    k3 = DilateFormer(arch=arch, kernel_size=3, out_type='featmap', out_indices=(0, )).eval()
    k5 = DilateFormer(arch=arch, kernel_size=5, out_type='featmap', out_indices=(0, )).eval()
    k5.load_state_dict(k3.state_dict())  # the same weights: only the neighbourhood differs
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert not torch.allclose(k3(x)[0], k5(x)[0], atol=1e-4)


def test_sync_bn_becomes_bn_without_cuda(monkeypatch):
    from mmengine.config import Config

    from mmattn.compat import adapt_config
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    cfg = Config(dict(model=dict(decode_head=dict(norm_cfg=dict(type='SyncBN', requires_grad=True)),
                                 heads=[dict(norm_cfg=dict(type='MMSyncBN'))])))
    adapt_config(cfg)
    assert cfg.model.decode_head.norm_cfg.type == 'BN' and cfg.model.heads[0].norm_cfg.type == 'BN'
