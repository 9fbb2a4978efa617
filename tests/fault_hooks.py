"""Faults and probes for test configs to import (custom_imports): a rank that hangs, a process killed mid-epoch,
the share of the parameters each rank holds."""
import os
import signal
import time

import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class StuckRankHook(Hook):
    """Rank 1 stops responding after its first iteration, as a rank stuck in I/O or a deadlock would, without
    dying."""

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if get_rank() == 1:
            time.sleep(3600)


@HOOKS.register_module()
class SigkillHook(Hook):
    """The process receives SIGKILL when iteration ``at_iter`` (0-based) is about to train on its loaded batch,
    as an out-of-memory killer or a pre-empted node would end it: no handler runs, nothing is flushed."""

    def __init__(self, at_iter):
        self.at_iter = at_iter

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter == self.at_iter:
            os.kill(os.getpid(), signal.SIGKILL)


@HOOKS.register_module()
class ShardProbeHook(Hook):
    """Writes ``shard_rank{rank}.json`` into the work dir after the first training iteration: how many parameter
    elements this rank holds (the local shards of FSDP2's DTensors) against the full model's count, and the dtype
    of the weights the first convolution computed with."""

    def before_train(self, runner):
        from torch.distributed.tensor import DTensor
        params = list(runner.model.parameters())
        self.counts = dict(local=sum((p.to_local() if isinstance(p, DTensor) else p).numel() for p in params),
                           full=sum(p.numel() for p in params))
        conv = next(m for m in runner.model.modules() if isinstance(m, torch.nn.Conv2d))
        self.handle = conv.register_forward_pre_hook(self._record_dtype)

    def _record_dtype(self, module, args):
        self.counts.setdefault('compute_dtype', str(module.weight.dtype))  # returns None: the input stays

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        import json
        self.handle.remove()
        with open(os.path.join(runner.work_dir, f'shard_rank{get_rank()}.json'), 'w') as file:
            json.dump(self.counts, file)
