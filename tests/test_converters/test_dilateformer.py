"""Official DilateFormer checkpoints (key layout of models.md 2.4, random values) -> dilateformer2mmattn.py.

The official model is transcribed in ``reference/dilateformer.py`` as a functional forward over the official
state dict; the converted classifier built from our config must reproduce its logits.
"""
import argparse
import os
import runpy

import pytest
import torch
from mmengine.config import Config

from mmattn.converters import ConversionError, convert_dilateformer
from mmattn.utils import load_checkpoint_file
from reference.dilateformer import ARCHS, official_forward, official_shapes, random_official_state_dict

CONVERTER = runpy.run_path('tools/model_converters/dilateformer2mmattn.py', run_name='dilateformer2mmattn')['main']

def build_classifier(config):
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS
    init_default_scope('mmpretrain')
    return MODELS.build(Config.fromfile(config).model).eval()


def test_official_layout_of_tiny_has_212_keys():
    assert len(official_shapes(*ARCHS['tiny'])) == 212


@pytest.mark.parametrize('arch', ['tiny', 'small', 'base'])
def test_every_arch_converts_and_loads_strictly(arch):
    source = random_official_state_dict(arch)
    converted, meta = convert_dilateformer(source)
    assert meta == dict(arch=arch, source_layout='official', num_classes=1000)
    model = build_classifier(f'configs/dilateformer/dilateformer-{arch}_in1k.py')
    model.load_state_dict(converted, strict=True)
    state = model.state_dict()
    # chosen tensors land where they belong
    placements = {
        'stages.0.blocks.1.attn.qkv.weight': 'backbone.stages.0.blocks.1.attn.qkv.weight',  # (3C, C, 1, 1) conv
        'stages.2.blocks.0.attn.qkv.weight': 'backbone.stages.2.blocks.0.attn.qkv.weight',  # (3C, C) Linear
        'stages.1.downsample.proj.1.running_mean': 'backbone.stages.1.downsample.proj.1.running_mean',
        'stages.1.downsample.proj.1.running_var': 'backbone.stages.1.downsample.proj.1.running_var',
        'stages.0.downsample.proj.0.weight': 'backbone.stages.0.downsample.proj.0.weight',
        'patch_embed.proj.4.running_var': 'backbone.stem.4.running_var',
        'patch_embed.proj.9.weight': 'backbone.stem.9.weight',
        'stages.3.blocks.1.pos_embed.weight': 'backbone.stages.3.blocks.1.cpe.proj.weight',
        'norm.weight': 'backbone.norm3.weight',
        'head.weight': 'head.fc.weight',
        'head.bias': 'head.fc.bias',
    }
    for source_key, target_key in placements.items():
        assert torch.equal(state[target_key], source[source_key]), source_key
    assert sum(p.numel() for p in model.parameters()) == {'tiny': 17_238_744, 'small': 24_057_504,
                                                         'base': 47_432_376}[arch]


def test_converted_tiny_reproduces_the_official_logits():
    source = random_official_state_dict('tiny', seed=1)
    converted, _ = convert_dilateformer(source)
    model = build_classifier('configs/dilateformer/dilateformer-tiny_in1k.py')
    model.load_state_dict(converted, strict=True)
    for size in [(64, 64), (72, 104)]:  # 104 / 4 = 26 columns: every dilation hits the border
        x = torch.randn(1, 3, *size)
        with torch.no_grad():
            expected, actual = official_forward(source, x, *ARCHS['tiny']), model(x, mode='tensor')
        assert (expected - actual).abs().max().item() < 1e-4, size


class RecordingNamespace(argparse.Namespace):
    """Stands in for argparse.Namespace while loading: unpickling one (which sets its state) is recorded."""
    unpickled = []

    def __setstate__(self, state):
        self.unpickled.append(state)
        self.__dict__.update(state)


