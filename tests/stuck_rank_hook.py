"""Imported by a test config (custom_imports): rank 1 stops responding after its first iteration, as a rank
stuck in I/O or a deadlock would, without dying."""
import time

from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class StuckRankHook(Hook):

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if get_rank() == 1:
            time.sleep(3600)
