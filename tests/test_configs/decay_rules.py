"""The weight-decay rule every detection and segmentation config must follow (one check for both suites)."""
import torch
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope
from torch.nn.modules.batchnorm import _BatchNorm

NORM_TYPES = (_BatchNorm, torch.nn.LayerNorm, torch.nn.GroupNorm)
TABLES = ('relative_position_bias_table', 'rpe_table')


def check_no_decay_on_norms_biases_and_tables(cfg, model):
    """Build ``cfg``'s optimiser for ``model``; assert the decay of every parameter (none on norms, biases and
    position tables, the config's weight decay elsewhere; tables exist exactly in DAT and DAT++). Returns each
    parameter's lr by ``id``."""
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    groups = optim_wrapper.optimizer.param_groups
    decay = {id(p): group['weight_decay'] for group in groups for p in group['params']}
    base = cfg.optim_wrapper.optimizer.weight_decay
    counts = dict(tables=0, norms=0, decayed=0)
    for module_name, module in model.named_modules():
        for name, param in module.named_parameters(recurse=False):
            table = name in TABLES
            norm = isinstance(module, NORM_TYPES)
            exempt = norm or name == 'bias' or table
            counts['tables'] += table
            counts['norms'] += norm
            counts['decayed'] += not exempt
            assert decay[id(param)] == (0. if exempt else base), f'{module_name}.{name}'
    assert counts['norms'] > 0 and counts['decayed'] > 0
    has_tables = cfg.model.backbone.type in ('mmattn.DAT', 'mmattn.DATPlusPlus')
    assert counts['tables'] > 0 if has_tables else counts['tables'] == 0
    return {id(p): group['lr'] for group in groups for p in group['params']}
