"""The ``mmattn`` registry scope.

``MODELS`` is a child of mmengine's root registry, so a config whose ``default_scope`` is ``mmpretrain``,
``mmdet`` or ``mmseg`` can still build ``type='mmattn.DaViT'``: mmengine resolves the ``mmattn.`` prefix by
searching the root's children for this scope. The same holds for the optimiser wrapper, hooks, loops, dataset
wrapper, batch sampler and the training strategies of mmengine's ``FlexibleRunner``.
"""
from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import STRATEGIES as MMENGINE_STRATEGIES
from mmengine.registry import Registry

MODELS = Registry('model', parent=MMENGINE_MODELS, scope='mmattn', locations=['mmattn.models'])

OPTIM_WRAPPERS = Registry('optim_wrapper', parent=MMENGINE_OPTIM_WRAPPERS, scope='mmattn',
                          locations=['mmattn.engine'])

HOOKS = Registry('hook', parent=MMENGINE_HOOKS, scope='mmattn', locations=['mmattn.engine'])

LOOPS = Registry('loop', parent=MMENGINE_LOOPS, scope='mmattn', locations=['mmattn.engine'])

DATASETS = Registry('dataset', parent=MMENGINE_DATASETS, scope='mmattn', locations=['mmattn.engine'])

DATA_SAMPLERS = Registry('data sampler', parent=MMENGINE_DATA_SAMPLERS, scope='mmattn', locations=['mmattn.engine'])

STRATEGIES = Registry('strategy', parent=MMENGINE_STRATEGIES, scope='mmattn', locations=['mmattn.engine'])

__all__ = ['MODELS', 'OPTIM_WRAPPERS', 'HOOKS', 'LOOPS', 'DATASETS', 'DATA_SAMPLERS', 'STRATEGIES']
