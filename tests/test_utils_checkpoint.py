import argparse
import os

import pytest
import torch

from mmattn.utils import OpaqueObject, UnsafeCheckpointError, load_checkpoint_file


MARKER = '/tmp/mmattn_pwned'


class OsExploit:
    """Unpickling this would run os.system; a safe loader must never call it."""

    def __reduce__(self):
        return (os.system, (f'touch {MARKER}',))


class SubprocessExploit:
    """The same through a module torch does not block by name."""

    def __reduce__(self):
        import subprocess
        return (subprocess.call, (['touch', MARKER],))


def test_plain_weights_load(tmp_path):
    torch.save({'state_dict': {'w': torch.ones(2)}, 'meta': {'epoch': 3}}, tmp_path / 'a.pth')
    assert torch.equal(load_checkpoint_file(tmp_path / 'a.pth')['state_dict']['w'], torch.ones(2))


@pytest.mark.parametrize('exploit,name', [(OsExploit, 'system'), (SubprocessExploit, r'(subprocess|commands)\.call')])
def test_code_executing_file_is_refused_and_named(tmp_path, exploit, name):
    if os.path.exists(MARKER):
        os.remove(MARKER)
    torch.save({'state_dict': {'w': torch.ones(2)}, 'evil': exploit()}, tmp_path / 'evil.pth')
    with pytest.raises(UnsafeCheckpointError, match=name):
        load_checkpoint_file(tmp_path / 'evil.pth')
    assert not os.path.exists(MARKER)


def test_opaque_mode_extracts_weights_without_calling_anything(tmp_path):
    if os.path.exists(MARKER):
        os.remove(MARKER)
    torch.save({'state_dict': {'w': torch.ones(2)}, 'evil': SubprocessExploit()}, tmp_path / 'evil.pth')
    loaded = load_checkpoint_file(tmp_path / 'evil.pth', opaque_objects=True)
    assert torch.equal(loaded['state_dict']['w'], torch.ones(2))
    assert isinstance(loaded['evil'], OpaqueObject) and '.call' in repr(loaded['evil'])
    assert not os.path.exists(MARKER)
    # modules torch blocks outright (os, sys, posix) stay refused even in opaque mode
    torch.save({'state_dict': {'w': torch.ones(2)}, 'evil': OsExploit()}, tmp_path / 'os.pth')
    with pytest.raises(UnsafeCheckpointError, match='blocked'):
        load_checkpoint_file(tmp_path / 'os.pth', opaque_objects=True)
    assert not os.path.exists(MARKER)


def test_namespace_becomes_an_inert_placeholder(tmp_path):
    torch.save({'model': {'w': torch.zeros(1)}, 'args': argparse.Namespace(lr=0.1)}, tmp_path / 'ns.pth')
    with pytest.raises(UnsafeCheckpointError, match='argparse.Namespace'):
        load_checkpoint_file(tmp_path / 'ns.pth')
    loaded = load_checkpoint_file(tmp_path / 'ns.pth', opaque_objects=True)
    assert isinstance(loaded['args'], OpaqueObject) and 'argparse.Namespace' in repr(loaded['args'])


def test_missing_and_corrupt_files(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        load_checkpoint_file(tmp_path / 'nope.pth')
    (tmp_path / 'bad.pth').write_bytes(b'not a checkpoint at all')
    with pytest.raises(UnsafeCheckpointError, match='bad.pth'):
        load_checkpoint_file(tmp_path / 'bad.pth')


def test_getattr_is_only_allowed_for_history_buffer_methods(tmp_path):
    """mmengine pickles HistoryBuffer's statistics as getattr(HistoryBuffer, 'min'); nothing else passes."""
    from mmengine.logging import HistoryBuffer
    buffer = HistoryBuffer()
    buffer.update(1.5)
    torch.save({'message_hub': {'loss': buffer}}, tmp_path / 'hub.pth')
    loaded = load_checkpoint_file(tmp_path / 'hub.pth')['message_hub']['loss']
    assert isinstance(loaded, HistoryBuffer) and loaded.current() == 1.5

    class GetattrExploit:
        def __reduce__(self):
            return (getattr, (HistoryBuffer, '__init__'))

    torch.save({'x': GetattrExploit()}, tmp_path / 'getattr.pth')
    with pytest.raises(UnsafeCheckpointError, match='not allowed'):
        load_checkpoint_file(tmp_path / 'getattr.pth')


def test_legacy_format_code_stays_refused_in_opaque_mode(tmp_path):
    if os.path.exists(MARKER):
        os.remove(MARKER)
    torch.save({'state_dict': {'w': torch.ones(2)}, 'args': argparse.Namespace(lr=0.1), 'evil': SubprocessExploit()},
               tmp_path / 'legacy.pth', _use_new_zipfile_serialization=False)
    with pytest.raises(UnsafeCheckpointError):
        load_checkpoint_file(tmp_path / 'legacy.pth')  # weights-only: nothing beyond the allow-list
    loaded = load_checkpoint_file(tmp_path / 'legacy.pth', opaque_objects=True)
    assert torch.equal(loaded['state_dict']['w'], torch.ones(2)) and isinstance(loaded['args'], OpaqueObject)
    assert isinstance(loaded['evil'], OpaqueObject) and not os.path.exists(MARKER)
