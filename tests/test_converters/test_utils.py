"""Converter rules every converter shares (issue 13): a DDP ``module.`` prefix is stripped only when every key
has it, and a tensor of the wrong shape for the model is an error naming it."""
import pytest
import torch

from mmattn.converters.dat import convert_dat
from mmattn.converters.utils import ConversionError, strip_prefix
from reference.dat import official_state_dict


def test_module_prefix_is_stripped_only_from_a_whole_ddp_state_dict():
    one = torch.zeros(1)
    assert strip_prefix({'module.a': one, 'module.b.c': one}, 'module.') == {'a': one, 'b.c': one}
    # a model whose own parameter names start with "module." keeps them when other keys do not
    assert set(strip_prefix({'module.a': one, 'b': one}, 'module.')) == {'module.a', 'b'}
    assert set(strip_prefix({'module.module.a': one}, 'module.')) == {'module.a'}  # once
    assert strip_prefix({}, 'module.') == {}


def test_a_tensor_of_the_wrong_shape_is_named_with_both_shapes():
    state = official_state_dict('tiny', num_classes=5)
    key = 'stages.2.attns.1.proj_q.weight'
    state[key] = torch.zeros(state[key].shape[0], state[key].shape[1] + 1, *state[key].shape[2:])
    with pytest.raises(ConversionError, match=r'shape mismatch.*stages\.2\.blocks\.1\.attn\.proj_q\.weight'):
        convert_dat(state)
