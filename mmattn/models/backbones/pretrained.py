"""Initialising a dense-prediction backbone from a classifier checkpoint (``init_cfg=dict(type='Pretrained')``).

One mechanism for every mmattn backbone, replacing mmengine's ``PretrainedInit`` (which unpickles the file
unrestricted, skips only a log line when nothing matches, and reports every absent key as a warning):

- the file is read weights-only (:func:`mmattn.utils.load_checkpoint_file`); an ``http(s)://`` checkpoint is
  downloaded into torch's hub cache first and read the same way;
- a missing file stops with the converter command that makes it;
- the keys under ``prefix`` must cover the backbone, except the per-output LayerNorms ``norm{i}`` that a
  classifier lacks (it has only the last one): those are listed once as expected and start from ones/zeros;
  any other missing, unexpected or mis-shaped key is an error that lists them;
- position-bias tables of another size are resized by the layers' own load hooks.
"""
import re
from typing import Dict

import torch
import torch.nn as nn

EXPECTED_MISSING = re.compile(r'^norm\d+\.')
# position-bias tables that the layers' own load hooks resize to the model's window / feature size
RESIZABLE_TABLES = ('relative_position_bias_table', 'rpe_table')


def missing_checkpoint_message(backbone: nn.Module, checkpoint: str) -> str:
    name = type(backbone).__name__
    script = getattr(backbone, 'converter_script', None)
    convert = (f'    python tools/model_converters/{script} OFFICIAL_CHECKPOINT {checkpoint}\n'
               if script else '')
    return (f'{name}: the pretrained classifier checkpoint {checkpoint!r} does not exist. Make it from the '
            f'official ImageNet weights with\n{convert}or from a classifier trained with tools/train.py (its '
            f'checkpoint loads as it is); or train from scratch with '
            f'--cfg-options model.backbone.init_cfg=None.')


def select_backbone_weights(state_dict: Dict[str, torch.Tensor], prefix: str,
                            source: str) -> Dict[str, torch.Tensor]:
    if not prefix:
        return dict(state_dict)
    selected = {k[len(prefix):]: v for k, v in state_dict.items() if k.startswith(prefix)}
    if not selected:
        examples = ', '.join(sorted(state_dict)[:5])
        raise ValueError(f'{source} has no keys with the prefix {prefix!r} (its keys look like '
                         f'{examples}). Official checkpoints must be converted first '
                         f'(tools/model_converters/*2mmattn.py).')
    return selected


def load_pretrained(backbone: nn.Module, checkpoint: str, prefix: str = '', map_location: str = 'cpu') -> None:
    """Load the ``prefix`` part of a classifier checkpoint into ``backbone`` (see the module docstring).

    Raises:
        FileNotFoundError: naming the file and the converter command that makes it.
        ValueError: listing the keys that are unexpected, missing (beyond the output norms) or mis-shaped.
    """
    from mmengine.logging import print_log

    from mmattn.utils.checkpoint import extract_state_dict, load_checkpoint_path_or_url, state_dict_mismatches
    try:
        loaded = load_checkpoint_path_or_url(checkpoint, map_location)
    except FileNotFoundError:
        raise FileNotFoundError(missing_checkpoint_message(backbone, str(checkpoint))) from None
    weights = select_backbone_weights(extract_state_dict(loaded), prefix, str(checkpoint))
    own = backbone.state_dict()
    missing = sorted(set(own) - set(weights))
    problems = state_dict_mismatches(weights, own, may_miss=EXPECTED_MISSING.match,
                                     may_differ_in_shape=lambda key: key.endswith(RESIZABLE_TABLES))
    if problems:
        raise ValueError(f'{checkpoint} does not fit {type(backbone).__name__} (prefix {prefix!r}):\n  ' +
                         '\n  '.join(problems) + '\nIs it a checkpoint of the same model and arch?')
    backbone.load_state_dict(weights, strict=False)
    expected = sorted({k.split('.')[0] for k in missing})
    note = (f'; not in the checkpoint, as expected for a classifier: {", ".join(expected)} (per-output '
            'LayerNorms, starting from weight 1, bias 0)') if expected else ''
    print_log(f'{type(backbone).__name__}: loaded {len(weights)} tensors from {checkpoint}{note}',
              logger='current')
