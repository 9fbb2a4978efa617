"""mmattn.DATPlusPlus against the transcribed official DAT++ (reference/datpp.py): parameter counts, numerics
of converted official-layout weights (float64) at 224 and at odd sizes, sampling positions; any input size,
out_indices, freezing, checkpointing and arch validation."""
import pytest
import torch

from mmattn.converters import convert_datpp
from mmattn.converters.datpp import _official_to_mmattn
from mmattn.models.backbones import DATPlusPlus
from reference.datpp import build_official, randomize_

# a small DAT++ with both block kinds in every stage but the last (as the official specs), cheap in float64
SMALL_OFFICIAL = dict(dims=[16, 32, 64, 128], heads=[1, 2, 4, 8], groups=[1, 1, 2, 4], depths=[2, 2, 2, 2],
                      stage_spec=['ND', 'ND', 'ND', 'DD'])
SMALL = dict(embed_dims=[16, 32, 64, 128], depths=[2, 2, 2, 2], num_heads=[1, 2, 4, 8], num_groups=[1, 1, 2, 4],
             stage_specs=['ND', 'ND', 'ND', 'DD'], neighbourhood_size=7, offset_strides=[8, 4, 2, 1],
             offset_kernel_sizes=[9, 7, 5, 3], img_size=224)
# deformable blocks only
DEFORMABLE_OFFICIAL = dict(SMALL_OFFICIAL, depths=[1, 1, 2, 2], stage_spec=['D', 'D', 'DD', 'DD'])
DEFORMABLE = dict(SMALL, depths=[1, 1, 2, 2], stage_specs=['D', 'D', 'DD', 'DD'])


def _pair(official_settings, arch, seed=0):
    """The official model (float64, random official-layout weights) and ours with the converted weights."""
    official = randomize_(build_official(official_settings, num_classes=10), seed=seed).double().eval()
    converted = _official_to_mmattn(official.state_dict(), 3)
    ours = DATPlusPlus(arch).double().eval()
    ours.load_state_dict({k[len('backbone.'):]: v for k, v in converted.items() if k.startswith('backbone.')},
                         strict=True)
    head = torch.nn.Linear(arch['embed_dims'][-1], 10).double()
    head.load_state_dict({'weight': converted['head.fc.weight'], 'bias': converted['head.fc.bias']})
    return official, ours, head


@pytest.fixture(scope='module')
def small_pair():
    return _pair(SMALL_OFFICIAL, SMALL)


@pytest.mark.parametrize('arch,expected', [('tiny', 23_962_876), ('small', 53_127_366), ('base', 93_690_640)])
def test_official_param_counts(arch, expected):
    """models.md: T 23.96M, S 53.13M, B 93.69M, by building the official definition (exact integers here)."""
    with torch.device('meta'):  # shapes only
        official = build_official(arch)
        backbone = DATPlusPlus(arch)
    assert sum(p.numel() for p in official.parameters()) == expected
    assert sum(p.numel() for p in backbone.parameters()) + backbone.embed_dims[-1] * 1000 + 1000 == expected