def test_training_checkpoint_with_pickled_namespace_converts_without_unpickling_it(tmp_path, monkeypatch):
    model_sd = random_official_state_dict('tiny', num_classes=10, seed=2)
    ema_sd = random_official_state_dict('tiny', num_classes=10, seed=3)
    # the official main.py layout: weights, EMA weights, optimizer and scheduler state, argparse.Namespace args
    checkpoint = {'model': model_sd, 'model_ema': ema_sd, 'optimizer': {'state': {}, 'param_groups': []},
                  'lr_scheduler': {'last_epoch': 299}, 'epoch': 299, 'scaler': {'scale': 65536.0},
                  'args': argparse.Namespace(lr=1e-3, model='dilateformer_tiny'), 'max_accuracy': 82.1}
    torch.save(checkpoint, tmp_path / 'checkpoint.pth')
    monkeypatch.setattr(argparse, 'Namespace', RecordingNamespace)
    for flag, expected in (([], model_sd), (['--ema'], ema_sd)):
        CONVERTER([str(tmp_path / 'checkpoint.pth'), str(tmp_path / 'out.pth'), *flag])
        converted = load_checkpoint_file(tmp_path / 'out.pth')  # a plain weights-only file
        assert converted['meta']['arch'] == 'tiny' and converted['meta']['num_classes'] == 10
        assert converted['meta']['weights'] == ('model_ema' if flag else 'model')
        assert torch.equal(converted['state_dict']['backbone.stages.0.blocks.0.attn.qkv.weight'],
                           expected['stages.0.blocks.0.attn.qkv.weight'])
    assert RecordingNamespace.unpickled == []


def test_checkpoint_with_a_code_object_is_refused_not_executed(tmp_path):
    marker = tmp_path / 'executed'

    class Exploit:
        def __reduce__(self):
            return (os.system, (f'touch {marker}', ))

    torch.save({'model': random_official_state_dict('tiny'), 'evil': Exploit()}, tmp_path / 'evil.pth')
    with pytest.raises(SystemExit, match=r'(?s)dilateformer2mmattn: .*posix\.system'):
        CONVERTER([str(tmp_path / 'evil.pth'), str(tmp_path / 'dst.pth')])
    assert not marker.exists() and not (tmp_path / 'dst.pth').exists()


def test_bare_and_state_dict_nested_files_convert(tmp_path):
    source = random_official_state_dict('tiny', num_classes=5)
    for i, content in enumerate([source, {'state_dict': {'module.' + k: v for k, v in source.items()}}]):
        torch.save(content, tmp_path / f'src{i}.pth')
        CONVERTER([str(tmp_path / f'src{i}.pth'), str(tmp_path / f'dst{i}.pth')])
        converted = load_checkpoint_file(tmp_path / f'dst{i}.pth')['state_dict']
        assert torch.equal(converted['backbone.norm3.bias'], source['norm.bias'])


def test_unknown_and_missing_keys_are_listed():
    source = random_official_state_dict('tiny')
    source['stages.1.blocks.0.attn.rel_pos.weight'] = torch.zeros(3)
    source['stages.0.blocks.0.layer_scale'] = torch.zeros(3)
    del source['stages.2.blocks.5.mlp.fc2.bias']
    del source['stages.0.downsample.proj.1.running_var']
    with pytest.raises(ConversionError) as info:
        convert_dilateformer(source)
    message = str(info.value)
    assert '2 unexpected key(s)' in message and 'backbone.stages.1.blocks.0.attn.rel_pos.weight' in message
    assert 'backbone.stages.0.blocks.0.layer_scale' in message
    assert '2 missing key(s)' in message and 'backbone.stages.2.blocks.5.mlp.fc2.bias' in message
    assert 'backbone.stages.0.downsample.proj.1.running_var' in message


def test_unknown_arch_and_foreign_files_are_explained(tmp_path):
    source = random_official_state_dict('tiny')
    for key in [k for k in source if k.startswith('stages.2.blocks.5.')]:
        del source[key]
    with pytest.raises(ConversionError, match=r'depths \[2, 2, 5, 2\].*known archs'):
        convert_dilateformer(source)
    torch.save({'model': {'conv.weight': torch.zeros(2)}}, tmp_path / 'other.pth')
    with pytest.raises(SystemExit, match='Not a DilateFormer checkpoint'):
        CONVERTER([str(tmp_path / 'other.pth'), str(tmp_path / 'dst.pth')])
    torch.save({'model': random_official_state_dict('tiny')}, tmp_path / 'no_ema.pth')
    with pytest.raises(SystemExit, match='no model_ema'):
        CONVERTER([str(tmp_path / 'no_ema.pth'), str(tmp_path / 'dst.pth'), '--ema'])


def test_mmattn_layout_passes_through():
    converted, _ = convert_dilateformer(random_official_state_dict('small'))
    again, meta = convert_dilateformer(converted)
    assert meta['source_layout'] == 'mmattn' and meta['arch'] == 'small'
    assert again.keys() == converted.keys()
