import math

import pytest
import torch

from mmattn.models import DaViT


def count_params(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize('arch,alias', [('tiny', 't'), ('small', 's'), ('base', 'b'), ('large', 'l'),
                                        ('huge', 'h'), ('giant', 'g')])
def test_arch_aliases_resolve_to_the_same_settings(arch, alias):
    assert DaViT.arch_zoo[arch] == DaViT.arch_zoo[alias]


@pytest.mark.parametrize('arch,expected', [('tiny', 28_360_168), ('small', 49_745_896), ('base', 87_954_408)])
def test_imagenet_classifier_parameter_counts(arch, expected):
    backbone = DaViT(arch)
    head = torch.nn.Linear(backbone.embed_dims[-1], 1000)
    assert count_params(backbone) + count_params(head) == expected


# large: the official code's comment (DaViT_large_window12_384); huge, giant: timm's davit_huge / davit_giant
@pytest.mark.parametrize('arch,expected', [('large', 196_811_752), ('huge', 348_922_856), ('giant', 1_406_470_120)])
def test_large_classifier_parameter_counts_without_memory(arch, expected):
    with torch.device('meta'):  # 1.4B parameters would take 5.6 GB
        backbone = DaViT(arch)
        head = torch.nn.Linear(backbone.embed_dims[-1], 1000)
    assert count_params(backbone) + count_params(head) == expected


def test_unknown_arch_names_the_choices():
    with pytest.raises(ValueError, match=r"Unknown DaViT arch 'tinny'.*'tiny'"):
        DaViT('tinny')


def test_custom_arch_dict_is_validated():
    custom = dict(embed_dims=[32, 64], depths=[1, 1], num_heads=[1, 2])
    model = DaViT(custom, out_indices=(0, 1), out_type='featmap')
    outs = model(torch.randn(1, 3, 64, 64))
    assert [tuple(o.shape) for o in outs] == [(1, 32, 16, 16), (1, 64, 8, 8)]
    with pytest.raises(ValueError, match=r"missing keys \['num_heads'\]"):
        DaViT(dict(embed_dims=[32], depths=[1]))
    with pytest.raises(ValueError, match=r"unexpected keys \['window'\]"):
        DaViT(dict(custom, window=7))
    with pytest.raises(ValueError, match='same length'):
        DaViT(dict(embed_dims=[32, 64], depths=[1], num_heads=[1, 2]))


@pytest.mark.parametrize('size', [(224, 224), (250, 310), (97, 61), (33, 33), (7, 9)])
def test_any_input_size_gives_ceil_divided_maps(size):
    model = DaViT(dict(embed_dims=[16, 32, 64, 128], depths=[1, 1, 1, 1], num_heads=[1, 2, 4, 8]),
                  out_indices=(0, 1, 2, 3), out_type='featmap').eval()
    outs = model(torch.randn(1, 3, *size))
    h, w = size
    for i, out in enumerate(outs):
        stride = 4 * 2**i
        assert out.shape == (1, model.embed_dims[i], math.ceil(h / stride), math.ceil(w / stride))
        assert torch.isfinite(out).all()


def test_empty_batch_gives_empty_maps():
    model = DaViT(dict(embed_dims=[16, 32, 64, 128], depths=[1, 1, 1, 1], num_heads=[1, 2, 4, 8]),
                  out_indices=(0, 1, 2, 3), out_type='featmap').eval()
    outs = model(torch.randn(0, 3, 61, 45))
    assert [tuple(o.shape) for o in outs] == [(0, 16, 16, 12), (0, 32, 8, 6), (0, 64, 4, 3), (0, 128, 2, 2)]


def test_classifier_output_is_pooled_then_normed():
    model = DaViT(dict(embed_dims=[16, 32], depths=[1, 1], num_heads=[1, 2]), out_indices=(1, )).eval()
    torch.nn.init.normal_(model.norm1.weight)
    x = torch.randn(2, 3, 64, 64)
    pooled = model(x)[0]
    maps = DaViT(dict(embed_dims=[16, 32], depths=[1, 1], num_heads=[1, 2]), out_indices=(1, ),
                 out_type='featmap')
    maps.load_state_dict(model.state_dict())
    maps.eval()
    # same weights: pooling after the norm would give a different vector
    stage_tokens = model.stages[1](model.stages[0](model.stem(x)))
    assert torch.allclose(pooled, model.norm1(stage_tokens.mean(dim=(1, 2))), atol=1e-6)
    assert not torch.allclose(pooled, maps(x)[0].mean(dim=(2, 3)), atol=1e-3)


def test_negative_out_indices_and_range_check():
    model = DaViT('tiny', out_indices=(-1, 1), out_type='featmap')
    assert model.out_indices == (1, 3)
    assert hasattr(model, 'norm1') and hasattr(model, 'norm3') and not hasattr(model, 'norm0')
    with pytest.raises(ValueError, match='out of range'):
        DaViT('tiny', out_indices=(4, ))


def test_frozen_stages_stop_gradients_and_stay_in_eval():
    model = DaViT(dict(embed_dims=[16, 32, 64], depths=[1, 1, 1], num_heads=[1, 2, 4]),
                  out_indices=(0, 1, 2), frozen_stages=2, out_type='featmap')
    model.train()
    frozen = [model.stem, model.stages[0], model.stages[1], model.norm0, model.norm1]
    for module in frozen:
        assert not module.training
        assert all(not p.requires_grad for p in module.parameters())
    assert model.stages[2].training and all(p.requires_grad for p in model.stages[2].parameters())
    assert all(p.requires_grad for p in model.norm2.parameters())
    loss = sum(o.sum() for o in model(torch.randn(1, 3, 32, 32)))
    loss.backward()
    assert model.stem.conv.weight.grad is None and model.stages[2].blocks[0][0].attn.qkv.weight.grad is not None


def test_train_and_eval_return_the_module():
    model = DaViT(dict(embed_dims=[16], depths=[1], num_heads=[1]), out_indices=0)
    assert model.eval() is model and model.train() is model


def test_norm_eval_keeps_batchnorm_in_eval_mode():
    model = DaViT(dict(embed_dims=[16], depths=[1], num_heads=[1]), out_indices=0, norm_eval=True)
    model.extra_bn = torch.nn.BatchNorm2d(4)  # DaViT has only LayerNorms; a BN added by a user/neck
    model.train()
    assert not model.extra_bn.training and model.stem.training


def test_with_cp_gives_the_same_outputs_and_gradients():
    torch.manual_seed(0)
    arch = dict(embed_dims=[16, 32], depths=[2, 1], num_heads=[1, 2])
    plain = DaViT(arch, out_indices=(0, 1), out_type='featmap')
    ckpt = DaViT(arch, out_indices=(0, 1), out_type='featmap', with_cp=True)
    ckpt.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 48, 40)
    grads = []
    for model in (plain, ckpt):
        model.train()
        sum(o.square().sum() for o in model(x)).backward()
        grads.append(model.stem.conv.weight.grad.clone())
    assert torch.allclose(grads[0], grads[1], atol=1e-5)


def test_drop_path_rates_are_per_sub_block():
    model = DaViT(dict(embed_dims=[16, 32], depths=[1, 2], num_heads=[1, 2]), out_indices=1, drop_path_rate=0.5)
    rates = [sub.drop_path.drop_prob if hasattr(sub.drop_path, 'drop_prob') else 0.0
             for stage in model.stages for block in stage.blocks for sub in block]
    assert rates == pytest.approx(torch.linspace(0, 0.5, 6).tolist())


def test_rejects_non_image_input():
    with pytest.raises(ValueError, match=r'\(B, C, H, W\)'):
        DaViT('tiny')(torch.randn(3, 224, 224))


def test_unknown_out_type_names_the_choices():
    with pytest.raises(ValueError, match=r"Unknown out_type 'pooled'.*'featmap', 'avg_featmap'"):
        DaViT('tiny', out_type='pooled')
