"""The reproducible loops (issue 10): a run resumed from any checkpoint, inside an epoch or across passes over
the data, ends with the weights of an uninterrupted one; a batch sampler started at batch k yields what the
whole iteration yields from k on. tests/test_tools/test_exact_resume.py does the same through tools/train.py,
with a real SIGKILL and the full ImageNet recipe."""
import os.path as osp
import random
from itertools import islice

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.dataset import DefaultSampler, InfiniteSampler
from mmengine.model import BaseModel
from mmengine.runner import Runner

from mmattn.engine import ReproducibleBatchSampler, SeededSampleDataset, use_reproducible_loops


class NoisyDataset:
    """Eight samples whose "augmentation" draws from all three global generators."""

    def __init__(self):
        generator = torch.Generator().manual_seed(0)
        self.x, self.y = torch.randn(8, 2, generator=generator), torch.randn(8, 1, generator=generator)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, index):
        noise = torch.randn(2) + float(np.random.rand()) + random.random()
        return dict(inputs=self.x[index] + noise, targets=self.y[index])

    def get_data_info(self, index):  # for mmdet's AspectRatioBatchSampler: two aspect-ratio groups
        return dict(width=2 + index % 2, height=2)


class DropoutRegression(BaseModel):

    def __init__(self):
        super().__init__()
        self.linear = nn.Sequential(nn.Linear(2, 16), nn.Dropout(0.5), nn.Linear(16, 1))

    def forward(self, inputs, targets=None, mode='tensor'):
        out = self.linear(torch.stack(inputs))
        return dict(loss=((out - torch.stack(targets)) ** 2).mean())


def train(work_dir, train_cfg, sampler, save_every, resume_from=None, seed=1, **loader_options):
    torch.manual_seed(0)
    cfg = Config(dict(train_cfg=train_cfg))
    use_reproducible_loops(cfg)
    runner = Runner(
        model=DropoutRegression(), work_dir=str(work_dir), train_cfg=cfg.train_cfg,
        train_dataloader=dict(dataset=NoisyDataset(), sampler=dict(type=sampler, shuffle=True), batch_size=2,
                              **dict(dict(num_workers=0), **loader_options)),
        optim_wrapper=dict(optimizer=dict(type='AdamW', lr=1e-2)), randomness=dict(seed=seed),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=save_every, by_epoch=False)),
        default_scope='mmengine', experiment_name=osp.basename(work_dir), load_from=resume_from,
        resume=resume_from is not None)
    runner.train()
    return runner.model.state_dict()


@pytest.mark.parametrize('train_cfg,sampler,loader_options', [
    (dict(by_epoch=True, max_epochs=3), 'DefaultSampler', {}),
    (dict(by_epoch=False, max_iters=12), 'DefaultSampler', {}),  # passes over the data one after another
    (dict(by_epoch=False, max_iters=12), 'InfiniteSampler', {}),
    # mmdet's batch sampler keeps state between its batches; a worker prefetches as soon as the loop is built
    (dict(by_epoch=False, max_iters=12), 'DefaultSampler',
     dict(batch_sampler=dict(type='mmdet.AspectRatioBatchSampler'), num_workers=1)),
])
def test_resume_from_any_iteration_gives_the_uninterrupted_weights(tmp_path, train_cfg, sampler, loader_options):
    import mmdet.datasets  # noqa: F401  (registers AspectRatioBatchSampler)
    whole = train(tmp_path / 'whole', train_cfg, sampler, save_every=1, **loader_options)
    # 4 batches an epoch (or pass): iteration 3 is inside the first, 6 inside the second
    for stop in (3, 6):
        resumed = train(tmp_path / f'from{stop}', train_cfg, sampler, save_every=100,
                        resume_from=str(tmp_path / 'whole' / f'iter_{stop}.pth'), **loader_options)
        different = [name for name, value in whole.items() if not torch.equal(value, resumed[name])]
        assert not different, f'resumed from iteration {stop}: {different} differ'


def test_a_run_without_a_fixed_seed_resumes_with_its_own_seeds(tmp_path):
    # randomness.seed=None: the resumed process draws a new seed, and builds its sampler with it before resuming
    train_cfg = dict(by_epoch=False, max_iters=8)
    whole = train(tmp_path / 'whole', train_cfg, 'DefaultSampler', save_every=1, seed=None)
    resumed = train(tmp_path / 'resumed', train_cfg, 'DefaultSampler', save_every=100, seed=None,
                    resume_from=str(tmp_path / 'whole' / 'iter_5.pth'))
    assert all(torch.equal(value, resumed[name]) for name, value in whole.items())


@pytest.mark.parametrize('sampler,batch_sampler', [
    (DefaultSampler, None), (DefaultSampler, dict(type='mmdet.AspectRatioBatchSampler')), (InfiniteSampler, None)])
def test_batch_sampler_started_at_a_batch_yields_the_rest_of_the_whole_iteration(sampler, batch_sampler):
    import mmdet.datasets  # noqa: F401  (registers AspectRatioBatchSampler)
    batches = ReproducibleBatchSampler(sampler(NoisyDataset(), seed=3), 2, batch_sampler=batch_sampler)
    batches.set_epoch(1)
    whole = list(islice(batches, 10))
    assert whole == list(islice(batches, 10))  # a new iteration starts over (also the endless one)
    assert len({seed for batch in whole for _, seed in batch}) == sum(map(len, whole))  # no two alike
    batches.start_at(3)
    assert list(islice(batches, 7)) == whole[3:]
    assert list(islice(batches, 10)) == whole  # the start applies to one iteration
    with batches.held():
        assert list(batches) == []
    batches.set_epoch(2)
    assert list(islice(batches, 10)) != whole


def test_seeded_sample_is_the_same_whatever_the_global_generators_and_leaves_them_alone():
    dataset = SeededSampleDataset(NoisyDataset())
    first = dataset[(5, 1234)]
    torch.manual_seed(99), np.random.seed(99), random.seed(99)
    state = torch.get_rng_state(), np.random.get_state()[1].copy(), random.getstate()
    second = dataset[(5, 1234)]
    assert torch.equal(first['inputs'], second['inputs'])
    assert not torch.equal(first['inputs'], dataset[(5, 1235)]['inputs'])
    assert torch.equal(state[0], torch.get_rng_state()) and (state[1] == np.random.get_state()[1]).all()
    assert state[2] == random.getstate()


def test_train_configs_are_put_on_the_reproducible_loops():
    forms = [dict(by_epoch=True, max_epochs=2), dict(type='EpochBasedTrainLoop', max_epochs=2),
             dict(by_epoch=False, max_iters=5), dict(type='mmengine.IterBasedTrainLoop', max_iters=5),
             dict(type='MyLoop', max_iters=5)]
    expected = ['mmattn.ReproducibleEpochBasedTrainLoop'] * 2 + ['mmattn.ReproducibleIterBasedTrainLoop'] * 2 + [
        'MyLoop']
    for train_cfg, loop in zip(forms, expected):
        cfg = Config(dict(train_cfg=train_cfg))
        use_reproducible_loops(cfg)
        assert cfg.train_cfg.type == loop and 'by_epoch' not in cfg.train_cfg


def test_ranks_sharing_a_seed_augment_their_samples_from_different_streams(monkeypatch):
    import mmattn.engine.loops as loops

    def first_batches(rank):
        monkeypatch.setattr(loops, 'get_rank', lambda: rank)
        batches = ReproducibleBatchSampler(DefaultSampler(NoisyDataset(), seed=3), 2)
        return [seed for batch in batches for _, seed in batch]

    assert not set(first_batches(0)) & set(first_batches(1))
