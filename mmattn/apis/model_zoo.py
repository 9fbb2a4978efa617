"""The experiments of ``configs/*/metafile.yml`` by name."""
import difflib
import fnmatch
import os.path as osp
from functools import lru_cache
from glob import glob
from typing import Dict, List, Optional

CONFIG_ROOT = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'configs')

TASKS = ('classification', 'detection', 'segmentation')
TASK_OF_DATA = {'ImageNet-1k': 'classification', 'COCO': 'detection', 'ADE20K': 'segmentation'}


class UnknownModelError(KeyError):
    """A model name that no metafile lists."""

    def __str__(self):
        return self.args[0]


@lru_cache(maxsize=1)
def metafile_models() -> Dict[str, dict]:
    """Every model of ``configs/*/metafile.yml`` by name, in file order. Its ``Metadata`` extends its
    collection's (e.g. the training data); ``README`` is its collection's and ``task`` is derived from the
    training data (``'classification'``, ``'detection'``, ``'segmentation'``, or None)."""
    from mmengine.fileio import load
    models = {}
    for metafile in sorted(glob(osp.join(CONFIG_ROOT, '*', 'metafile.yml'))):
        content = load(metafile)
        collections = {c['Name']: c for c in content.get('Collections', [])}
        for model in content.get('Models', []):
            collection = collections.get(model.get('In Collection'), {})
            model['Metadata'] = {**collection.get('Metadata', {}), **model.get('Metadata', {})}
            model['README'] = collection.get('README', '')
            model['task'] = TASK_OF_DATA.get(model['Metadata'].get('Training Data'))
            models[model['Name']] = model
    if not models:
        raise FileNotFoundError(f'no configs/*/metafile.yml under {CONFIG_ROOT}: the model names need the '
                                'configs/ folder of an mmattn checkout')
    return models


def list_models(pattern: Optional[str] = None, task: Optional[str] = None) -> List[str]:
    """Names of the experiments in the metafiles, sorted.

    Args:
        pattern (str, optional): A shell-style pattern (``'*davit*'``, ``'mask-rcnn_*'``); a pattern without
            wildcards matches names containing it. Defaults to None (all).
        task (str, optional): ``'classification'``, ``'detection'`` or ``'segmentation'``. Defaults to None.

    Returns:
        list[str]: Names for :func:`mmattn.apis.get_model` and ``demo/image_demo.py``.
    """
    if task is not None and task not in TASKS:
        raise ValueError(f'task={task!r}: expected one of {list(TASKS)}')
    if pattern is not None and not any(char in pattern for char in '*?['):
        pattern = f'*{pattern}*'
    names = []
    for name, model in metafile_models().items():
        if (pattern is None or fnmatch.fnmatch(name, pattern)) and task in (None, model['task']):
            names.append(name)
    return sorted(names)


def model_config_path(name: str) -> str:
    """The config file of the experiment ``name``; an unknown name lists the closest ones."""
    models = metafile_models()
    if name not in models:
        close = difflib.get_close_matches(name, list(models), n=5, cutoff=0.5)
        hint = f'closest: {", ".join(close)}' if close else 'see mmattn.apis.list_models()'
        raise UnknownModelError(f'no model named {name!r} in configs/*/metafile.yml ({hint})')
    return osp.join(osp.dirname(CONFIG_ROOT), models[name]['Config'])
