"""DAT++ converter: official classifier and DAT-Detection / DAT-Segmentation layouts (built from the transcribed
official model, reference/datpp.py), v1 checkpoints refused (and DAT++ by dat2mmattn), and the command line."""
import pytest
import torch

from mmattn.converters import ConversionError, convert_dat, convert_datpp
from reference.datpp import build_official
from reference.dat import official_state_dict as official_v1_state_dict


@pytest.fixture(scope='module')
def official_tiny():
    torch.manual_seed(2)  # the official initialisation: distinct tensors are all these tests need
    return build_official('tiny', num_classes=10).state_dict()


def test_official_tiny_has_589_keys(official_tiny):
    assert len(official_tiny) == 589  # models.md 3.6


def test_classifier_keys_land_where_they_belong(official_tiny):
    converted, meta = convert_datpp({'module.' + k: v for k, v in official_tiny.items()})
    assert meta == dict(arch='tiny', source_layout='official', num_classes=10)
    assert converted['backbone.stem.conv2.weight'] is official_tiny['patch_proj.3.weight']
    assert converted['backbone.stages.2.downsample.norm.bias'] is official_tiny['down_projs.1.1.norm.bias']
    assert converted['backbone.stages.1.blocks.3.norm2.weight'] is official_tiny['stages.1.layer_norms.7.norm.weight']
    assert converted['backbone.stages.0.blocks.1.lpu.proj.weight'] is \
        official_tiny['stages.0.local_perception_units.1.weight']
    assert converted['backbone.stages.0.blocks.0.attn.rpb'] is official_tiny['stages.0.attns.0.rpb']
    torch.testing.assert_close(converted['backbone.stages.3.blocks.1.attn.offset_net.proj.weight'],
                               official_tiny['stages.3.attns.1.conv_offset.3.weight'].flatten(1))
    torch.testing.assert_close(converted['backbone.stages.2.blocks.0.mlp.fc1.weight'],
                               official_tiny['stages.2.mlps.0.linear1.0.weight'].flatten(1))
    assert converted['backbone.stages.2.blocks.0.mlp.dwconv.proj.weight'].shape == (1024, 1, 3, 3)
    assert converted['backbone.norm3.weight'] is official_tiny['cls_norm.norm.weight']
    assert converted['head.fc.bias'] is official_tiny['cls_head.bias']


def test_detection_checkpoint_keeps_the_backbone_and_its_output_norms(official_tiny):
    detector = {f'backbone.{k}': v for k, v in official_tiny.items() if not k.startswith('cls_')}
    for i in (1, 2, 3):  # RetinaNet: norms.0 is an Identity
        detector[f'backbone.norms.{i}.norm.weight'] = torch.full((64 * 2**i, ), float(i))
        detector[f'backbone.norms.{i}.norm.bias'] = torch.zeros(64 * 2**i)
    detector['neck.fpn_convs.0.conv.weight'] = torch.zeros(256, 256, 3, 3)
    detector['bbox_head.retina_cls.bias'] = torch.zeros(9)
    converted, meta = convert_datpp(detector)
    assert meta == dict(arch='tiny', source_layout='official-dense', num_classes=None, out_indices=[1, 2, 3])
    assert all(k.startswith('backbone.') for k in converted) and 'backbone.norm0.weight' not in converted
    assert torch.equal(converted['backbone.norm2.weight'], torch.full((256, ), 2.))


def test_v1_and_v2_checkpoints_point_to_each_other(official_tiny):
    with pytest.raises(ConversionError, match='DAT v1 checkpoint.*dat2mmattn.py'):
        convert_datpp(official_v1_state_dict('tiny', 10))
    with pytest.raises(ConversionError, match='DAT v1 checkpoint.*dat2mmattn.py'):
        convert_datpp({'backbone.' + k: v for k, v in official_v1_state_dict('tiny', 10).items()})
    with pytest.raises(ConversionError, match='DAT\\+\\+ checkpoint.*datpp2mmattn.py'):
        convert_dat(official_tiny)


def test_missing_key_is_listed(official_tiny):
    broken = {k: v for k, v in official_tiny.items() if k != 'stages.2.attns.4.rpb'}
    with pytest.raises(ConversionError, match='stages.2.blocks.4.attn.rpb'):
        convert_datpp(broken)


def test_command_line(official_tiny, tmp_path, capsys):
    """The script in-process (a subprocess would spend its time importing)."""
    import runpy
    import sys
    src, dst = tmp_path / 'official.pth', tmp_path / 'converted.pth'
    torch.save({'model': official_tiny, 'epoch': 300}, src)
    argv, sys.argv = sys.argv, ['datpp2mmattn.py', str(src), str(dst)]
    try:
        runpy.run_path('tools/model_converters/datpp2mmattn.py', run_name='__main__')
    finally:
        sys.argv = argv
    assert 'configs/datpp/datpp-tiny_in1k.py' in capsys.readouterr().out
    saved = torch.load(dst, weights_only=True)
    assert saved['meta']['arch'] == 'tiny' and len(saved['state_dict']) == 589