@pytest.mark.parametrize('size', [(224, 224), (97, 61), (57, 45)])
def test_official_numerics(small_pair, size):
    """Converted official weights give the official logits (float64) at 224, at odd sizes and where the
    neighbourhood attention pads maps smaller than its kernel (57x45: stages 2-4; no one-pixel axis, where the
    official code divides by zero)."""
    official, ours, head = small_pair
    x = torch.randn(2, 3, *size, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = official(x)
        logits = head(ours(x)[0])
    assert expected.abs().max() > 0.1
    torch.testing.assert_close(logits, expected, atol=1e-10, rtol=1e-10)


def test_official_numerics_deformable_blocks(size=(97, 61)):
    """The same for a model of deformable blocks only (the DAT++ conventions of the deformable attention)."""
    official, ours, head = _pair(DEFORMABLE_OFFICIAL, DEFORMABLE, seed=3)
    x = torch.randn(2, 3, *size, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        expected, positions = official(x, return_positions=True)
        outs, ours_positions, _ = ours.forward_with_sampling(x)
    torch.testing.assert_close(head(outs[0]), expected, atol=1e-10, rtol=1e-10)
    for official_stage, stage in zip(positions, ours_positions):
        for pos, ours_pos in zip(official_stage, stage):
            torch.testing.assert_close(ours_pos, pos)
    # some positions are clamped at the border (the conventions matter there)
    assert any((p.abs() == 1).any() for stage in positions for p in stage)


def test_official_numerics_tiny_224():
    """The released Tiny layout end to end: official-layout state dict -> convert_datpp -> logits (float64)."""
    official = randomize_(build_official('tiny', num_classes=10), seed=5).double().eval()
    converted, meta = convert_datpp(official.state_dict())
    assert meta == dict(arch='tiny', source_layout='official', num_classes=10)
    ours = DATPlusPlus('tiny').double().eval()
    ours.load_state_dict({k[len('backbone.'):]: v for k, v in converted.items() if k.startswith('backbone.')})
    x = torch.randn(1, 3, 224, 224, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = official(x)
        logits = torch.nn.functional.linear(ours(x)[0], converted['head.fc.weight'], converted['head.fc.bias'])
    torch.testing.assert_close(logits, expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize('size', [(1, 1), (5, 3), (33, 17), (67, 101)])
def test_any_input_size(size):
    model = DATPlusPlus(SMALL, out_indices=(0, 1, 2, 3), out_type='featmap').eval()
    with torch.no_grad():
        outs = model(torch.randn(1, 3, *size))
    h, w = size
    for i, out in enumerate(outs):
        h, w = -(-h // 2), -(-w // 2)
        if i == 0:
            h, w = -(-h // 2), -(-w // 2)
        assert out.shape == (1, SMALL['embed_dims'][i], h, w) and torch.isfinite(out).all()


def test_out_indices_are_normed_features_before_downsample():
    model = DATPlusPlus(SMALL, out_indices=(0, 2), out_type='featmap').eval()
    x = torch.randn(1, 3, 64, 48)
    with torch.no_grad():
        outs = model(x)
        y = model.stem(x)
        maps = []
        for stage in model.stages:
            y = stage(y)
            maps.append(y)
    assert not hasattr(model, 'norm1') and not hasattr(model, 'norm3')
    for out, i in zip(outs, (0, 2)):
        torch.testing.assert_close(out, getattr(model, f'norm{i}')(maps[i]).permute(0, 3, 1, 2))


def test_frozen_stages_and_with_cp():
    model = DATPlusPlus(SMALL, frozen_stages=2, out_indices=(0, 1, 2, 3), with_cp=True)
    model.train()
    frozen = [model.stem, model.stages[0], model.stages[1], model.norm0, model.norm1]
    assert all(not p.requires_grad for m in frozen for p in m.parameters())
    assert all(not m.training for m in frozen) and model.stages[2].training
    assert all(p.requires_grad for p in model.stages[2].parameters())
    reference = DATPlusPlus(SMALL, frozen_stages=2, out_indices=(0, 1, 2, 3))
    reference.load_state_dict(model.state_dict())
    reference.train()
    x = torch.randn(1, 3, 29, 35)
    sum(o.sum() for o in model(x)).backward()
    sum(o.sum() for o in reference(x)).backward()
    for (name, p), q in zip(model.named_parameters(), reference.parameters()):
        if p.requires_grad:
            torch.testing.assert_close(p.grad, q.grad, msg=name)


def test_arch_aliases_and_errors():
    assert DATPlusPlus.arch_zoo['b-384'] == DATPlusPlus.arch_zoo['base']
    with pytest.raises(ValueError, match="Unknown DATPlusPlus arch 'huge'"):
        DATPlusPlus('huge')
    with pytest.raises(ValueError, match="letters out of 'N', 'D'"):
        DATPlusPlus(dict(SMALL, stage_specs=['NL', 'ND', 'ND', 'DD']))
    with pytest.raises(ValueError, match='missing keys'):
        DATPlusPlus({k: v for k, v in SMALL.items() if k != 'offset_strides'})
