"""The real command lines end to end on synthetic data: train, resume, test, distributed test, the
checkpoints they refuse. (Converting official weights, 2-process training: tests/test_docs_commands.py.)"""
import os.path as osp
import re

import pytest
import torch

from tests.conftest import free_port, run_command, run_tool
from tests.smoke import evaluate, make_smoke_config, train_smoke

CONFIG = 'configs/davit/davit-tiny_in1k.py'


@pytest.fixture(scope='module')
def trained(imagenet_shapes, tmp_path_factory):
    return train_smoke(CONFIG, imagenet_shapes, str(tmp_path_factory.mktemp('davit_train')))


def test_train_writes_checkpoints_and_logs(trained):
    config, work_dir, log = trained
    assert osp.isfile(osp.join(work_dir, 'iter_4.pth'))
    assert re.search(r'Iter\(train\) \[4/4\].*loss: [\d.]+', log)
    assert 'accuracy/top1' in log  # validated at the end of training


def test_test_tool_evaluates_the_trained_checkpoint(trained, tmp_path):
    config, work_dir, _ = trained
    out = tmp_path / 'preds.pkl'
    evaluate(config, osp.join(work_dir, 'iter_4.pth'), '--work-dir', str(tmp_path), '--out', str(out))
    assert out.is_file() and out.stat().st_size > 0


def test_resume_continues_from_the_saved_iteration(trained, tmp_path):
    config, work_dir, _ = trained
    result = run_tool('tools/train.py', config, '--work-dir', work_dir, '--resume',
                      osp.join(work_dir, 'iter_2.pth'), '--cfg-options', 'train_cfg.max_iters=6')
    assert result.returncode == 0, result.stdout[-4000:]
    assert 'resumed epoch: 0, iter: 2' in result.stdout
    assert re.search(r'Iter\(train\) \[3/6\]', result.stdout) and re.search(r'Iter\(train\) \[6/6\]', result.stdout)
    assert not re.search(r'Iter\(train\) \[1/6\]', result.stdout)


def test_two_process_distributed_test_on_cpu(trained, tmp_path):
    config, work_dir, _ = trained
    result = run_command(['bash', 'tools/dist_test.sh', config, osp.join(work_dir, 'iter_4.pth'), '2',
                          '--work-dir', str(tmp_path)], env={'PORT': str(free_port())})
    assert result.returncode == 0, result.stdout[-6000:]
    assert 'Distributed training: True' in result.stdout
    assert re.search(r'accuracy/top1: [\d.]+', result.stdout)


def test_test_and_resume_refuse_a_checkpoint_that_does_not_fit(trained, tmp_path):
    from mmattn.utils import load_checkpoint_file
    config, work_dir, _ = trained
    state = load_checkpoint_file(osp.join(work_dir, 'iter_4.pth'))['state_dict']
    state['head.fc.weight'], state['head.fc.bias'] = torch.zeros(3, 768), torch.zeros(3)  # a 3-class model
    state['backbone.extra.weight'] = torch.zeros(1)
    del state['backbone.norm3.weight']
    torch.save({'state_dict': state, 'meta': {}}, tmp_path / 'other.pth')
    for command in (['tools/test.py', config, str(tmp_path / 'other.pth')],
                    ['tools/train.py', config, '--resume', str(tmp_path / 'other.pth')]):
        result = run_tool(*command, '--work-dir', str(tmp_path))
        assert result.returncode != 0, command
        assert 'CheckpointMismatchError' in result.stdout and 'head.fc.weight (3, 768) vs (4, 768)' in result.stdout
        assert 'backbone.extra.weight' in result.stdout and 'backbone.norm3.weight' in result.stdout
        assert not re.search(r'accuracy/top1: [\d.]+', result.stdout)


def test_plot_curves_draws_a_png_per_run_and_names_unknown_keys(trained, tmp_path):
    import runpy

    from PIL import Image
    _, work_dir, _ = trained
    plot = runpy.run_path('tools/analysis/plot_curves.py', run_name='plot_curves')['main']
    out = tmp_path / 'curves.png'
    plot([work_dir, work_dir, '--keys', 'loss', 'lr', '--out', str(out)])
    assert Image.open(out).size == (640, 480)  # two rows of 8x3 inches at 80 dpi
    with pytest.raises(SystemExit, match=r"\['loss_typo'\] were never logged"):
        plot([work_dir, '--keys', 'loss_typo', '--out', str(out)])
    with pytest.raises(SystemExit, match='no <timestamp>/vis_data/scalars.json'):
        plot([str(tmp_path), '--out', str(out)])


class TestWithoutTheTrainedModel:
    """A scope (pytest-xdist worker) apart from the tests of the module's trained model."""

    def test_amp_flag_trains_on_cpu_with_bfloat16(self, imagenet_shapes, tmp_path):
        config = make_smoke_config(CONFIG, imagenet_shapes, str(tmp_path), max_iters=2)
        result = run_tool('tools/train.py', config, '--amp', '--no-validate')
        assert result.returncode == 0, result.stdout[-4000:]
        assert "type='mmattn.CpuAmpOptimWrapper'" in result.stdout  # the config the runner logs

    def test_missing_dataset_explains_layout_and_demo(self, tmp_path):
        result = run_tool('tools/train.py', CONFIG, '--work-dir', str(tmp_path),
                          '--cfg-options', f'train_dataloader.dataset.data_root={tmp_path}/no_imagenet')
        assert result.returncode != 0
        assert 'no_imagenet' in result.stdout and 'ImageNet layout' in result.stdout
        assert 'meta/train.txt' in result.stdout and 'make demo' in result.stdout
        assert 'Traceback' not in result.stdout

    def test_untrusted_checkpoint_is_refused_not_executed(self, imagenet_shapes, tmp_path):
        import os

        class Exploit:
            def __reduce__(self):
                return (os.system, (f'touch {tmp_path}/pwned',))

        torch.save({'state_dict': {}, 'x': Exploit()}, tmp_path / 'evil.pth')
        config = make_smoke_config(CONFIG, imagenet_shapes, str(tmp_path))
        result = run_tool('tools/test.py', config, str(tmp_path / 'evil.pth'))
        assert result.returncode != 0
        assert 'system' in result.stdout and 'does not unpickle' in result.stdout
        assert not (tmp_path / 'pwned').exists()
