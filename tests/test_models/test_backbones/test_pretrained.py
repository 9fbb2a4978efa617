"""Initialising dense backbones from classifier checkpoints (``init_cfg=dict(type='Pretrained')``): every
backbone key loaded, the per-output norms reported as the only expected gap, clear errors for missing files,
other models' weights and unconverted checkpoints, tables resized, and nothing unpickled blindly."""
import functools
import http.server
import os
import threading

import pytest
import torch
from mmengine.logging import MMLogger

from mmattn.converters.utils import save_converted
from mmattn.models.backbones import DAT, DaViT, DilateFormer

DAVIT_SMALL = dict(embed_dims=[16, 32, 64, 128], depths=[1, 1, 1, 1], num_heads=[1, 2, 4, 8])
DILATEFORMER_SMALL = dict(embed_dims=[24, 48, 96, 192], depths=[1, 1, 1, 1], num_heads=[3, 3, 6, 6],
                          dilated_stages=[True, True, False, False])
DAT_SMALL = dict(embed_dims=[16, 32, 64, 128], depths=[2, 2, 2, 2], num_heads=[1, 2, 4, 8], num_groups=[1, 1, 2, 4],
                 stage_specs=['LS', 'LS', 'LD', 'LD'], window_size=7, offset_kernel_sizes=[9, 7, 5, 3],
                 offset_range_factors=[2, 2, 2, 2], img_size=224)
CASES = [(DaViT, DAVIT_SMALL), (DilateFormer, DILATEFORMER_SMALL), (DAT, DAT_SMALL)]


def save_classifier(backbone_cls, arch, path, perturb=True):
    """A classifier checkpoint as the converters and tools/train.py write it: backbone.* plus head.fc.*."""
    classifier = backbone_cls(arch=arch, out_indices=(3, ))
    state = {f'backbone.{k}': v + torch.randn_like(v) if perturb and v.is_floating_point() else v
             for k, v in classifier.state_dict().items()}
    state['head.fc.weight'] = torch.randn(4, arch['embed_dims'][-1])
    state['head.fc.bias'] = torch.zeros(4)
    save_converted(state, str(path), dict(arch='test'))
    return state


def dense(backbone_cls, arch, checkpoint, prefix='backbone.'):
    return backbone_cls(arch=arch, out_type='featmap', out_indices=(0, 1, 2, 3),
                        init_cfg=dict(type='Pretrained', checkpoint=str(checkpoint), prefix=prefix))


@pytest.fixture
def log_lines():
    """What mmengine's current logger prints (MMLogger does not propagate to pytest's capture)."""
    import logging
    lines = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage())
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    yield lines
    logger.removeHandler(handler)


@pytest.mark.parametrize('backbone_cls,arch', CASES)
def test_classifier_checkpoint_loads_every_backbone_key(backbone_cls, arch, tmp_path, log_lines):
    state = save_classifier(backbone_cls, arch, tmp_path / 'cls.pth')
    model = dense(backbone_cls, arch, tmp_path / 'cls.pth')
    model.init_weights()
    loaded = model.state_dict()
    for key, value in state.items():
        if key.startswith('backbone.'):
            assert torch.equal(loaded[key[len('backbone.'):]], value), key
    for i in range(3):  # the output norms a classifier lacks start from weight 1, bias 0
        assert torch.equal(loaded[f'norm{i}.weight'], torch.ones(arch['embed_dims'][i]))
    log = '\n'.join(log_lines)
    assert f'loaded {sum(k.startswith("backbone.") for k in state)} tensors' in log
    assert 'as expected for a classifier: norm0, norm1, norm2 ' in log
    assert model.is_init


@pytest.mark.parametrize('backbone_cls,script', [(DaViT, 'davit2mmattn.py'), (DAT, 'dat2mmattn.py'),
                                                 (DilateFormer, 'dilateformer2mmattn.py')])
def test_missing_checkpoint_names_the_conversion_command(backbone_cls, script, tmp_path):
    path = tmp_path / 'checkpoints' / 'x-tiny_in1k.pth'
    model = backbone_cls(out_type='featmap', out_indices=(0, 1, 2, 3),
                         init_cfg=dict(type='Pretrained', checkpoint=str(path), prefix='backbone.'))
    with pytest.raises(FileNotFoundError) as info:
        model.init_weights()
    message = str(info.value)
    assert f'python tools/model_converters/{script} OFFICIAL_CHECKPOINT {path}' in message
    assert 'model.backbone.init_cfg=None' in message


