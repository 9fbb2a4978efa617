from mmattn.utils.checkpoint import UnsafeCheckpointError

from .hooks import NonFiniteGuardHook, NonFiniteTrainingError
from .loading import CheckpointMismatchError, require_exact_checkpoints
from .loops import (ReproducibleBatchSampler, ReproducibleEpochBasedTrainLoop, ReproducibleIterBasedTrainLoop,
                    SeededSampleDataset, use_reproducible_loops)
from .optim_wrapper import CpuAmpOptimWrapper

# errors whose message says all a user needs: the tools print it and exit 1, without a traceback
RUN_STOPPING_ERRORS = (CheckpointMismatchError, NonFiniteTrainingError, UnsafeCheckpointError)

__all__ = ['CheckpointMismatchError', 'CpuAmpOptimWrapper', 'NonFiniteGuardHook', 'NonFiniteTrainingError',
           'ReproducibleBatchSampler', 'ReproducibleEpochBasedTrainLoop', 'ReproducibleIterBasedTrainLoop',
           'RUN_STOPPING_ERRORS', 'SeededSampleDataset', 'require_exact_checkpoints', 'use_reproducible_loops']
