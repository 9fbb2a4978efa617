"""Loading checkpoint files without running code from them.

Every file goes through torch's weights-only unpickler. Beyond tensors and plain containers it admits only an
explicit allow-list of data classes (what mmengine's own checkpoints hold: its ``HistoryBuffer`` and numpy
arrays and scalars). A file that needs any other class or function is refused with an error naming it, unless
the caller asks for ``opaque_objects=True``: then each such name becomes an inert :class:`OpaqueObject` that
records its arguments and executes nothing, which is how converters take the weights out of full training
checkpoints (which also pickle e.g. ``argparse.Namespace`` objects) safely.
"""
import os
import os.path as osp
import pickle
import re
import zipfile
from typing import Any, Callable, Dict, List, Union

import torch
import torch.serialization


class UnsafeCheckpointError(pickle.UnpicklingError):
    """The file needs objects outside the allow-list; it was not unpickled."""


class OpaqueObject:
    """Stands in for a class or function a checkpoint names but that is not allow-listed.

    Calling it, building it or setting its state only records the values; no code of the original runs.
    """
    qualified_name = '?'

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs, self.state = args, kwargs, None

    def __setstate__(self, state):
        self.state = state

    def __repr__(self):
        return f'<opaque {self.qualified_name}>'


def _history_buffer_getattr(obj, name):
    """``getattr`` restricted to what mmengine pickles: ``HistoryBuffer``'s public statistics methods."""
    from mmengine.logging import HistoryBuffer
    if obj is HistoryBuffer and not name.startswith('_') and callable(getattr(HistoryBuffer, name, None)):
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(f'getattr({obj!r}, {name!r}) is not allowed in a checkpoint.')


def _allowed_data_globals() -> List[Any]:
    """Data-only classes and constructors that mmengine checkpoints contain."""
    import numpy as np
    from mmengine.logging import HistoryBuffer

    # bytes: numpy pickles the (empty) data of an empty array as bytes(); a plain data constructor
    allowed: List[Any] = [HistoryBuffer, np.ndarray, np.dtype, bytes, (_history_buffer_getattr, 'builtins.getattr')]
    np_core = getattr(np, '_core', None) or np.core  # numpy 2 moved ``core`` to ``_core``
    for module_name in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        allowed += [(np_core.multiarray._reconstruct, f'{module_name}._reconstruct'),
                    (np_core.multiarray.scalar, f'{module_name}.scalar')]
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        allowed += [getattr(dtypes, name) for name in dir(dtypes) if name.endswith('DType')]
    return allowed


LEGACY_REFUSED_GLOBAL = re.compile(r'GLOBAL ([\w.]+) was not an allowed global')


def _opaque(name: str):
    """An allow-list entry that unpickles the global ``name`` as an inert :class:`OpaqueObject` subclass."""
    return type(name, (OpaqueObject, ), {'qualified_name': name}), name


def _needed_globals(path: str) -> List[str]:
    """Names of the non-default globals a zip checkpoint refers to, read without unpickling it."""
    try:
        return torch.serialization.get_unsafe_globals_in_checkpoint(path)
    except (RuntimeError, ValueError, zipfile.BadZipFile, pickle.UnpicklingError):
        return []  # legacy (non-zip) format: the weights-only unpickler below still refuses unknown globals


