"""Training curves from a work dir's ``vis_data/scalars.json`` (what mmengine's LocalVisBackend writes), for any
task: used by ``tools/analysis/plot_curves.py`` and ``make demo``."""
import glob
import json
import os.path as osp
from typing import List, Optional, Sequence, Tuple

META_KEYS = {'step', 'epoch', 'iter', 'time', 'data_time', 'memory', 'base_lr'}


def read_scalars(path: str) -> List[dict]:
    """The records of ``path`` (a scalars.json) or of the newest run in ``path`` (a work dir)."""
    if osp.isdir(path):
        files = sorted(glob.glob(osp.join(path, '*', 'vis_data', 'scalars.json')))
        if not files:
            raise FileNotFoundError(f'{path} holds no <timestamp>/vis_data/scalars.json: is it a work dir of '
                                    'tools/train.py?')
        path = files[-1]
    with open(path) as file:
        return [json.loads(line) for line in file if line.strip()]


def split_records(records: Sequence[dict]) -> Tuple[List[dict], List[dict]]:
    """Training records (they carry a loss) and evaluation records (the rest)."""
    train = [r for r in records if any('loss' in k for k in r)]
    return train, [r for r in records if r not in train]


def plot_runs(runs: Sequence[Tuple[str, Sequence[dict], Optional[Sequence[str]]]], path: str,
              title: Optional[str] = None) -> str:
    """Draw one row per run ``(title, records, keys)``: its training ``keys`` (default: every loss) against the
    iteration and, on a second axis, its evaluation metrics; save a PNG to ``path`` and return it."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(len(runs), 1, figsize=(8, 3 * len(runs)), squeeze=False)
    for ax, (run_title, records, keys) in zip(axes[:, 0], runs):
        train, evaluation = split_records(records)
        keys = keys or sorted({k for r in train for k in r if 'loss' in k}, key=lambda k: (k != 'loss', k))
        for key in keys:
            points = [(r['step'], r[key]) for r in train if key in r]
            ax.plot(*zip(*points), label=key, linewidth=2 if key == 'loss' else 1)
        ax.set(title=run_title, xlabel='iteration', ylabel='training loss', ylim=(0, None))
        ax.legend(loc='upper left', fontsize='small')
        metrics = sorted({k for r in evaluation for k in r if k not in META_KEYS})
        if metrics and len(evaluation) > 1:  # a single final evaluation is in the title, not a curve
            # an epoch-based run logs evaluations by epoch: place each at the last iteration of its epoch
            epoch_end = {}
            for r in train:
                if 'epoch' in r:
                    epoch_end[r['epoch']] = max(epoch_end.get(r['epoch'], 0), r['step'])
            twin = ax.twinx()
            for key in metrics[:4]:
                points = [(epoch_end.get(r['step'], r['step']), r[key]) for r in evaluation if key in r]
                twin.plot(*zip(*points), linestyle='--', marker='o', label=key)
            twin.set(ylabel='evaluation')
            twin.legend(loc='upper right', fontsize='small')
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path
