"""Which runner a config trains and tests with."""


def build_runner(cfg):
    """mmengine's ``Runner``, or the runner that ``cfg.runner_type`` names (``'FlexibleRunner'`` for sharded
    training with a ``strategy``), as mmengine's own tools/train.py and tools/test.py choose."""
    if 'runner_type' not in cfg:
        from mmengine.runner import Runner
        return Runner.from_cfg(cfg)
    from mmengine.registry import RUNNERS
    return RUNNERS.build(cfg)
