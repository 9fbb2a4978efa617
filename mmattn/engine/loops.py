"""Training loops whose runs resume exactly: killed at any iteration and resumed, a run ends with the weights of
an uninterrupted one.

mmengine's loops lose that in three ways: a mid-epoch checkpoint restarts its epoch from the first batch; the
data augmentation draws from each worker's generator, whose state depends on how many samples the worker has
processed since it started; and the model's draws (drop path, Mixup/CutMix, RoI sampling) continue whatever
state the global generators were left in, which validation and dataloader start-up also consume.

Saving generator states in checkpoints would not cure the last two (worker states depend on the worker count
and on where the epoch was cut, and things between a save and the next step draw too). So here every random
draw is a function of the run's seed and its position instead:

- each sample's augmentation runs with the global generators (Python, NumPy, torch) seeded from
  (seed, rank, epoch, batch, slot), in whichever worker it lands;
- each training step runs with them seeded from (seed, rank, iteration);
- a resumed epoch skips the batches already trained, reading indices only, no images.

The checkpoint already carries what that needs: the seed, epoch and iteration (mmengine's meta) and the
sampler's shuffling seed (in the message hub, for runs with ``randomness.seed=None``). ``tools/train.py``
puts every run's ``EpochBasedTrainLoop`` / ``IterBasedTrainLoop`` on these loops.
"""
import random
from contextlib import contextmanager
from typing import Optional

import numpy as np
import torch
from mmengine.dataset import InfiniteSampler
from mmengine.dist import get_rank
from mmengine.logging import print_log
from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.runner import EpochBasedTrainLoop, IterBasedTrainLoop
from torch.utils.data import BatchSampler

from mmattn.registry import DATA_SAMPLERS, DATASETS, LOOPS

SAMPLER_SEED_KEY = 'train_sampler_seed'


def derived_seed(*words: int) -> int:
    """A 64-bit seed mixed from ``words`` (non-negative ints); neighbouring words give unrelated seeds."""
    return int(np.random.SeedSequence(list(words)).generate_state(1, np.uint64)[0])


def seed_global_rngs(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@contextmanager
def global_rngs_seeded(seed: int):
    """Seed Python's, NumPy's and torch's global generators for the block, then put back their states."""
    states = random.getstate(), np.random.get_state(), torch.get_rng_state()
    seed_global_rngs(seed)
    try:
        yield
    finally:
        random.setstate(states[0])
        np.random.set_state(states[1])
        torch.set_rng_state(states[2])


@DATASETS.register_module()
class SeededSampleDataset:
    """A dataset whose sample ``(index, seed)`` is prepared with the global generators seeded by ``seed``.

    A plain ``index`` is prepared as the wrapped dataset prepares it. Every other attribute is the wrapped
    dataset's (``metainfo``, ``get_data_info``, ``pipeline`` ...).

    Args:
        dataset (dict | Dataset): The dataset, or its config.
    """

    def __init__(self, dataset):
        self.dataset = MMENGINE_DATASETS.build(dataset) if isinstance(dataset, dict) else dataset

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, key):
        if not isinstance(key, tuple):
            return self.dataset[key]
        index, seed = key
        with global_rngs_seeded(seed):
            return self.dataset[index]

    def __getattr__(self, name):
        if name.startswith('__') or name == 'dataset':  # dunders, and `dataset` while unpickling
            raise AttributeError(name)
        return getattr(self.dataset, name)


