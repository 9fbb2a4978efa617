import math

import pytest
import torch
import torch.nn as nn

from mmattn.models import DilateFormer
from mmattn.models.layers import MultiScaleDilatedAttention

SMALL = dict(embed_dims=[24, 48, 96, 192], depths=[1, 1, 1, 1], num_heads=[3, 6, 3, 6],
             dilated_stages=[True, True, False, False])


def count_params(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize('arch,alias', [('tiny', 't'), ('small', 's'), ('base', 'b')])
def test_arch_aliases_resolve_to_the_same_settings(arch, alias):
    assert DilateFormer.arch_zoo[arch] == DilateFormer.arch_zoo[alias]
    assert DilateFormer(alias.upper()).embed_dims == DilateFormer.arch_zoo[arch]['embed_dims']


@pytest.mark.parametrize('arch,expected', [('tiny', 17_238_744), ('small', 24_057_504), ('base', 47_432_376)])
def test_imagenet_classifier_parameter_counts(arch, expected):
    backbone = DilateFormer(arch)
    head = nn.Linear(backbone.embed_dims[-1], 1000)
    assert count_params(backbone) + count_params(head) == expected


def test_official_structure_of_tiny():
    model = DilateFormer('tiny')
    # stem: 3x3 convs without bias, BN + GELU after the first three, nothing after the last
    convs = [m for m in model.stem if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [16, 32, 64, 72] and [c.stride for c in convs] == [(1, 1), (2, 2),
                                                                                                 (1, 1), (2, 2)]
    assert all(c.bias is None and c.kernel_size == (3, 3) for c in convs)
    assert isinstance(model.stem[-1], nn.Conv2d) and len(model.stem) == 10
    # dilated attention (1x1-conv qkv) in stages 0-1, global attention (Linear qkv) in stages 2-3
    for i, stage in enumerate(model.stages):
        attn = stage.blocks[0].attn
        assert isinstance(attn, MultiScaleDilatedAttention) == (i < 2)
        assert attn.qkv.weight.dim() == (4 if i < 2 else 2)
        assert (stage.downsample is None) == (i == 3)
    assert model.stages[0].blocks[0].attn.dilations == (1, 2, 3)
    assert model.stages[1].downsample.proj[0].kernel_size == (3, 3)
    assert isinstance(model.stages[1].downsample.proj[1], nn.BatchNorm2d)
    norms = [m for m in model.modules() if isinstance(m, nn.LayerNorm)]
    assert norms and all(m.eps == 1e-6 for m in norms)


def test_unknown_arch_and_bad_custom_dicts_are_explained():
    with pytest.raises(ValueError, match=r"Unknown DilateFormer arch 'huge'.*'tiny'"):
        DilateFormer('huge')
    with pytest.raises(ValueError, match=r"missing keys \['dilated_stages'\]"):
        DilateFormer(dict(embed_dims=[32], depths=[1], num_heads=[3]))
    with pytest.raises(ValueError, match=r"unexpected keys \['window'\]"):
        DilateFormer(dict(SMALL, window=7))
    with pytest.raises(ValueError, match='same length'):
        DilateFormer(dict(SMALL, depths=[1, 1]))
    with pytest.raises(ValueError, match='multiple of the 3 dilations'):
        DilateFormer(dict(SMALL, num_heads=[4, 6, 3, 6]))
    with pytest.raises(ValueError, match='not divisible'):
        DilateFormer(dict(SMALL, num_heads=[3, 6, 5, 6]))


@pytest.mark.parametrize('size', [(224, 224), (97, 61), (33, 17), (7, 9), (1, 1)])
def test_any_input_size_gives_ceil_divided_maps_before_downsample(size):
    model = DilateFormer(SMALL, out_indices=(0, 1, 2, 3), out_type='featmap').eval()
    with torch.no_grad():
        outs = model(torch.randn(1, 3, *size))
    h, w = size
    for i, out in enumerate(outs):
        stride = 4 * 2**i
        assert out.shape == (1, model.embed_dims[i], math.ceil(h / stride), math.ceil(w / stride))
        assert torch.isfinite(out).all()


def test_features_are_taken_before_each_downsample_and_normed():
    model = DilateFormer(SMALL, out_indices=(0, 1, 2, 3), out_type='featmap').eval()
    x = torch.randn(2, 3, 40, 56)
    with torch.no_grad():
        outs = model(x)
        tokens = model.stem(x).permute(0, 2, 3, 1)
        for i, stage in enumerate(model.stages):
            for block in stage.blocks:
                tokens = block(tokens)
            expected = getattr(model, f'norm{i}')(tokens).permute(0, 3, 1, 2)
            assert torch.allclose(outs[i], expected, atol=1e-6)
            if stage.downsample is not None:
                tokens = stage.downsample(tokens)


def test_classifier_output_is_normed_then_pooled():
    model = DilateFormer(SMALL).eval()
    nn.init.normal_(model.norm3.weight)
    nn.init.normal_(model.norm3.bias)
    maps = DilateFormer(SMALL, out_type='featmap').eval()
    maps.load_state_dict(model.state_dict())
    x = torch.randn(2, 3, 64, 48)
    with torch.no_grad():
        pooled, feature_map = model(x)[0], maps(x)[0]
        assert pooled.shape == (2, 192)
        # the official head: LayerNorm on every token, then the average
        assert torch.allclose(pooled, feature_map.mean(dim=(2, 3)), atol=1e-5)
        tokens = model.stem(x).permute(0, 2, 3, 1)
        for stage in model.stages:
            tokens = stage(tokens)[1]  # the last stage has no downsample: its blocks output
        assert not torch.allclose(pooled, model.norm3(tokens.mean(dim=(1, 2))), atol=1e-3)


def test_out_indices_create_one_norm_each():
    model = DilateFormer('tiny', out_indices=(-1, 1), out_type='featmap')
    assert model.out_indices == (1, 3)
    assert hasattr(model, 'norm1') and hasattr(model, 'norm3') and not hasattr(model, 'norm0')
    with pytest.raises(ValueError, match='out of range'):
        DilateFormer('tiny', out_indices=(4, ))
    outs = DilateFormer(SMALL, out_indices=(0, 2), out_type='featmap')(torch.randn(1, 3, 32, 32))
    assert [o.shape[1] for o in outs] == [24, 96]


@pytest.mark.parametrize('frozen_stages', [0, 1, 2])
def test_frozen_stages_stop_gradients_and_stay_in_eval(frozen_stages):
    model = DilateFormer(SMALL, out_indices=(0, 1, 2, 3), frozen_stages=frozen_stages)
    model.train()
    frozen = [model.stem] + [model.stages[i] for i in range(frozen_stages)] + \
        [getattr(model, f'norm{i}') for i in range(frozen_stages)]
    trainable = [model.stages[i] for i in range(frozen_stages, 4)]
    for module in frozen:
        assert all(not p.requires_grad for p in module.parameters())
        assert all(not m.training for m in module.modules())
    for module in trainable:
        assert all(p.requires_grad for p in module.parameters()) and module.training
    # the stem's BatchNorm statistics do not move
    mean = model.stem[1].running_mean.clone()
    model(torch.randn(2, 3, 32, 32))
    assert torch.equal(model.stem[1].running_mean, mean)
    assert model.train() is model


def test_norm_eval_keeps_stem_and_downsample_batchnorms_frozen():
    model = DilateFormer(SMALL, norm_eval=True).train()
    batchnorms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert len(batchnorms) == 3 + 3  # stem and the three downsamples
    assert all(not m.training for m in batchnorms)
    assert model.stages[0].blocks[0].training
    before = [m.running_var.clone() for m in batchnorms]
    model(torch.randn(2, 3, 32, 32))
    assert all(torch.equal(m.running_var, b) for m, b in zip(batchnorms, before))
    model_free = DilateFormer(SMALL).train()
    model_free(torch.randn(2, 3, 32, 32))
    assert not torch.equal(model_free.stem[1].running_var, torch.ones(16))


def test_with_cp_gives_the_same_outputs_and_gradients():
    torch.manual_seed(0)
    plain = DilateFormer(SMALL, out_indices=(0, 3), out_type='featmap')
    checkpointed = DilateFormer(SMALL, out_indices=(0, 3), out_type='featmap', with_cp=True)
    checkpointed.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 36, 28)
    results = []
    for model in (plain, checkpointed):
        model.train()
        loss = sum(o.square().mean() for o in model(x))
        loss.backward()
        results.append((loss.detach(), model.stages[0].blocks[0].attn.qkv.weight.grad.clone()))
    assert torch.allclose(results[0][0], results[1][0], atol=1e-6)
    assert torch.allclose(results[0][1], results[1][1], atol=1e-6)


def test_drop_path_rate_increases_linearly_over_blocks():
    model = DilateFormer('tiny', drop_path_rate=0.1)
    rates = [getattr(block.drop_path, 'drop_prob', 0.) for stage in model.stages for block in stage.blocks]
    assert len(rates) == 12 and rates[0] == 0. and rates[-1] == pytest.approx(0.1)
    assert rates == pytest.approx(torch.linspace(0, 0.1, 12).tolist())
    # drop path is random in training and the identity in eval
    model = DilateFormer(SMALL, drop_path_rate=0.5)
    x = torch.randn(4, 3, 32, 32)
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(x)[0], model(x)[0])


def test_init_weights_follow_the_official_scheme():
    model = DilateFormer(SMALL)
    model.init_weights()
    proj = model.stages[2].blocks[0].attn.proj
    assert proj.weight.std().item() == pytest.approx(0.02, rel=0.2) and not proj.bias.any()
    qkv_conv = model.stages[0].blocks[0].attn.qkv  # a conv: PyTorch's default init, bias not zeroed
    assert qkv_conv.bias.abs().sum() > 0


@pytest.mark.parametrize('scope', ['mmdet', 'mmseg'])
def test_builds_as_a_dense_backbone_from_downstream_scopes(scope):
    import importlib

    from mmengine.registry import DefaultScope
    registry = importlib.import_module(f'{scope}.registry').MODELS
    with DefaultScope.overwrite_default_scope(scope):
        model = registry.build(dict(type='mmattn.DilateFormer', arch=SMALL, out_indices=(0, 1, 2, 3),
                                    out_type='featmap', norm_eval=True, frozen_stages=1))
    assert isinstance(model, DilateFormer)
    outs = model.train()(torch.randn(2, 3, 64, 96))
    assert [tuple(o.shape[1:]) for o in outs] == [(24, 16, 24), (48, 8, 12), (96, 4, 6), (192, 2, 3)]
