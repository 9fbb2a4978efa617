"""Runs that stop cleanly and lose nothing: the non-finite guard, atomic checkpoint writes, the best checkpoint
kept until its successor is complete, and checkpoints from URLs read weights-only (issue 10)."""
import os
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmengine.evaluator import BaseMetric
from mmengine.model import BaseModel
from mmengine.runner import Runner

import mmattn.compat  # noqa: F401  (the patches under test)
from mmattn.engine import NonFiniteTrainingError
from mmattn.utils import UnsafeCheckpointError, load_checkpoint_file
from tests.test_models.test_backbones.test_pretrained import Exploit, http_root  # noqa: F401  (fixture)


class ToyModel(BaseModel):
    """A linear regression that goes wrong on purpose at training call ``fail_at``."""

    def __init__(self, fail_at=None, failure='nan_loss'):
        super().__init__()
        self.linear = nn.Linear(2, 1)
        self.fail_at, self.failure, self.calls = fail_at, failure, 0

    def forward(self, inputs, targets=None, mode='tensor'):
        out = self.linear(torch.stack(inputs))
        if mode == 'loss':
            self.calls += 1
            loss = ((out - torch.stack(targets)) ** 2).mean()
            if self.calls == self.fail_at and self.failure == 'nan_loss':
                loss = loss * float('nan')
            if self.calls == self.fail_at and self.failure == 'inf_grad':  # a finite loss, an infinite gradient
                loss = loss + (self.linear.bias * 0).abs().sqrt().sum()  # sqrt'(0) = inf
            if self.calls == self.fail_at and self.failure == 'inf_weight':  # a finite loss, broken weights
                with torch.no_grad():
                    self.linear.bias.fill_(float('inf'))
            return dict(loss=loss)
        return [dict(pred=o) for o in out]


class RisingMetric(BaseMetric):
    """Gets better at every evaluation, so each one writes a new best checkpoint."""
    calls = 0

    def process(self, data_batch, data_samples):
        self.results.append(0)

    def compute_metrics(self, results):
        RisingMetric.calls += 1
        return dict(score=float(RisingMetric.calls))


def toy_runner(work_dir, model, max_iters=6, checkpoint=None, val=False, **runner_args):
    data = [dict(inputs=torch.randn(2), targets=torch.randn(1)) for _ in range(8)]
    loader = dict(dataset=data, sampler=dict(type='DefaultSampler', shuffle=False), batch_size=2, num_workers=0)
    return Runner(
        model=model, work_dir=str(work_dir), train_dataloader=loader,
        train_cfg=dict(by_epoch=False, max_iters=max_iters, val_interval=2),
        optim_wrapper=runner_args.pop('optim_wrapper', dict(optimizer=dict(type='AdamW', lr=1e-2))),
        val_dataloader=loader if val else None, val_cfg=dict() if val else None,
        val_evaluator=[RisingMetric()] if val else None,
        default_hooks=dict(checkpoint=checkpoint or dict(type='CheckpointHook', interval=2, by_epoch=False,
                                                         max_keep_ckpts=1)),
        custom_hooks=[dict(type='mmattn.NonFiniteGuardHook')], default_scope='mmengine',
        experiment_name=osp.basename(work_dir),  # runners named alike (same second) would share a MessageHub
        **runner_args)


def test_guard_names_an_infinite_gradient_norm_under_a_finite_loss(tmp_path):
    runner = toy_runner(tmp_path, ToyModel(fail_at=3, failure='inf_grad'),
                        optim_wrapper=dict(optimizer=dict(type='AdamW', lr=1e-2), clip_grad=dict(max_norm=1.0)))
    with pytest.raises(NonFiniteTrainingError, match=r'iteration 3: grad_norm = (inf|nan)'):
        runner.train()


def all_finite(path):
    return all(torch.isfinite(v).all() for v in load_checkpoint_file(path)['state_dict'].values())


@pytest.mark.parametrize('failure,named', [('nan_loss', 'loss = nan'), ('inf_weight', 'linear.bias')])
def test_guard_stops_at_the_first_non_finite_iteration_and_keeps_the_last_good_checkpoint(tmp_path, failure,
                                                                                           named):
    runner = toy_runner(tmp_path, ToyModel(fail_at=5, failure=failure))
    with pytest.raises(NonFiniteTrainingError, match=rf'iteration 5: .*{named}.*iter_4\.pth, is kept'):
        runner.train()
    # one checkpoint kept (max_keep_ckpts=1): still the good one of iteration 4, and last_checkpoint names it
    assert sorted(f for f in os.listdir(tmp_path) if f.endswith('.pth')) == ['iter_4.pth']
    assert open(tmp_path / 'last_checkpoint').read().strip().endswith('iter_4.pth')
    assert all_finite(tmp_path / 'iter_4.pth')


