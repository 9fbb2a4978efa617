import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)  # tools/ and tests/ helpers import from the checkout

# one thread per pytest-xdist worker (`make test` runs two), else up to two
torch.set_num_threads(1 if os.environ.get('PYTEST_XDIST_WORKER') else max(1, min(2, os.cpu_count() or 1)))


@pytest.fixture(scope='session')
def imagenet_shapes(tmp_path_factory):
    """A small synthetic classification set in the ImageNet layout (4 shape classes, 32x32 images)."""
    from mmattn.datasets import make_imagenet_layout
    root = str(tmp_path_factory.mktemp('imagenet_shapes'))
    return make_imagenet_layout(root, num_train_per_class=4, num_val_per_class=2, image_size=(40, 40), seed=0)


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def run_command(command, env=None, timeout=900, cwd=REPO):
    """Run ``command`` in ``cwd`` (the repo root); return the CompletedProcess (stdout and stderr merged)."""
    full_env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get('PYTHONPATH', ''),
                    PYTHON=sys.executable, OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1', **(env or {}))
    return subprocess.run(command, cwd=cwd, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=timeout)


def run_tool(*args, env=None, timeout=900):
    """Run ``python <args>`` with this interpreter (a tool script and its arguments)."""
    return run_command([sys.executable, *args], env=env, timeout=timeout)


@pytest.fixture(scope='session')
def coco_shapes(tmp_path_factory):
    """A small synthetic instance-segmentation set in the COCO layout (4 shape classes, 96x80 images)."""
    from mmattn.datasets import make_coco_layout
    return make_coco_layout(str(tmp_path_factory.mktemp('coco_shapes')), num_train=6, num_val=3,
                            image_size=(96, 80), seed=0)


@pytest.fixture(scope='session')
def ade_shapes(tmp_path_factory):
    """A small synthetic semantic-segmentation set in the ADE20K layout (4 classes, 96x80 images)."""
    from mmattn.datasets import make_ade20k_layout
    return make_ade20k_layout(str(tmp_path_factory.mktemp('ade_shapes')), num_train=6, num_val=3,
                              image_size=(96, 80), seed=0, num_classes=4)
