"""tools/train.py's --amp and --auto-scale-lr change what runs, not only the config (issue 13)."""
import torch
import torch.nn as nn

from mmattn.engine import CpuAmpOptimWrapper
from tests.test_engine.test_run_safety import ToyModel, toy_runner
from tools.train import merge_args, parse_args


def test_cpu_amp_wrapper_runs_the_forward_under_bfloat16_autocast():
    model = nn.Linear(4, 4)
    wrapper = CpuAmpOptimWrapper(optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    with wrapper.optim_context(model):
        assert torch.is_autocast_enabled('cpu') and torch.get_autocast_dtype('cpu') == torch.bfloat16
        assert model(torch.randn(2, 4)).dtype == torch.bfloat16
    assert not torch.is_autocast_enabled('cpu')


def test_amp_flag_picks_the_cpu_wrapper(tmp_path):
    from mmengine.config import Config
    cfg = Config(dict(optim_wrapper=dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.1)),
                      model=dict(type='X')))
    merge_args(cfg, parse_args(['cfg.py', '--amp', '--work-dir', str(tmp_path)]))
    expected = 'AmpOptimWrapper' if torch.cuda.is_available() else 'mmattn.CpuAmpOptimWrapper'
    assert cfg.optim_wrapper.type == expected


def test_auto_scale_lr_scales_the_optimiser_by_the_real_batch(tmp_path):
    # toy_runner trains with batch 2 on one process and lr 1e-2; a base batch of 8 means a quarter of it
    runner = toy_runner(tmp_path, ToyModel(), max_iters=1, auto_scale_lr=dict(enable=True, base_batch_size=8))
    runner.train()
    assert abs(runner.optim_wrapper.get_lr()['lr'][0] - 1e-2 * 2 / 8) < 1e-12


def test_auto_scale_lr_flag_enables_the_config_s_scaling(tmp_path):
    from mmengine.config import Config

    def merged(*flags):
        cfg = Config(dict(auto_scale_lr=dict(base_batch_size=1024), model=dict(type='X')))
        return merge_args(cfg, parse_args(['cfg.py', '--work-dir', str(tmp_path), *flags])).auto_scale_lr

    assert merged('--auto-scale-lr') == dict(base_batch_size=1024, enable=True)
    assert not merged().get('enable', False)


def test_dist_timeout_flag_sets_the_collective_timeout(tmp_path):
    from mmengine.config import Config

    def timeout(*flags):
        cfg = Config(dict(model=dict(type='X'), env_cfg=dict(dist_cfg=dict(backend='nccl'))))
        return merge_args(cfg, parse_args(['cfg.py', '--work-dir', str(tmp_path), *flags])).env_cfg.dist_cfg.timeout

    assert timeout() == 1800 and timeout('--dist-timeout', '7') == 7