class DiesWhileWriting:
    """``open`` whose files die (KeyboardInterrupt) halfway through their first write, as a killed run would."""

    def __init__(self, only=''):
        self.only = only

    def __call__(self, path, mode='r', *args, **kwargs):
        file = open(path, mode, *args, **kwargs)
        if 'w' not in mode or self.only not in str(path):
            return file
        real_write, dead = file.write, []

        def write(data):
            if dead:  # whatever runs on the way out writes nothing more
                return len(data)
            dead.append(real_write(bytes(data)[:max(1, len(data) // 2)]))
            raise KeyboardInterrupt

        file.write = write
        return file


@pytest.fixture
def dying_writes(monkeypatch):
    """Make checkpoint files die mid-write, whichever code writes them (mmengine's backend or mmattn's)."""
    import mmengine.fileio.backends.local_backend as local_backend

    def install(only=''):
        for module in (local_backend, mmattn.compat):
            monkeypatch.setattr(module, 'open', DiesWhileWriting(only), raising=False)
    return install


def test_checkpoint_write_is_atomic(tmp_path, dying_writes):
    from mmengine.runner.checkpoint import save_checkpoint
    path = str(tmp_path / 'ckpt.pth')
    save_checkpoint({'state_dict': {'w': torch.ones(3)}}, path)
    dying_writes()
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint({'state_dict': {'w': torch.zeros(1000)}}, path)
    assert torch.equal(load_checkpoint_file(path)['state_dict']['w'], torch.ones(3))
    assert os.listdir(tmp_path) == ['ckpt.pth']


def test_previous_best_checkpoint_survives_a_crash_while_the_next_best_is_written(tmp_path, dying_writes):
    RisingMetric.calls = 0
    checkpoint = dict(type='CheckpointHook', interval=100, by_epoch=False, save_best='score', rule='greater')
    runner = toy_runner(tmp_path, ToyModel(), max_iters=4, checkpoint=checkpoint, val=True)
    dying_writes(only='best_score_iter_4')
    with pytest.raises(KeyboardInterrupt):
        runner.train()
    assert osp.isfile(tmp_path / 'best_score_iter_2.pth')
    assert all_finite(tmp_path / 'best_score_iter_2.pth')
    assert not any(f.startswith('best_score_iter_4') for f in os.listdir(tmp_path))


def test_best_checkpoint_is_replaced_after_a_normal_evaluation(tmp_path):
    RisingMetric.calls = 0
    checkpoint = dict(type='CheckpointHook', interval=100, by_epoch=False, save_best='score', rule='greater')
    toy_runner(tmp_path, ToyModel(), max_iters=4, checkpoint=checkpoint, val=True).train()
    assert sorted(f for f in os.listdir(tmp_path) if f.startswith('best')) == ['best_score_iter_4.pth']


def test_every_checkpoint_scheme_is_read_weights_only(http_root, tmp_path):
    from mmengine.logging import HistoryBuffer
    from mmengine.runner import checkpoint as mmengine_checkpoint
    from mmengine.runner.checkpoint import CheckpointLoader
    root, url = http_root
    # an mmengine training checkpoint (what --resume URL reads) loads, HistoryBuffer included
    torch.save({'state_dict': {'w': torch.ones(1)}, 'message_hub': {'loss': HistoryBuffer()}}, root / 'run.pth')
    assert torch.equal(CheckpointLoader.load_checkpoint(f'{url}/run.pth')['state_dict']['w'], torch.ones(1))
    marker = tmp_path / 'pwned'
    torch.save({'state_dict': {'w': torch.ones(1)}, 'evil': Exploit(marker)}, root / 'evil.pth')
    for path in (f'{url}/evil.pth', str(root / 'evil.pth')):
        with pytest.raises(UnsafeCheckpointError, match='system'):
            CheckpointLoader.load_checkpoint(path)
    # torchvision://, openmmlab:// and mmcls:// resolve to URLs and download through this one function
    with pytest.raises(UnsafeCheckpointError, match='system'):
        mmengine_checkpoint.load_from_http(f'{url}/evil.pth')
    assert not marker.exists()