def load_checkpoint_file(path: Union[str, os.PathLike],
                         map_location: Any = 'cpu',
                         opaque_objects: bool = False) -> Any:
    """Load a checkpoint file without unpickling arbitrary objects.

    Args:
        path (str | PathLike): The checkpoint file.
        map_location: Passed to :func:`torch.load`. Defaults to ``'cpu'``.
        opaque_objects (bool): Replace objects outside the allow-list by inert :class:`OpaqueObject`
            placeholders instead of refusing the file. Defaults to False.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        UnsafeCheckpointError: If the file needs objects outside the allow-list (and ``opaque_objects`` is
            False), or is not a checkpoint torch can read.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f'Checkpoint file not found: {path}')
    allowed = _allowed_data_globals()
    allowed_names = set()
    for entry in allowed:
        obj, name = entry if isinstance(entry, tuple) else (entry, f'{entry.__module__}.{entry.__qualname__}')
        allowed_names.add(name)
    unknown = [name for name in _needed_globals(path) if name not in allowed_names]
    if unknown and opaque_objects:
        allowed += [_opaque(name) for name in unknown]
    elif unknown:
        raise UnsafeCheckpointError(
            f'{path} refers to objects that mmattn does not unpickle (it loads weights and plain data only): '
            f'{unknown}. If the file is a training checkpoint from another codebase, convert it with the '
            f"matching tools/model_converters script, which extracts the weights without running its code.")
    while True:
        try:
            with torch.serialization.safe_globals(allowed):
                return torch.load(path, map_location=map_location, weights_only=True)
        except pickle.UnpicklingError as err:
            # a legacy (non-zip) file cannot be scanned for its globals beforehand: torch names the first one
            # it refuses; in opaque mode that name becomes a placeholder too and the file is read again
            refused = LEGACY_REFUSED_GLOBAL.search(str(err))
            if opaque_objects and refused and refused.group(1) not in allowed_names:
                allowed_names.add(refused.group(1))
                allowed.append(_opaque(refused.group(1)))
                continue
            raise UnsafeCheckpointError(f'{path} could not be loaded as weights only: {err}') from err
        except RuntimeError as err:
            raise UnsafeCheckpointError(f'{path} is not a readable PyTorch checkpoint: {err}') from err


def extract_state_dict(checkpoint: Any, keys=('state_dict', 'model', 'module')) -> Dict[str, torch.Tensor]:
    """Return the tensor dict of a checkpoint: the first of ``keys`` found (nested), else the dict itself."""
    if not isinstance(checkpoint, dict):
        raise ValueError(f'Expected a checkpoint dict, got {type(checkpoint).__name__}.')
    for key in keys:
        if isinstance(checkpoint.get(key), dict):
            return extract_state_dict(checkpoint[key], keys)
    tensors = {k: v for k, v in checkpoint.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise ValueError(f'No tensors found in the checkpoint (top-level keys: {sorted(checkpoint)[:20]}).')
    return tensors


def download_checkpoint(url: str) -> str:
    """Download an ``http(s)://`` checkpoint into torch's hub cache (once) and return the local path.

    The file is only downloaded here; it is read like any local file, by :func:`load_checkpoint_file`.
    """
    from urllib.parse import urlparse

    import torch.hub
    target = osp.join(torch.hub.get_dir(), 'checkpoints', osp.basename(urlparse(url).path))
    if not osp.isfile(target):  # download_url_to_file writes a temporary file and renames it when complete
        os.makedirs(osp.dirname(target), exist_ok=True)
        torch.hub.download_url_to_file(url, target, progress=True)
    return target


def load_checkpoint_path_or_url(filename: str, map_location: Any = 'cpu') -> Any:
    """:func:`load_checkpoint_file` for a local path or an ``http(s)://`` URL."""
    filename = str(filename)
    if filename.startswith(('http://', 'https://')):
        filename = download_checkpoint(filename)
    return load_checkpoint_file(osp.expanduser(filename), map_location=map_location)


def _preview(names: List[str], limit: int = 12) -> str:
    more = f' ... and {len(names) - limit} more' if len(names) > limit else ''
    return ', '.join(sorted(names)[:limit]) + more


def state_dict_mismatches(weights: Dict[str, torch.Tensor], own: Dict[str, torch.Tensor],
                          may_miss: Callable[[str], bool] = lambda key: False,
                          may_differ_in_shape: Callable[[str], bool] = lambda key: False) -> List[str]:
    """What keeps ``weights`` (a checkpoint) from loading exactly into a module whose state dict is ``own``.

    Returns one line each for the unexpected, the missing (except ``may_miss`` ones) and the mis-shaped
    (except ``may_differ_in_shape`` ones) keys, each with a short list; empty when everything fits.
    """
    unexpected = sorted(set(weights) - set(own))
    missing = sorted(k for k in set(own) - set(weights) if not may_miss(k))
    mismatched = [f'{k} {tuple(weights[k].shape)} vs {tuple(own[k].shape)}' for k in sorted(set(weights) & set(own))
                  if weights[k].shape != own[k].shape and not may_differ_in_shape(k)]
    problems = []
    if unexpected:
        problems.append(f'{len(unexpected)} unexpected key(s) (no place in the model): {_preview(unexpected)}')
    if missing:
        problems.append(f'{len(missing)} missing key(s) (the model needs them): {_preview(missing)}')
    if mismatched:
        problems.append(f'{len(mismatched)} shape mismatch(es) (checkpoint vs model): {_preview(mismatched, 6)}')
    return problems


def apply_key_revisions(state_dict: Dict[str, Any], revisions=((r'^module\.', ''), )) -> Dict[str, Any]:
    """Apply mmengine's ``revise_keys`` (regex, replacement) pairs to the keys of a state dict."""
    state_dict = {k: v for k, v in state_dict.items() if k != '_metadata'}
    for pattern, replacement in revisions:
        state_dict = {re.sub(pattern, replacement, k): v for k, v in state_dict.items()}
    return state_dict