@DATA_SAMPLERS.register_module()
class ReproducibleBatchSampler:
    """Batches of ``(index, seed)`` keys for :class:`SeededSampleDataset`, startable at any batch.

    The batches are those of ``batch_sampler`` (mmdet's ``AspectRatioBatchSampler``, say), or of a plain
    ``BatchSampler`` when it is None. The seed of a sample depends on the run's seed, the rank, the epoch, and
    the batch and slot it fills, not on which process loads it or how many it loaded before.

    Args:
        sampler (Sampler): The index sampler (``DefaultSampler``, ``InfiniteSampler`` ...).
        batch_size (int): Samples per batch.
        batch_sampler (dict, optional): The config of the batch sampler to draw the batches from.
            Defaults to None.
        drop_last (bool): Drop a last incomplete batch (without ``batch_sampler``). Defaults to False.
    """

    def __init__(self, sampler, batch_size: int, batch_sampler: Optional[dict] = None, drop_last: bool = False):
        self.sampler = sampler  # DistSamplerSeedHook reaches the sampler's set_epoch through this attribute
        self.batch_size = batch_size  # FlexibleRunner reads it (its strategies' train_micro_batch_size_per_gpu)
        self.batches = (BatchSampler(sampler, batch_size, drop_last) if batch_sampler is None else
                        MMENGINE_DATA_SAMPLERS.build(batch_sampler,
                                                     default_args=dict(sampler=sampler, batch_size=batch_size)))
        self.seed = 0
        self.epoch = 0
        self._start = 0
        self._held = False

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        if hasattr(self.sampler, 'set_epoch'):
            self.sampler.set_epoch(epoch)

    def start_at(self, batch: int) -> None:
        """Make the next iteration begin with batch number ``batch`` of the epoch (indices are skipped, not
        loaded)."""
        self._start = batch

    @contextmanager
    def held(self):
        """Yield no batch inside the block (mmengine's IterBasedTrainLoop starts iterating when built, before a
        resume has said where to start)."""
        self._held = True
        try:
            yield
        finally:
            self._held = False

    def __len__(self):
        return len(self.batches)

    def __iter__(self):
        if self._held:
            return
        if isinstance(self.sampler, InfiniteSampler):  # its one endless stream restarts from the seed
            self.sampler.indices = self.sampler._indices_of_rank()
        start, self._start = self._start, 0
        rank = get_rank()  # ranks share the seed unless diff_rank_seed: their samples must not share streams
        for number, batch in enumerate(self.batches):
            if number >= start:
                yield [(index, derived_seed(self.seed, rank, self.epoch, number, slot))
                       for slot, index in enumerate(batch)]


class _ReproducibleLoopMixin:
    """What both loops share: the dataloader built around :class:`ReproducibleBatchSampler` and
    :class:`SeededSampleDataset`, the sampler seeds put back on resume, and seeded training steps."""

    @staticmethod
    def _build_dataloader(runner, dataloader):
        if not isinstance(dataloader, dict):
            raise TypeError(f'{__name__} loops build their dataloader themselves, so train_dataloader must be a '
                            f'config dict, not {type(dataloader).__name__}')
        dataloader = dict(dataloader)
        dataloader['dataset'] = dict(type='mmattn.SeededSampleDataset', dataset=dataloader['dataset'])
        dataloader['batch_sampler'] = dict(type='mmattn.ReproducibleBatchSampler',
                                           batch_sampler=dataloader.get('batch_sampler'),
                                           drop_last=dataloader.pop('drop_last', False))
        return runner.build_dataloader(dataloader, seed=runner.seed,
                                       diff_rank_seed=runner._randomness_cfg.get('diff_rank_seed', False))

    @property
    def batch_sampler(self) -> ReproducibleBatchSampler:
        return self.dataloader.batch_sampler

    def _put_back_seeds(self) -> None:
        # the sampler was built before the resume; with randomness.seed=None its shuffling seed is a fresh
        # random one, so it takes the seed of the run being resumed
        hub, sampler = self.runner.message_hub, self.batch_sampler.sampler
        if hasattr(sampler, 'seed'):
            sampler.seed = hub.get_info(SAMPLER_SEED_KEY, sampler.seed)
            hub.update_info(SAMPLER_SEED_KEY, sampler.seed)
        self.batch_sampler.seed = self.runner.seed

    def _seed_step(self) -> None:
        seed_global_rngs(derived_seed(self.runner.seed, get_rank(), self._iter))


