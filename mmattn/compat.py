"""Every workaround for torch 2.13 x mmengine 0.10.7 (x mmcv 2.1.0), in one place, each with its reason.

:func:`apply` runs on ``import mmattn`` and is idempotent. :func:`adapt_config` is called by the tools on the
config before the Runner is built. See docs/get_started.md ("Compatibility fixes").
"""
import os

import torch

_applied = False


def _safe_local_loader(filename, map_location):
    # torch >= 2.6 defaults to weights_only=True and mmengine 0.10.7 calls torch.load without arguments, so
    # the checkpoints its own CheckpointHook writes (message_hub with HistoryBuffer and numpy objects) fail to
    # --resume or test. Instead of falling back to unrestricted unpickling, load every local file through
    # the weights-only loader with an allow-list of those data classes; anything else is refused with a
    # message that names the objects.
    from mmattn.utils.checkpoint import load_checkpoint_file
    return load_checkpoint_file(os.path.expanduser(filename), map_location=map_location)


def _init_dist_pytorch_cpu_aware(original):
    # mmengine's _init_dist_pytorch calls torch.cuda.set_device unconditionally, which fails on CPU-only
    # machines; there the process group is gloo and no device is set.
    def init(backend, init_backend='torch', **kwargs):
        if torch.cuda.is_available():
            return original(backend, init_backend=init_backend, **kwargs)
        import torch.distributed as dist
        dist.init_process_group(backend='gloo', **kwargs)

    init.__wrapped__ = original
    return init


def apply() -> None:
    """Patch mmengine in place (local checkpoint loading, CPU distributed initialisation)."""
    global _applied
    if _applied:
        return
    from mmengine.dist import utils as dist_utils
    from mmengine.runner.checkpoint import CheckpointLoader

    CheckpointLoader.register_scheme(prefixes='', loader=_safe_local_loader, force=True)
    if not hasattr(dist_utils._init_dist_pytorch, '__wrapped__'):
        dist_utils._init_dist_pytorch = _init_dist_pytorch_cpu_aware(dist_utils._init_dist_pytorch)
    import mmattn.engine  # noqa: F401  (registers the CPU AMP optimizer wrapper)
    _applied = True


def close_distributed() -> None:
    """Destroy the process group at the end of a tool run.

    mmengine never does; leaving a gloo group to interpreter shutdown occasionally made both ranks of a
    finished CPU run exit with an error (torchrun's ChildFailedError after the last iteration).
    """
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def _replace_sync_bn(node):
    if isinstance(node, dict):
        if node.get('type') in ('SyncBN', 'MMSyncBN'):
            node['type'] = 'BN'
        for value in node.values():
            _replace_sync_bn(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            _replace_sync_bn(value)


def adapt_config(cfg, launcher: str = 'none') -> None:
    """Make a GPU-oriented config run on this machine when it has no CUDA device.

    - distributed: mmengine wraps the model in DDP with ``device_ids=[LOCAL_RANK]``, which fails for CPU
      modules; ``device_ids=None`` is what DDP expects there, and the process group is gloo.
    - SyncBN: torch's SyncBatchNorm refuses CPU tensors; plain BN is used instead (per-process statistics).
    """
    if torch.cuda.is_available():
        return
    if launcher != 'none':
        wrapper = cfg.get('model_wrapper_cfg') or dict(type='MMDistributedDataParallel')
        wrapper.setdefault('device_ids', None)
        wrapper.setdefault('broadcast_buffers', False)
        cfg.model_wrapper_cfg = wrapper
        cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'
    _replace_sync_bn(cfg.get('model'))


apply()
