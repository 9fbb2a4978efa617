from mmattn.utils.checkpoint import UnsafeCheckpointError

from .hooks import NonFiniteGuardHook, NonFiniteTrainingError
from .loading import CheckpointMismatchError, require_exact_checkpoints
from .optim_wrapper import CpuAmpOptimWrapper

# errors whose message says all a user needs: the tools print it and exit 1, without a traceback
RUN_STOPPING_ERRORS = (CheckpointMismatchError, NonFiniteTrainingError, UnsafeCheckpointError)

__all__ = ['CheckpointMismatchError', 'CpuAmpOptimWrapper', 'NonFiniteGuardHook', 'NonFiniteTrainingError',
           'RUN_STOPPING_ERRORS', 'require_exact_checkpoints']
