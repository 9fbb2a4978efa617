"""Loading checkpoint files without running code from them.

Every file goes through torch's weights-only unpickler. Beyond tensors and plain containers it admits only an
explicit allow-list of data classes (what mmengine's own checkpoints hold: its ``HistoryBuffer`` and numpy
arrays and scalars). A file that needs any other class or function is refused with an error naming it, unless
the caller asks for ``opaque_objects=True``: then each such name becomes an inert :class:`OpaqueObject` that
records its arguments and executes nothing, which is how converters take the weights out of full training
checkpoints (which also pickle e.g. ``argparse.Namespace`` objects) safely.
"""
import os
import pickle
import zipfile
from typing import Any, Dict, List, Union

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

    allowed: List[Any] = [HistoryBuffer, np.ndarray, np.dtype, (_history_buffer_getattr, 'builtins.getattr')]
    np_core = getattr(np, '_core', None) or np.core  # numpy 2 moved ``core`` to ``_core``
    for module_name in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        allowed += [(np_core.multiarray._reconstruct, f'{module_name}._reconstruct'),
                    (np_core.multiarray.scalar, f'{module_name}.scalar')]
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        allowed += [getattr(dtypes, name) for name in dir(dtypes) if name.endswith('DType')]
    return allowed


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
        allowed += [(type(name, (OpaqueObject, ), {'qualified_name': name}), name) for name in unknown]
    elif unknown:
        raise UnsafeCheckpointError(
            f'{path} refers to objects that mmattn does not unpickle (it loads weights and plain data only): '
            f'{unknown}. If the file is a training checkpoint from another codebase, convert it with the '
            f"matching tools/model_converters script, which extracts the weights without running its code.")
    try:
        with torch.serialization.safe_globals(allowed):
            return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
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
