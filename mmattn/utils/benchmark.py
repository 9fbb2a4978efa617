"""Side-by-side measurement helpers for tools/analysis/ benchmarks (never used in tests)."""
import json
import os
import statistics
import tempfile
import time
from typing import Callable, Dict, Optional


def interleaved_median_times(functions: Dict[str, Callable[[], None]], repeats: int, warmup: int = 1,
                             on_repeat: Optional[Callable[[int], None]] = None) -> Dict[str, float]:
    """Median wall time of each function, calls interleaved so that machine load affects all alike.

    ``on_repeat(i)`` is called after round ``i`` (progress output).
    """
    for _ in range(warmup):
        for function in functions.values():
            function()
    times = {name: [] for name in functions}
    for i in range(repeats):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            times[name].append(time.perf_counter() - start)
        if on_repeat is not None:
            on_repeat(i)
    return {name: statistics.median(values) for name, values in times.items()}


def peak_cpu_bytes(function: Callable[[], None]) -> int:
    """Peak bytes held by tensors created during ``function()`` on the CPU.

    Runs it once under ``torch.profiler`` with ``profile_memory=True``, which records every allocation and free
    of torch's CPU allocator (no caching on CPU: each is a real malloc/free). The running sum of those records,
    in order, is the memory held by tensors created during the call (activations saved for backward,
    temporaries, outputs, gradients); its maximum is the peak. Tensors that exist before the call are not
    counted.
    """
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        function()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'trace.json')
        prof.export_chrome_trace(path)
        with open(path) as f:
            events = [e for e in json.load(f)['traceEvents'] if e.get('name') == '[memory]']
    events.sort(key=lambda e: (e['ts'], e['args'].get('Ev Idx', 0)))
    held = peak = 0
    for event in events:
        held += event['args']['Bytes']
        peak = max(peak, held)
    return peak


def peak_cuda_bytes(function: Callable[[], None], device=None) -> int:
    """Peak bytes allocated on the CUDA device during ``function()`` beyond what was allocated before it."""
    import torch
    torch.cuda.synchronize(device)
    before = torch.cuda.memory_allocated(device)
    torch.cuda.reset_peak_memory_stats(device)
    function()
    torch.cuda.synchronize(device)
    return torch.cuda.max_memory_allocated(device) - before


def peak_bytes(function: Callable[[], None], device: str = 'cpu') -> int:
    """:func:`peak_cpu_bytes` or :func:`peak_cuda_bytes` of ``function()``, by ``device`` ('cpu' / 'cuda')."""
    return peak_cuda_bytes(function) if str(device).startswith('cuda') else peak_cpu_bytes(function)


# matrix products and convolutions: the same arithmetic in both implementations of a model, by the same libraries
MATMUL_OPS = ('aten::mm', 'aten::addmm', 'aten::bmm', 'aten::baddbmm', 'aten::baddbmm_', 'aten::addmm_',
              'aten::addbmm', 'aten::mkldnn_convolution', 'aten::convolution_backward')


def cpu_op_profile(function: Callable[[], None], top: int = 8) -> dict:
    """Where one ``function()`` call spends its CPU time, by operator (``torch.profiler``, self time).

    Returns ``total_ms`` (all operators), ``matmul_ms`` (those of :data:`MATMUL_OPS`: matrix products and
    convolutions) and ``top``, the ``top`` most expensive operators as ``[name, ms]``. Intra-op threads are not
    separate events, so the totals are close to the wall time of the call.
    """
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        function()
    events = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)
    total = sum(e.self_cpu_time_total for e in events) / 1e3
    matmul = sum(e.self_cpu_time_total for e in events if e.key in MATMUL_OPS) / 1e3
    return dict(total_ms=total, matmul_ms=matmul, top=[[e.key, e.self_cpu_time_total / 1e3] for e in events[:top]])
