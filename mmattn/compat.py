"""Every patch of mmengine 0.10.7 and mmcv 2.1.0 (under torch 2.13), in one place, each with its reason:
compatibility workarounds, and the safety rules of the project (checkpoints loaded weights-only on every path,
written atomically; unreadable data files named).

:func:`apply` runs on ``import mmattn`` and is idempotent. :func:`adapt_config` is called by the tools on the
config before the Runner is built. See docs/get_started.md ("Compatibility fixes").

Not patched here: mmengine's ``FSDPStrategy`` wraps with FSDP1, which torch 2.13 refuses without an accelerator;
``mmattn.engine.FSDP2Strategy`` (on FSDP2's ``fully_shard``, GPU and CPU) takes its place in sharded configs.
"""
import os

import torch

_applied = False


def _safe_loader(filename, map_location=None, model_dir=None, progress=True):
    # torch >= 2.6 defaults to weights_only=True and mmengine 0.10.7 calls torch.load without arguments, so
    # the checkpoints its own CheckpointHook writes (message_hub with HistoryBuffer and numpy objects) fail to
    # --resume or test; and mmengine reads http(s) checkpoints with its own load_url. Instead of falling back
    # to unrestricted unpickling, local files and URLs (downloaded into torch's hub cache) both go through the
    # weights-only loader with an allow-list of those data classes; anything else is refused with a message that
    # names the objects. The torchvision://, openmmlab:// and mmcls:// schemes resolve to URLs and reach it
    # through mmengine's module-level load_from_http (whose signature this follows).
    from mmattn.utils.checkpoint import load_checkpoint_path_or_url
    return load_checkpoint_path_or_url(filename, map_location=map_location)


def _safe_backend_loader(filename, map_location=None, backend='petrel'):
    # s3:// and other storage backends: fetch the bytes through mmengine's file backend, then read them from a
    # temporary file weights-only (mmengine would torch.load the buffer).
    import tempfile

    from mmengine.fileio import get

    from mmattn.utils.checkpoint import load_checkpoint_file
    with tempfile.NamedTemporaryFile(suffix='.pth') as file:
        file.write(get(filename, backend_args=dict(backend=backend)))
        file.flush()
        return load_checkpoint_file(file.name, map_location=map_location)


def _refuse_pavi(filename, map_location=None):
    raise ValueError(f'{filename}: pavi:// checkpoints are not supported by mmattn (they are read without the '
                     'weights-only check); download the file and pass its local path.')


def _atomic_save_checkpoint(original):
    # mmengine writes a checkpoint in place: a run killed while saving leaves a truncated file under the final
    # name (and for the best checkpoint, the previous best is already gone). Write a temporary file next to
    # it and rename it when complete; rename is atomic on one file system. Remote backends are left to mmengine.
    def save_checkpoint(checkpoint, filename, file_client_args=None, backend_args=None):
        filename = str(filename)
        if '://' in filename or file_client_args is not None or backend_args is not None:
            return original(checkpoint, filename, file_client_args=file_client_args, backend_args=backend_args)
        os.makedirs(os.path.dirname(os.path.abspath(filename)), exist_ok=True)
        partial = f'{filename}.part'
        try:
            with open(partial, 'wb') as file:
                torch.save(checkpoint, file)
                file.flush()
                os.fsync(file.fileno())
            os.replace(partial, filename)
        finally:
            if os.path.exists(partial):
                os.remove(partial)

    save_checkpoint.__wrapped__ = original
    return save_checkpoint


def _best_removed_after_saving(original):
    # CheckpointHook removes the previous best checkpoint before it writes the new one; killed in between, a
    # run has no best checkpoint at all. Defer the removal until the new one is complete.
    def save_best(self, runner, metrics):
        backend = getattr(self, 'file_backend', None)
        if backend is None:  # Runner.val() alone: before_train, which sets the backend, never ran
            return original(self, runner, metrics)
        removals = []
        backend.remove = backend.rmtree = removals.append  # instance attributes shadow the methods for a call
        try:
            original(self, runner, metrics)
        finally:
            del backend.remove, backend.rmtree
        kept = {getattr(self, 'best_ckpt_path', None), *getattr(self, 'best_ckpt_path_dict', {}).values()}
        for path in removals:
            if path not in kept:
                backend.rmtree(path) if backend.isdir(path) else backend.remove(path)

    save_best.__wrapped__ = original
    return save_best


