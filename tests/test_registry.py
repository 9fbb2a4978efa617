import subprocess
import sys

import pytest

from tests.conftest import REPO


@pytest.mark.parametrize('scope', ['mmpretrain', 'mmdet', 'mmseg'])
def test_prefixed_type_builds_from_every_downstream_scope(scope):
    import importlib

    from mmengine.registry import DefaultScope

    import mmattn.models  # noqa: F401
    registry = importlib.import_module(f'{scope}.registry').MODELS
    with DefaultScope.overwrite_default_scope(scope):
        model = registry.build(dict(type='mmattn.DaViT', arch='tiny', out_indices=(1, 3),
                                    out_type='featmap'))
    assert type(model).__module__ == 'mmattn.models.backbones.davit'


def test_unprefixed_davit_under_mmpretrain_is_mmpretrains_port():
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import MODELS
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        assert MODELS.get('DaViT').__module__.startswith('mmpretrain')
        assert MODELS.get('mmattn.DaViT').__module__.startswith('mmattn')


def test_models_import_without_downstream_libraries():
    code = (
        'import sys, importlib.abc\n'
        'class Block(importlib.abc.MetaPathFinder):\n'
        '    def find_spec(self, name, path, target=None):\n'
        '        if name.split(".")[0] in ("mmdet", "mmseg", "mmpretrain"):\n'
        '            raise ImportError("blocked " + name)\n'
        'sys.meta_path.insert(0, Block())\n'
        'import mmattn.models, torch\n'
        'from mmattn.registry import MODELS\n'
        'm = MODELS.build(dict(type="DaViT", arch="t"))\n'
        'print(m(torch.randn(1, 3, 64, 64))[0].shape)\n')
    result = subprocess.run([sys.executable, '-c', code], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert 'torch.Size([1, 768])' in result.stdout
