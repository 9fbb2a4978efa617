import os
import os.path as osp
import subprocess
import sys
import tempfile

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


def tool_env(env=None):
    """The environment of a command: this one, the checkout importable, one thread; then ``env``."""
    return dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get('PYTHONPATH', ''),
                PYTHON=sys.executable, OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1', **(env or {}))


_tool_server = []


def run_command(command, env=None, timeout=900, cwd=REPO):
    """Run ``command`` in ``cwd`` (the repo root); return the CompletedProcess (stdout and stderr merged).

    ``python <script>.py ...`` is forked from tests/tool_server.py's server, which has the third-party
    packages imported already; anything else (``bash``, launchers) is started as it is.
    """
    full_env = tool_env(env)
    if command[0] != sys.executable or not command[1].endswith('.py'):
        return subprocess.run(command, cwd=cwd, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, timeout=timeout)
    from tests.tool_server import ToolServer
    if not _tool_server:
        _tool_server.append(ToolServer(tool_env()))
    with tempfile.NamedTemporaryFile('r', suffix='.log') as output:
        returncode = _tool_server[0].run(command[1:], cwd, full_env, output.name, timeout)
        return subprocess.CompletedProcess(command, returncode, output.read())


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


# the longest pytest-xdist scopes (--dist loadscope gives a worker a whole module or class) start first, longest
# first, so that the workers finish together instead of one starting a long module while the other ends
LONGEST_SCOPES = (
    'tests/test_docs_commands.py::TestUserGuide',
    'tests/test_tools/test_detection_e2e.py::TestMaskRCNN',
    'tests/test_tools/test_segmentation_e2e.py::TestUPerNet',
    'tests/test_tools/test_fsdp2_e2e.py',
    'tests/test_tools/test_davit_e2e.py',
    'tests/test_tools/test_run_safety_tools.py',
    'tests/test_docs_commands.py',
    'tests/test_models/test_compile.py::TestDilateFormer',
    'tests/test_models/test_compile.py',
    'tests/test_tools/test_segmentation_e2e.py',
    'tests/test_converters/test_davit.py',
    'tests/test_configs/test_det_configs.py',
    'tests/test_tools/test_detection_e2e.py',
    'tests/test_tools/test_datpp_e2e.py',
    'tests/test_tools/test_detection_e2e.py::TestCascadeMaskRCNN',
)


def pytest_configure(config):
    if hasattr(config.option, 'loadscopereorder'):  # pytest-xdist would order the scopes by their test count
        config.option.loadscopereorder = False


def pytest_collection_modifyitems(items):
    def rank(item):
        return next((i for i, scope in enumerate(LONGEST_SCOPES) if item.nodeid.startswith(scope + '::')),
                    len(LONGEST_SCOPES))

    items.sort(key=rank)  # stable: the order within a scope, and of the other scopes, stays
