"""timm's DaViT (an independent implementation) with random weights -> davit2mmattn.py -> the classifier built
from our config must give the same logits, for timm's and for the official key layout."""
import argparse
import re
import runpy

import pytest
import torch
from mmengine.config import Config

from mmattn.converters import ConversionError, convert_davit
from mmattn.utils import load_checkpoint_file

timm = pytest.importorskip('timm', reason='timm is part of the pinned test stack (requirements/tests.txt)')

CONVERTER = runpy.run_path('tools/model_converters/davit2mmattn.py', run_name='davit2mmattn')['main']

# timm -> official (dingmyu/davit) names: the inverse of timm's checkpoint_filter_fn
TIMM_TO_OFFICIAL = [
    (r'^stem\.conv\.', 'patch_embeds.0.proj.'),
    (r'^stem\.norm\.', 'patch_embeds.0.norm.'),
    (r'^stages\.(\d+)\.downsample\.conv\.', r'patch_embeds.\1.proj.'),
    (r'^stages\.(\d+)\.downsample\.norm\.', r'patch_embeds.\1.norm.'),
    (r'^stages\.(\d+)\.blocks\.', r'main_blocks.\1.'),
    (r'\.cpe1\.', '.cpe.0.'),
    (r'\.cpe2\.', '.cpe.1.'),
    (r'^head\.fc\.', 'head.'),
    (r'^head\.norm\.', 'norms.'),
]


def to_official(state_dict):
    out = {}
    for key, value in state_dict.items():
        for pattern, replacement in TIMM_TO_OFFICIAL:
            key = re.sub(pattern, replacement, key)
        out[key] = value
    return out


def random_timm_davit(arch):
    torch.manual_seed(0)
    model = timm.create_model(f'davit_{arch}', pretrained=False).eval()
    with torch.no_grad():
        for param in model.parameters():  # perturb every parameter, norms included, so no op is an identity
            param.add_(0.05 * torch.randn_like(param))
    return model


def build_classifier(config):
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS
    init_default_scope('mmpretrain')
    return MODELS.build(Config.fromfile(config).model).eval()


@pytest.mark.parametrize('arch', ['tiny', 'small', 'base'])
@pytest.mark.parametrize('layout', ['timm', 'official'])
def test_converted_checkpoint_reproduces_timm_logits(arch, layout, tmp_path):
    reference = random_timm_davit(arch)
    state_dict = reference.state_dict()
    if layout == 'official':
        # as timm's CheckpointSaver writes it: nested, with pickled training arguments beside the weights
        state_dict = {'state_dict': to_official(state_dict), 'args': argparse.Namespace(lr=1e-3)}
    torch.save(state_dict, tmp_path / 'src.pth')
    CONVERTER([str(tmp_path / 'src.pth'), str(tmp_path / 'dst.pth')])

    model = build_classifier(f'configs/davit/davit-{arch}_in1k.py')
    converted = load_checkpoint_file(tmp_path / 'dst.pth')
    assert converted['meta']['arch'] == arch and converted['meta']['source_layout'] == layout
    model.load_state_dict(converted['state_dict'], strict=True)
    for size in [(224, 224), (250, 310)]:
        x = torch.randn(1, 3, *size)
        with torch.no_grad():
            expected, actual = reference(x), model(x, mode='tensor')
        assert (expected - actual).abs().max().item() < 1e-4, size


def test_unknown_and_missing_keys_are_listed():
    state_dict = random_timm_davit('tiny').state_dict()
    state_dict['stages.1.blocks.0.0.extra.weight'] = torch.zeros(1)
    del state_dict['stages.2.blocks.1.1.mlp.fc2.bias']
    with pytest.raises(ConversionError) as info:
        convert_davit(state_dict)
    message = str(info.value)
    assert 'unexpected key' in message and 'backbone.stages.1.blocks.0.0.extra.weight' in message
    assert 'missing key' in message and 'backbone.stages.2.blocks.1.1.mlp.fc2.bias' in message


def test_not_a_davit_checkpoint_is_named(tmp_path):
    torch.save({'model': {'conv.weight': torch.zeros(2)}}, tmp_path / 'other.pth')
    with pytest.raises(SystemExit, match='Not a DaViT checkpoint'):
        CONVERTER([str(tmp_path / 'other.pth'), str(tmp_path / 'dst.pth')])


def test_mmpretrain_layout_converts_to_the_same_model():
    """mmpretrain's converter output layout (downsample at the end of the previous stage) maps back."""
    timm_sd = random_timm_davit('tiny').state_dict()
    ours, _ = convert_davit(timm_sd)
    rules = [(r'^backbone\.stem\.conv\.', 'backbone.patch_embed.projection.'),
             (r'^backbone\.stem\.norm\.', 'backbone.patch_embed.norm.'),
             (r'\.blocks\.(\d+)\.0\.', r'.blocks.\1.spatial_block.'),
             (r'\.blocks\.(\d+)\.1\.', r'.blocks.\1.channel_block.'),
             (r'spatial_block\.attn\.', 'spatial_block.attn.w_msa.'),
             (r'\.mlp\.fc1\.', '.ffn.layers.0.0.'), (r'\.mlp\.fc2\.', '.ffn.layers.1.')]
    mmpretrain_sd = {}
    for key, value in ours.items():
        m = re.match(r'backbone\.stages\.(\d+)\.downsample\.(conv|norm)\.(.*)', key)
        if m:
            kind = 'projection' if m.group(2) == 'conv' else 'norm'
            key = f'backbone.stages.{int(m.group(1)) - 1}.downsample.{kind}.{m.group(3)}'
        for pattern, replacement in rules:
            key = re.sub(pattern, replacement, key)
        mmpretrain_sd[key] = value
    back, meta = convert_davit(mmpretrain_sd)
    assert meta['source_layout'] == 'mmpretrain'
    assert back.keys() == ours.keys() and all(torch.equal(back[k], ours[k]) for k in ours)


def test_legacy_format_with_pickled_arguments_converts(tmp_path):
    """torch < 1.6 files (not zip) cannot be scanned for their globals beforehand; Namespace still becomes inert."""
    official = to_official(random_timm_davit('tiny').state_dict())
    torch.save({'state_dict': official, 'args': argparse.Namespace(lr=1e-3)}, tmp_path / 'legacy.pth',
               _use_new_zipfile_serialization=False)
    CONVERTER([str(tmp_path / 'legacy.pth'), str(tmp_path / 'dst.pth')])
    converted = load_checkpoint_file(tmp_path / 'dst.pth')
    expected, _ = convert_davit(official)
    assert converted['meta']['source_layout'] == 'official'
    assert all(torch.equal(converted['state_dict'][k], v) for k, v in expected.items())
