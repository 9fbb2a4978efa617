from mmattn.utils.checkpoint import UnsafeCheckpointError

from .hooks import NonFiniteGuardHook, NonFiniteTrainingError
from .loading import CheckpointMismatchError, require_exact_checkpoints
from .loops import (ReproducibleBatchSampler, ReproducibleEpochBasedTrainLoop, ReproducibleIterBasedTrainLoop,
                    SeededSampleDataset, use_reproducible_loops)
from .optim_wrapper import CpuAmpOptimWrapper
from .runner import build_runner
from .strategies import FSDP2Strategy

# errors whose message says all a user needs: the tools print it and exit 1, without a traceback
RUN_STOPPING_ERRORS = (CheckpointMismatchError, NonFiniteTrainingError, UnsafeCheckpointError)

__all__ = ['CheckpointMismatchError', 'CpuAmpOptimWrapper', 'FSDP2Strategy', 'NonFiniteGuardHook',
           'NonFiniteTrainingError', 'ReproducibleBatchSampler', 'ReproducibleEpochBasedTrainLoop',
           'ReproducibleIterBasedTrainLoop', 'RUN_STOPPING_ERRORS', 'SeededSampleDataset', 'build_runner',
           'require_exact_checkpoints', 'use_reproducible_loops']