class DataFileError(IOError):
    """An image or annotation file of the dataset cannot be read."""


def _naming_the_file(original, key):
    # mmcv's loaders re-raise the decoder's error (a 0-byte JPEG gives OpenCV's "!buf.empty()"), which does not
    # say which of a million files is broken
    def transform(self, results):
        try:
            return original(self, results)
        except DataFileError:
            raise
        except Exception as err:
            raise DataFileError(
                f'{results.get(key, "?")}: cannot be read ({type(err).__name__}: {err}). Check every file of '
                'the dataset with: python tools/misc/verify_dataset.py CONFIG') from err

    transform.__wrapped__ = original
    return transform


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


def _compile_feature_extractor(self, target: str) -> None:
    # cfg.compile (True or torch.compile's options). mmengine 0.10.7 compiles the whole ``train_step``, and only
    # in train(): dynamo then traces into the optimizer step, which fails under torch 2.13 (an internal error on
    # the param groups, "'UserDefinedDictVariable' object has no attribute 'items'"), and a detector's heads,
    # whose shapes follow the data (proposals, NMS), would recompile every iteration. Instead, the feature
    # extractor (``extract_feat``: backbone and neck, tensors in and out; ``forward`` where a model has none)
    # is compiled, once, for training, validation and testing alike; the optimizer and heads run eagerly.
    options = self.cfg.get('compile', None)
    if options is None or options is False:
        return
    options = {} if options is True else dict(options)
    # static shapes unless the config says otherwise: once dynamo turns sizes symbolic (on the second input
    # size), inductor fails to compile DilateFormer's graphs under torch 2.13 ("cannot determine truth value of
    # Relational" in get_stride_order). Each new input size then compiles anew, up to torch's recompile limit.
    options.setdefault('dynamic', False)
    from mmengine.model import is_model_wrapper
    model = self.model.module if is_model_wrapper(self.model) else self.model
    if getattr(model, '_mmattn_compiled', False):
        return
    name = 'extract_feat' if hasattr(model, 'extract_feat') else 'forward'
    setattr(model, name, torch.compile(getattr(model, name), **options))
    model._mmattn_compiled = True
    self.logger.info(f'compile: torch.compile({type(model).__name__}.{name}, {options}); the first iterations '
                     'compile (minutes on a CPU), later ones reuse the code.')


def _compiled_before(original):
    # mmengine calls _maybe_compile only in train(); val() and test() (tools/test.py) honour cfg.compile too
    def run(self):
        self._maybe_compile('test_step')
        return original(self)

    run.__wrapped__ = original
    return run


def apply() -> None:
    """Patch mmengine in place (safe checkpoint loading, atomic checkpoint saving, CPU distributed runs,
    ``compile=True``)."""
    global _applied
    if _applied:
        return
    import mmengine.runner
    from mmcv.transforms import LoadAnnotations, LoadImageFromFile
    from mmengine.dist import utils as dist_utils
    from mmengine.hooks import CheckpointHook
    from mmengine.runner import checkpoint as checkpoint_module
    from mmengine.runner import runner as runner_module
    from mmengine.runner.checkpoint import CheckpointLoader

    # every way a checkpoint enters: local files, URLs (and the schemes that resolve to URLs), storage backends
    CheckpointLoader.register_scheme(prefixes=('', 'http://', 'https://'), loader=_safe_loader, force=True)
    checkpoint_module.load_from_http = _safe_loader
    CheckpointLoader.register_scheme(prefixes='s3://', loader=_safe_backend_loader, force=True)
    CheckpointLoader.register_scheme(prefixes='pavi://', loader=_refuse_pavi, force=True)
    atomic_save = _atomic_save_checkpoint(checkpoint_module.save_checkpoint)
    for module in (checkpoint_module, runner_module, mmengine.runner):  # each holds its own reference
        module.save_checkpoint = atomic_save
    CheckpointHook._save_best_checkpoint = _best_removed_after_saving(CheckpointHook._save_best_checkpoint)
    LoadImageFromFile.transform = _naming_the_file(LoadImageFromFile.transform, 'img_path')
    LoadAnnotations.transform = _naming_the_file(LoadAnnotations.transform, 'seg_map_path')  # mmseg's maps
    runner_module.Runner._maybe_compile = _compile_feature_extractor
    runner_module.Runner.val = _compiled_before(runner_module.Runner.val)
    runner_module.Runner.test = _compiled_before(runner_module.Runner.test)
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
