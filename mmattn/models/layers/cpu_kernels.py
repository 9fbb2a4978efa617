"""mmattn's compiled CPU kernels (``csrc/``), built with the local C++ compiler on first use and cached.

The build (about 30 s on 2 cores) happens once per source version, torch version and CPU kind, in
``$MMATTN_CACHE/kernels`` (``~/.cache/mmattn/kernels`` by default, next to the mmcv wheels; ``make venv``
builds them in advance). Where no compiler works, the callers fall back to the equivalent, slower ATen
formulation after one warning.
"""
import contextlib
import hashlib
import logging
import os
import platform
import sys
import warnings
from pathlib import Path
from typing import Optional

import torch

_SOURCES = [Path(__file__).parent / 'csrc' / 'position_bias.cpp']
_loaded: Optional[bool] = None  # None: not tried yet


@contextlib.contextmanager
def _quiet_logger(name: str):
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _cpu_features() -> bytes:
    """The CPU's instruction-set flags: the kernels are built for the local CPU (``-march=native``), so a cache
    shared by several machines keeps one build per CPU kind."""
    try:
        with open('/proc/cpuinfo', 'rb') as info:
            return next((line for line in info if line.startswith(b'flags')), b'')
    except OSError:
        return platform.processor().encode()


def kernel_build_dir() -> Path:
    """Where the kernels of this source, this torch and this CPU kind are built."""
    digest = hashlib.sha1(torch.__version__.encode() + sys.version.encode() + _cpu_features())
    for source in _SOURCES:
        digest.update(source.read_bytes())
    # the same folder as tools/setup_env.sh's mmcv wheels
    cache = os.environ.get('MMATTN_CACHE') or \
        Path(os.environ.get('XDG_CACHE_HOME') or Path.home() / '.cache') / 'mmattn'
    return Path(cache) / 'kernels' / digest.hexdigest()[:16]


def load_cpu_kernels(strict: bool = False) -> bool:
    """Build (once) and load the kernels into ``torch.ops.mmattn_cpu``; returns whether they are available.

    Args:
        strict (bool): Raise the build error instead of warning and returning False. Defaults to False.
    """
    global _loaded
    if _loaded or _loaded is False and not strict:
        return _loaded
    with _quiet_logger('torch.utils.cpp_extension'):  # its import warns that no CUDA runtime exists
        from torch.utils.cpp_extension import load
    build_dir = kernel_build_dir()
    try:
        if not any(build_dir.glob('*.so')):
            build_dir.mkdir(parents=True, exist_ok=True)
            print(f'mmattn: compiling the CPU kernels into {build_dir} (once, about 30 s)', file=sys.stderr,
                  flush=True)
        # -fopenmp: at::parallel_for uses OpenMP, resolved to the libgomp torch has already loaded;
        # -march=native: the local vector instructions (SSE4.1 floor, FMA, AVX2); the cache is keyed by the CPU
        load('mmattn_cpu_kernels', [str(s) for s in _SOURCES], extra_cflags=['-O3', '-fopenmp', '-march=native'],
             extra_ldflags=['-fopenmp'], build_directory=str(build_dir), is_python_module=False, verbose=False)
    except Exception as error:  # noqa: BLE001 (any build failure means: use the ATen fallback)
        if strict:
            raise
        warnings.warn(f'mmattn: could not build the CPU kernels ({type(error).__name__}: {error}); using the '
                      'slower ATen formulation instead.')
        _loaded = False
        return False
    _register_fakes()
    _loaded = True
    return True


def _register_fakes():
    """Shape functions, so that ``torch.compile`` traces through the kernels instead of breaking the graph."""

    @torch.library.register_fake('mmattn_cpu::sample_position_bias')
    def _(table, pos_half, query_half):
        return table.new_empty(table.shape[0], table.shape[1], query_half.shape[0], pos_half.shape[1])

    @torch.library.register_fake('mmattn_cpu::sample_position_bias_backward')
    def _(grad, table, pos_half, query_half, grad_table, grad_pos):
        return None

