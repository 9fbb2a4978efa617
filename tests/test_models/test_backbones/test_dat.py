"""mmattn.DAT: official numerics at 224 (against a step-by-step re-implementation of the official forward on
an official-layout state dict), any input size, out_indices, freezing, checkpointing, arch validation,
parameter counts and the sampling-position output."""
import pytest
import torch

from mmattn.converters import convert_dat
from mmattn.models.backbones import DAT
from reference.dat import official_forward, official_state_dict
from tests.test_converters.test_dat import build_classifier

SMALL = dict(embed_dims=[16, 32, 64, 128], depths=[2, 2, 2, 2], num_heads=[1, 2, 4, 8], num_groups=[1, 1, 2, 4],
             stage_specs=['LS', 'LS', 'LD', 'LD'], window_size=7, offset_kernel_sizes=[9, 7, 5, 3],
             offset_range_factors=[2, 2, 2, 2], img_size=224)


def test_official_numerics_tiny_224():
    """Converted official weights give the official logits at 224 (float64: equal to rounding)."""
    sd = {k: v.double() if v.is_floating_point() else v for k, v in official_state_dict('tiny', 10).items()}
    model = build_classifier('tiny', 10).double().eval()  # the ImageClassifier of the release config
    model.load_state_dict(convert_dat(sd)[0], strict=True)
    x = torch.randn(1, 3, 224, 224, dtype=torch.float64)
    with torch.no_grad():
        expected = official_forward(sd, 'tiny', x)
        logits = model(x, mode='tensor')
    assert expected.abs().max() > 0.1
    torch.testing.assert_close(logits, expected, atol=1e-9, rtol=1e-9)


@pytest.mark.parametrize('arch,expected', [('tiny', 28_319_138), ('small', 49_700_402), ('base', 87_881_632),
                                           ('base-384', 88_178_272)])
def test_param_counts(arch, expected):
    """Parameters of the ImageNet classifier (backbone incl. the final norm, plus the 1000-way head)."""
    backbone = DAT(arch)
    count = sum(p.numel() for p in backbone.parameters()) + backbone.embed_dims[-1] * 1000 + 1000
    assert count == expected


def test_aliases_and_arch_errors():
    assert DAT('t').arch_settings == DAT('tiny').arch_settings
    with pytest.raises(ValueError, match="Unknown DAT arch 'huge'.*base-384"):
        DAT('huge')
    with pytest.raises(ValueError, match='missing keys'):
        DAT({k: v for k, v in SMALL.items() if k != 'window_size'})
    with pytest.raises(ValueError, match="stage_specs\\[1\\]"):
        DAT(dict(SMALL, stage_specs=['LS', 'LX', 'LD', 'LD']))
    with pytest.raises(ValueError, match='num_groups\\[3\\]'):
        DAT(dict(SMALL, num_groups=[1, 1, 2, 3]))
    with pytest.raises(ValueError, match='len\\(depths\\)'):
        DAT(dict(SMALL, num_heads=[1, 2, 4]))


@pytest.mark.parametrize('size', [(224, 224), (250, 310), (97, 61)])
def test_any_input_size(size):
    """Sizes off the window grid: padded windows, shift masks for the padded size, resized bias tables."""
    model = DAT('tiny', out_indices=(0, 1, 2, 3), out_type='featmap').eval()
    with torch.no_grad():
        outs = model(torch.randn(1, 3, *size))
    h, w = -(-size[0] // 4), -(-size[1] // 4)
    for i, out in enumerate(outs):
        assert out.shape == (1, model.embed_dims[i], h, w)
        assert torch.isfinite(out).all()
        h, w = -(-h // 2), -(-w // 2)


def test_backward_at_odd_size_reaches_every_parameter():
    model = DAT(SMALL, out_indices=(0, 1, 2, 3), out_type='featmap', drop_path_rate=0.1)
    sum(o.sum() for o in model(torch.randn(2, 3, 97, 61))).backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_out_indices_are_normed_features_before_downsample():
    model = DAT(SMALL, out_indices=(1, -1), out_type='featmap').eval()
    assert hasattr(model, 'norm1') and hasattr(model, 'norm3') and not hasattr(model, 'norm0')
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        outs = model(x)
        y = model.stem(x)
        stage1 = model.stages[1](model.stages[0](y))
    torch.testing.assert_close(outs[0], model.norm1(stage1).permute(0, 3, 1, 2))
    pooled = DAT(SMALL, out_indices=(3, )).eval()
    pooled.load_state_dict(model.state_dict(), strict=False)
    with torch.no_grad():
        torch.testing.assert_close(pooled(x)[0], outs[1].mean(dim=(2, 3)))  # LayerNorm, then pooling


def test_frozen_stages():
    model = DAT(SMALL, out_indices=(0, 1, 2, 3), frozen_stages=2)
    model.train()
    for module in (model.stem, model.stages[0], model.stages[1], model.norm0, model.norm1):
        assert not module.training
        assert not any(p.requires_grad for p in module.parameters())
    for module in (model.stages[2], model.stages[3], model.norm2, model.norm3):
        assert module.training and all(p.requires_grad for p in module.parameters())
    assert model.train() is model
    assert all(p.requires_grad for p in DAT(SMALL, frozen_stages=-1).parameters())


def test_with_cp_same_outputs_and_grads():
    torch.manual_seed(0)
    plain = DAT(SMALL, out_indices=(2, 3), out_type='featmap')
    ckpt = DAT(SMALL, out_indices=(2, 3), out_type='featmap', with_cp=True)
    ckpt.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 64, 64)
    outs = [sum(o.sum() for o in m(x)) for m in (plain, ckpt)]
    for o in outs:
        o.backward()
    torch.testing.assert_close(outs[0], outs[1])
    for (name, p1), p2 in zip(plain.named_parameters(), ckpt.parameters()):
        torch.testing.assert_close(p1.grad, p2.grad, msg=name)


def test_drop_path_rates():
    model = DAT(SMALL, drop_path_rate=0.3)
    rates = [b.drop_path.drop_prob if hasattr(b.drop_path, 'drop_prob') else 0.
             for s in model.stages for b in s.blocks]
    torch.testing.assert_close(torch.tensor(rates), torch.linspace(0, 0.3, 8))


def test_sampling_positions():
    model = DAT(SMALL, out_indices=(0, 1, 2, 3)).eval()
    x = torch.randn(2, 3, 96, 64)
    with torch.no_grad():
        outs, positions, references = model.forward_with_sampling(x)
        plain = model(x)
    for a, b in zip(outs, plain):
        assert torch.equal(a, b)
    assert positions[0] == [None, None] and positions[2][0] is None
    assert positions[2][1].shape == references[2][1].shape == (2, 2, 6, 4, 2)
    assert positions[3][1].shape == (2, 4, 3, 2, 2)
    assert not torch.equal(positions[2][1], references[2][1])


def test_init_weights_keeps_torch_defaults():
    """The official model never re-initialises its layers; init_weights without init_cfg changes nothing."""
    model = DAT(SMALL)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.init_weights()
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