@LOOPS.register_module()
class ReproducibleEpochBasedTrainLoop(_ReproducibleLoopMixin, EpochBasedTrainLoop):
    """mmengine's ``EpochBasedTrainLoop`` (same arguments) with exact resume, also from a checkpoint saved
    inside an epoch."""

    def __init__(self, runner, dataloader, *args, **kwargs):
        super().__init__(runner, self._build_dataloader(runner, dataloader), *args, **kwargs)

    def run(self):
        self._put_back_seeds()
        return super().run()

    def run_epoch(self) -> None:
        self.runner.call_hook('before_train_epoch')
        self.runner.model.train()
        trained = self._iter - self._epoch * len(self.dataloader)  # batches of this epoch before a resume
        if not 0 <= trained < len(self.dataloader):
            print_log(f'Iteration {self._iter} is not inside epoch {self._epoch + 1} of {len(self.dataloader)} '
                      'batches (did the batch size or the dataset change?); the epoch starts from its first batch',
                      logger='current', level='WARNING')
            trained = 0
        self.batch_sampler.set_epoch(self._epoch)
        self.batch_sampler.start_at(trained)
        for idx, data_batch in enumerate(self.dataloader, start=trained):
            self.run_iter(idx, data_batch)
        self.runner.call_hook('after_train_epoch')
        self._epoch += 1

    def run_iter(self, idx, data_batch) -> None:
        self._seed_step()
        super().run_iter(idx, data_batch)


@LOOPS.register_module()
class ReproducibleIterBasedTrainLoop(_ReproducibleLoopMixin, IterBasedTrainLoop):
    """mmengine's ``IterBasedTrainLoop`` (same arguments) with exact resume; a resumed run skips the batches
    already trained by their indices, without loading them as mmengine does."""

    def __init__(self, runner, dataloader, *args, **kwargs):
        dataloader = self._build_dataloader(runner, dataloader)
        # mmengine's __init__ starts iterating at once, before a resume has said where to start: that iterator
        # draws no batch, and run() makes the real one
        with dataloader.batch_sampler.held():
            super().__init__(runner, dataloader, *args, **kwargs)

    def run(self):
        self._put_back_seeds()
        self.runner.call_hook('before_train')
        # as mmengine's loop: the whole run is one "epoch" for the hooks
        self.runner.call_hook('before_train_epoch')
        self.dataloader_iterator = self._batches_from(self._iter)
        while self._iter < self._max_iters and not self.stop_training:
            self.runner.model.train()
            self.run_iter(next(self.dataloader_iterator))
            self._decide_current_val_interval()
            if (self.runner.val_loop is not None and self._iter >= self.val_begin
                    and (self._iter % self.val_interval == 0 or self._iter == self._max_iters)):
                self.runner.val_loop.run()
        # shut the workers down now: left to the garbage collector, each waits out a 5 s join timeout
        self.dataloader_iterator.close()
        self.runner.call_hook('after_train_epoch')
        self.runner.call_hook('after_train')
        return self.runner.model

    def _batches_from(self, iteration: int):
        """The run's batches from ``iteration`` on: passes over a finite sampler one after another (an
        ``InfiniteSampler`` makes one endless pass)."""
        if isinstance(self.batch_sampler.sampler, InfiniteSampler):
            epoch, start = 0, iteration
        else:
            epoch, start = divmod(iteration, len(self.dataloader))
        while True:
            self.batch_sampler.set_epoch(epoch)
            self.batch_sampler.start_at(start)
            yield from self.dataloader
            epoch, start = epoch + 1, 0

    def run_iter(self, data_batch) -> None:
        self._seed_step()
        super().run_iter(data_batch)


REPRODUCIBLE_LOOPS = {'EpochBasedTrainLoop': 'mmattn.ReproducibleEpochBasedTrainLoop',
                      'IterBasedTrainLoop': 'mmattn.ReproducibleIterBasedTrainLoop'}


def use_reproducible_loops(cfg) -> None:
    """Put the config's mmengine train loop (``type`` or ``by_epoch`` form) on its reproducible subclass.

    A custom loop type is left as it is.
    """
    train_cfg = cfg.get('train_cfg')
    if not train_cfg:
        return
    if 'type' not in train_cfg:
        by_epoch = train_cfg.pop('by_epoch', True)
        train_cfg['type'] = 'EpochBasedTrainLoop' if by_epoch else 'IterBasedTrainLoop'
    loop_type = train_cfg['type']
    if isinstance(loop_type, str):
        train_cfg['type'] = REPRODUCIBLE_LOOPS.get(loop_type.removeprefix('mmengine.'), loop_type)
