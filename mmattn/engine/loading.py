"""Checkpoints that must fit the model exactly: the one ``tools/test.py`` evaluates and the one ``--resume``
continues from. mmengine loads both non-strictly and only logs the keys it could not place, so a wrong file
(another model's weights, a 1000-class head for a 3-class config) runs on with a half-random network."""
from mmengine.model import BaseTTAModel, is_model_wrapper
from mmengine.runner.checkpoint import _load_checkpoint, _load_checkpoint_to_model

from mmattn.utils.checkpoint import apply_key_revisions, state_dict_mismatches


class CheckpointMismatchError(ValueError):
    """A checkpoint whose keys or shapes differ from the model's."""


def require_fit(checkpoint, model, filename, revise_keys=((r'^module\.', ''), )) -> None:
    """Raise :class:`CheckpointMismatchError` listing what keeps ``checkpoint`` from loading exactly into
    ``model``."""
    weights = apply_key_revisions(checkpoint.get('state_dict', checkpoint), revise_keys)
    problems = state_dict_mismatches(weights, model.state_dict())
    if problems:
        raise CheckpointMismatchError(
            f'{filename} does not fit the model of this config:\n  ' + '\n  '.join(problems) +
            '\nIs it a checkpoint of this config (same model, task, arch and number of classes)? To start from '
            'other weights, use load_from for fine-tuning, or the backbone\'s init_cfg.')


def require_exact_checkpoints(runner) -> None:
    """Make ``runner.load_checkpoint`` (which ``runner.test()`` and ``runner.resume()`` call) refuse any
    checkpoint that does not fit the model: missing, unexpected and mis-shaped keys are listed."""

    def load_checkpoint(filename, map_location='cpu', strict=True, revise_keys=((r'^module\.', ''), )):
        # Runner.load_checkpoint's signature; ``strict`` is accepted and ignored: this loader is always strict
        checkpoint = _load_checkpoint(filename, map_location=map_location)
        runner.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        model = runner.model
        while is_model_wrapper(model) or isinstance(model, BaseTTAModel):  # DDP, tools/test.py --tta
            model = model.module
        require_fit(checkpoint, model, filename, revise_keys)
        if hasattr(runner, 'strategy'):  # FlexibleRunner: its strategy knows how the (sharded) model loads
            runner.strategy.load_model_state_dict(checkpoint.get('state_dict', checkpoint), strict=True,
                                                  revise_keys=list(revise_keys))
        else:
            _load_checkpoint_to_model(model, checkpoint, strict=True, revise_keys=list(revise_keys))
        runner._has_loaded = True
        runner.logger.info(f'Load checkpoint from {filename} (every key matched)')
        return checkpoint

    runner.load_checkpoint = load_checkpoint
