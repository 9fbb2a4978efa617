"""DAT v1 converter: state dicts in the official key layout (models.md 3.6), built here from the published
architecture of every arch with random values, convert, load strictly, and chosen tensors land where they
belong."""
import pytest
import torch

from mmattn.converters import ConversionError, convert_dat
from mmengine.config import Config

from reference.dat import ARCHS, official_state_dict

CONFIGS = {'tiny': 'configs/dat/dat-tiny_in1k.py', 'small': 'configs/dat/dat-small_in1k.py',
           'base': 'configs/dat/dat-base_in1k.py', 'base-384': 'configs/dat/dat-base_in1k-384px.py'}


def build_classifier(arch, num_classes):
    """The ImageClassifier the release config builds, with ``num_classes`` outputs."""
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS
    init_default_scope('mmpretrain')
    model_cfg = Config.fromfile(CONFIGS[arch]).model
    model_cfg.head.num_classes = num_classes
    return MODELS.build(model_cfg)

def test_official_tiny_has_219_keys():
    assert len(official_state_dict('tiny')) == 219  # models.md 3.6, buffers included


@pytest.mark.parametrize('arch', list(ARCHS))
def test_convert_every_arch(arch):
    sd = official_state_dict(arch, num_classes=10)
    converted, meta = convert_dat(sd)
    assert meta == dict(arch=arch, source_layout='official', num_classes=10)
    assert not any(k.endswith(('relative_position_index', 'attn_mask')) for k in converted)
    model = build_classifier(arch, 10)
    model.load_state_dict(converted, strict=True)
    b = 'backbone.'
    last = 3
    checks = {
        'patch_proj.0.weight': b + 'stem.conv.weight',
        'patch_proj.1.norm.bias': b + 'stem.norm.bias',
        'down_projs.0.0.weight': b + 'stages.1.downsample.conv.weight',
        'down_projs.2.1.norm.weight': b + 'stages.3.downsample.norm.weight',
        'stages.0.layer_norms.3.norm.weight': b + 'stages.0.blocks.1.norm2.weight',
        'stages.2.layer_norms.4.norm.bias': b + 'stages.2.blocks.2.norm1.bias',
        'stages.1.mlps.1.chunk.linear2.weight': b + 'stages.1.blocks.1.mlp.fc2.weight',
        'stages.0.attns.1.relative_position_bias_table': b + 'stages.0.blocks.1.attn.relative_position_bias_table',
        'stages.0.attns.1.proj_qkv.weight': b + 'stages.0.blocks.1.attn.qkv.weight',
        'stages.2.attns.0.proj_out.bias': b + 'stages.2.blocks.0.attn.proj.bias',
        'stages.2.attns.1.proj_out.bias': b + 'stages.2.blocks.1.attn.proj_out.bias',
        'stages.2.attns.1.rpe_table': b + 'stages.2.blocks.1.attn.rpe_table',
        'stages.3.attns.1.conv_offset.0.weight': b + 'stages.3.blocks.1.attn.offset_net.conv.weight',
        'stages.3.attns.1.conv_offset.1.norm.weight': b + 'stages.3.blocks.1.attn.offset_net.norm.weight',
        'cls_norm.norm.weight': b + f'norm{last}.weight',
        'cls_head.bias': 'head.fc.bias',
    }
    state = model.state_dict()
    for src, dst in checks.items():
        assert torch.equal(state[dst], sd[src]), (src, dst)
    for src, dst in {'stages.2.attns.1.proj_k.weight': b + 'stages.2.blocks.1.attn.proj_k.weight',
                     'stages.3.attns.1.conv_offset.3.weight': b + 'stages.3.blocks.1.attn.offset_net.proj.weight'
                     }.items():
        assert torch.equal(state[dst], sd[src][:, :, 0, 0]), (src, dst)  # 1x1 conv squeezed to Linear


def test_nested_prefixed_and_mmattn_layouts():
    sd = {'module.' + k: v for k, v in official_state_dict('tiny', num_classes=5).items()}
    converted, meta = convert_dat(sd)
    again, meta2 = convert_dat(converted)
    assert meta2['source_layout'] == 'mmattn' and set(again) == set(converted)


def test_unknown_and_missing_keys_are_listed():
    sd = official_state_dict('tiny', num_classes=5)
    sd['stages.1.attns.0.extra_thing'] = torch.zeros(1)
    del sd['stages.2.mlps.3.chunk.linear1.bias']
    with pytest.raises(ConversionError) as err:
        convert_dat(sd)
    assert 'extra_thing' in str(err.value) and 'stages.2.blocks.3.mlp.fc1.bias' in str(err.value)


def test_dat_plus_plus_and_foreign_checkpoints_are_refused():
    with pytest.raises(ConversionError, match='DAT\\+\\+'):
        convert_dat({'patch_proj.0.weight': torch.zeros(1), 'patch_proj.3.weight': torch.zeros(1)})
    with pytest.raises(ConversionError, match='Not a DAT checkpoint'):
        convert_dat({'foo.weight': torch.zeros(1)})


def test_command_line(tmp_path):
    """The tool reads a full training checkpoint nested under 'model' next to a pickled non-tensor object,
    without unpickling it, and writes a strict-loading mmattn checkpoint."""
    import argparse
    from tests.conftest import run_tool
    src, dst = tmp_path / 'dat_tiny.pth', tmp_path / 'out' / 'converted.pth'
    torch.save({'model': official_state_dict('tiny', num_classes=7), 'epoch': 299,
                'config': argparse.Namespace(lr=1.0)}, src)
    result = run_tool('tools/model_converters/dat2mmattn.py', str(src), str(dst))
    assert result.returncode == 0, result.stdout
    assert 'dat-tiny' in result.stdout and 'configs/dat/dat-tiny_in1k.py' in result.stdout
    ckpt = torch.load(dst, weights_only=True)
    build_classifier('tiny', 7).load_state_dict(ckpt['state_dict'], strict=True)
    bad = run_tool('tools/model_converters/dat2mmattn.py', str(tmp_path / 'missing.pth'), str(dst))
    assert bad.returncode != 0 and 'dat2mmattn' in bad.stdout