def test_checkpoint_of_another_arch_lists_the_mismatches(tmp_path):
    save_classifier(DaViT, dict(DAVIT_SMALL, depths=[1, 1, 2, 1]), tmp_path / 'deeper.pth')
    with pytest.raises(ValueError, match=r'unexpected key\(s\) \(no place in the model\): stages\.2\.blocks\.1\.'):
        dense(DaViT, DAVIT_SMALL, tmp_path / 'deeper.pth').init_weights()
    save_classifier(DaViT, dict(DAVIT_SMALL, embed_dims=[16, 32, 64, 96]), tmp_path / 'narrower.pth')
    with pytest.raises(ValueError, match=r'narrower\.pth does not fit DaViT(.|\n)*36 shape mismatch\(es\)(.|\n)*norm3\.bias \(96,\) vs \(128,\)'):
        dense(DaViT, DAVIT_SMALL, tmp_path / 'narrower.pth').init_weights()


def test_missing_backbone_keys_beyond_the_output_norms_are_an_error(tmp_path):
    state = save_classifier(DaViT, DAVIT_SMALL, tmp_path / 'cls.pth')
    del state['backbone.stem.conv.weight']
    save_converted(state, str(tmp_path / 'partial.pth'), {})
    with pytest.raises(ValueError, match=r'1 missing key\(s\) \(the model needs them\): stem\.conv\.weight'):
        dense(DaViT, DAVIT_SMALL, tmp_path / 'partial.pth').init_weights()


def test_unconverted_checkpoint_points_to_the_converters(tmp_path):
    torch.save({'model': {'patch_embeds.0.proj.weight': torch.zeros(1)}}, tmp_path / 'official.pth')
    with pytest.raises(ValueError, match=r"no keys with the prefix 'backbone\.'.*model_converters"):
        dense(DaViT, DAVIT_SMALL, tmp_path / 'official.pth').init_weights()


def test_window_bias_tables_of_another_window_are_resized(tmp_path):
    save_classifier(DAT, DAT_SMALL, tmp_path / 'w7.pth')
    model = dense(DAT, dict(DAT_SMALL, window_size=5), tmp_path / 'w7.pth')
    model.init_weights()
    table = model.stages[0].blocks[0].attn.relative_position_bias_table
    assert table.shape[0] == 9 * 9
    assert model(torch.randn(1, 3, 45, 61))[0].shape == (1, 16, 12, 16)


class Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}', ))


def test_pickled_code_in_a_pretrained_file_is_refused_not_run(tmp_path):
    marker = tmp_path / 'pwned'
    torch.save({'state_dict': {'backbone.x': torch.zeros(1)}, 'evil': Exploit(marker)}, tmp_path / 'evil.pth')
    with pytest.raises(Exception, match='system'):
        dense(DaViT, DAVIT_SMALL, tmp_path / 'evil.pth').init_weights()
    assert not marker.exists()


@pytest.fixture
def http_root(tmp_path, monkeypatch):
    """Serve ``tmp_path/www`` on a loopback port for the duration of a test; torch's hub cache in tmp_path."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    root = tmp_path / 'www'
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f'http://127.0.0.1:{server.server_address[1]}'
    server.shutdown()


def test_checkpoint_url_is_downloaded_and_read_weights_only(http_root, tmp_path):
    root, url = http_root
    state = save_classifier(DaViT, DAVIT_SMALL, root / 'cls.pth')
    model = dense(DaViT, DAVIT_SMALL, f'{url}/cls.pth')
    model.init_weights()
    assert torch.equal(model.stem.conv.weight, state['backbone.stem.conv.weight'])
    marker = tmp_path / 'pwned_url'
    torch.save({'state_dict': {'backbone.x': torch.zeros(1)}, 'evil': Exploit(marker)}, root / 'evil.pth')
    with pytest.raises(Exception, match='system'):
        dense(DaViT, DAVIT_SMALL, f'{url}/evil.pth').init_weights()
    assert not marker.exists()
