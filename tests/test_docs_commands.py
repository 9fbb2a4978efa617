"""The documented commands run (issue 11), so that the docs cannot rot.

Every command line and Python snippet in a fenced block of the docs is exercised in a workspace laid out as the
docs assume: this checkout's configs/, tools/ and demo/, generated data where the docs put the real data (the
demo's work_dirs/demo/data/, data/imagenet, data/coco), and generated official-layout checkpoints under the
file names the docs give the releases.

- The user guide runs end to end as written, each training shrunk with appended ``--cfg-options``.
- Every conversion of a Tiny release runs, and so does each evaluation of the weights it writes.
- The Python snippets run; config fragments build their backbone and load the weights they name.
- The rest (8 GPUs, several nodes, the full datasets, Small/Base releases, CONFIG / CHECKPOINT placeholders)
  goes through the tool's own argument parsing and, for training and testing, its config merging: the config
  must load and every flag and ``--cfg-options`` key must be accepted.

``test_every_documented_command_is_exercised`` keeps the split complete, so a new command cannot slip past.
"""
import copy
import json
import os
import os.path as osp
import re
import runpy
import shlex
import shutil
import sys
from functools import lru_cache

import pytest
import torch
from mmengine.config import Config

from tests.conftest import REPO, free_port, run_command
from tests.test_docs import DOCS, LAUNCHED, documented_commands, fenced_blocks

GUIDE = 'docs/user_guide.md'
# appended to the user guide's trainings: one epoch (not 4), 2 iterations (not 160), no best-checkpoint copies;
# the later commands then read the checkpoints under their shrunk names
SHRINK_DENSE = ['train_cfg.max_iters=2', 'train_cfg.val_interval=2', 'default_hooks.checkpoint.interval=2']
GUIDE_SHRINK = {
    'configs/demo/davit-tiny_shapes-demo.py':
    ['train_cfg.max_epochs=1', 'train_cfg.val_interval=1', 'default_hooks.checkpoint.save_best=None'],
    'configs/demo/mask-rcnn_davit-tiny_fpn_shapes-demo.py': SHRINK_DENSE,
    'configs/demo/davit-tiny_upernet_shapes-demo.py': SHRINK_DENSE,
}
GUIDE_RENAMES = {'epoch_4.pth': 'epoch_1.pth', 'iter_160.pth': 'iter_2.pth'}
# tools without a runner run in this process, through the main() their command line calls
IN_PROCESS = ('tools/analysis/', 'tools/visualization/', 'demo/')
# appended to the README's single-image command: the release detector at 320x192 instead of 1333x800
SINGLE_IMAGE_SHRINK = ['--cfg-options', 'test_dataloader.dataset.pipeline.1.scale=(320,192)']
CLASSIFICATION_CONFIG = 'configs/davit/davit-tiny_in1k.py'
DETECTION_CONFIG = 'configs/davit/mask-rcnn_davit-tiny_fpn_ms-crop-1x_coco.py'
SEGMENTATION_CONFIG = 'configs/davit/davit-tiny_upernet_8xb2-160k_ade20k-512x512.py'


def is_synopsis(line):
    return '[' in line  # `tool.py ARG [--option X]`: checked against --help by tests/test_docs.py


def is_guide_run(doc, line):
    """The user guide's runs on the generated data (sections 2-5)."""
    return doc == GUIDE and ('configs/demo/' in line or 'work_dirs/guide' in line) and ' 8' not in line


def release_variant(line):
    found = re.search(r'(tiny|small|base)', line, flags=re.I)
    return found.group(1).lower() if found else None


def is_tiny_conversion(line):
    return 'tools/model_converters/' in line and release_variant(line) == 'tiny'


def is_evaluation_of_a_conversion(line):
    """``tools/test.py <release classification config> <converted file>``: runs on data/imagenet."""
    return re.fullmatch(r'python tools/test\.py configs/\w+/\w+-tiny_in1k\.py \S+\.pth', line) is not None and \
        'work_dirs' not in line


def is_single_image(line):
    return line.startswith('python demo/image_demo.py cat.jpg')


def is_dataset_check(line):
    return line.startswith('python tools/misc/verify_dataset.py')


RUN = (is_guide_run, is_tiny_conversion, is_evaluation_of_a_conversion, is_single_image, is_dataset_check)


def runnable(doc, line):
    return any(rule(doc, line) if rule is is_guide_run else rule(line) for rule in RUN)


# --------------------------------------------------------------------------------------------------------------
# the workspace


@lru_cache(maxsize=None)
def official_release(converter, variant, workspace):
    """A file in the layout of the official ``variant`` release that ``converter`` reads (random weights)."""
    path = workspace / f'{osp.basename(converter)}-{variant}.release'
    torch.save(official_release_weights(converter, variant), path)
    return path


def official_release_weights(converter, variant):
    if 'davit' in converter:
        from tests.test_converters.test_davit import random_timm_davit, to_official
        return to_official(random_timm_davit(variant).state_dict())
    if 'datpp' in converter:
        from reference.datpp import build_official
        torch.manual_seed(0)
        return {'model': build_official(variant).state_dict()}
    if 'dat2' in converter:
        from reference.dat import official_state_dict
        return {'model': official_state_dict(variant)}
    from reference.dilateformer import random_official_state_dict
    weights = random_official_state_dict(variant)
    return {'model': weights, 'model_ema': weights, 'epoch': 299}


@pytest.fixture(scope='module')
def workspace(tmp_path_factory):
    from mmattn.datasets import make_ade20k_layout, make_coco_layout, make_imagenet_layout
    root = tmp_path_factory.mktemp('docs_workspace')
    for name in ('configs', 'tools', 'demo'):
        (root / name).symlink_to(osp.join(REPO, name))
    demo_data = root / 'work_dirs' / 'demo' / 'data'  # where `make demo` writes its data (user guide, step 1)
    make_imagenet_layout(str(demo_data / 'shapes'), num_train_per_class=4, num_val_per_class=1,
                         image_size=(32, 32), seed=0)
    make_coco_layout(str(demo_data / 'coco_shapes'), num_train=4, num_val=2, image_size=(96, 96), seed=0)
    make_ade20k_layout(str(demo_data / 'ade_shapes'), num_train=4, num_val=2, image_size=(64, 64), seed=0,
                       num_classes=5)
    make_imagenet_layout(str(root / 'data' / 'imagenet'), num_train_per_class=1, num_val_per_class=1,
                         image_size=(48, 40), seed=1)
    make_coco_layout(str(root / 'data' / 'coco'), num_train=2, num_val=2, image_size=(96, 80), seed=1)
    for split in ('train', 'val'):  # COCO's class names, which the release configs read
        path = root / 'data' / 'coco' / 'annotations' / f'instances_{split}2017.json'
        coco = json.loads(path.read_text())
        for category, name in zip(coco['categories'], ('person', 'bicycle', 'car', 'motorcycle')):
            category['name'] = name
        path.write_text(json.dumps(coco))
    shutil.copy(demo_data / 'shapes' / 'val' / 'bar' / 'bar_00000.JPEG', root / 'cat.jpg')
    return root


def command_args(line):
    args = shlex.split(line)
    if args[0] == 'python':
        return [sys.executable, *args[1:]]
    return ['bash', *args] if args[0].endswith('.sh') else args


def run_line(workspace, line, extra=()):
    result = run_command([*command_args(line), *extra], cwd=str(workspace), env={'PORT': str(free_port())})
    assert result.returncode == 0, f'{line}\n{result.stdout[-5000:]}'
    return result.stdout


def run_in_process(workspace, line, extra=()):
    tokens = shlex.split(line)[1:]
    cwd = os.getcwd()
    os.chdir(workspace)
    try:
        runpy.run_path(osp.join(REPO, tokens[0]), run_name='documented')['main']([*tokens[1:], *extra])
    finally:
        os.chdir(cwd)


def convert(workspace, line):
    """Write the release file the command names (random weights), then run the converter."""
    args = shlex.split(line)[1:]
    source = workspace / args[1]
    if not source.exists():  # the same release under each name the docs give it
        os.link(official_release(args[0], release_variant(line), workspace), source)
    (workspace / args[2]).parent.mkdir(parents=True, exist_ok=True)
    run_in_process(workspace, line)
    assert (workspace / args[2]).is_file(), line


# --------------------------------------------------------------------------------------------------------------
# the tests


def test_every_documented_command_is_exercised():
    """Each command is run, parsed, or a synopsis; the run groups are not empty."""
    commands = list(documented_commands())
    runs = [line for doc, line in commands if runnable(doc, line)]
    assert len([line for line in runs if 'configs/demo/' in line]) >= 7, runs
    assert len([line for line in runs if is_tiny_conversion(line)]) >= 10, runs
    assert len([line for line in runs if is_evaluation_of_a_conversion(line)]) >= 4, runs
    for rule in RUN[3:]:
        assert any(rule(line) for line in runs), rule.__name__


class TestUserGuide:
    """A scope (pytest-xdist worker) of its own, with its own workspace: the longest test of the suite."""

    def test_runs_end_to_end(self, workspace):
        lines = [line for doc, line in documented_commands() if doc == GUIDE and is_guide_run(doc, line)]
        assert lines[0].startswith('python tools/train.py configs/demo/davit-tiny_shapes-demo.py'), lines
        logs = {}
        for line in lines:
            for name, shrunk in GUIDE_RENAMES.items():
                line = line.replace(name, shrunk)
            if line.split()[1].startswith(IN_PROCESS):
                run_in_process(workspace, line)
                continue
            config = next(token for token in line.split() if token.startswith('configs/'))
            trains = 'tools/train.py' in line or 'tools/dist_train.sh' in line
            logs[line] = run_line(workspace, line, ['--cfg-options', *GUIDE_SHRINK[config]] if trains else [])
        guide = workspace / 'work_dirs' / 'guide'
        assert (guide / 'cls' / 'epoch_1.pth').is_file() and (guide / 'cls2' / 'epoch_1.pth').is_file()
        dist_log = next(log for line, log in logs.items() if 'dist_train' in line)
        assert 'Distributed training: True' in dist_log and 'device_ids=None' in dist_log  # CPU DDP (mmattn.compat)
        detector_log = next(log for line, log in logs.items() if 'train.py configs/demo/mask-rcnn' in line)
        assert re.search(r'loaded \d+ tensors from work_dirs/guide/cls/epoch_1.pth; not in the checkpoint, as '
                         r'expected for a classifier: norm0, norm1, norm2 ', detector_log)
        assert len(list((guide / 'det' / 'shown').rglob('*.jpg'))) == 2
        assert any(re.search(r'mIoU: [\d.]+', log) for log in logs.values())
        for picture in ('curves.png', 'bar.png', 'maps.png'):
            assert (workspace / picture).stat().st_size > 1000, picture
        assert len(list((workspace / 'attn').glob('*.png'))) > 3


def test_release_conversions_and_their_evaluations_run(workspace):
    """Every Tiny conversion in the docs, then the evaluation of converted weights with each release config
    the docs evaluate them with (on data/imagenet)."""
    commands = list(documented_commands())
    for _, line in commands:
        if is_tiny_conversion(line):
            convert(workspace, line)
    evaluated = set()
    for _, line in commands:
        if is_evaluation_of_a_conversion(line) and line.split()[2] not in evaluated:  # once per config
            evaluated.add(line.split()[2])
            assert re.search(r'accuracy/top1: [\d.]+', run_line(workspace, line)), line


def test_single_image_and_dataset_commands_run(workspace):
    from mmattn.apis import get_model
    from mmattn.converters.utils import save_converted
    for _, line in documented_commands():
        if is_single_image(line):  # the release model, random weights saved under the name the docs give
            name = shlex.split(line)[3]
            save_converted(get_model(name).state_dict(), str(workspace / shlex.split(line)[5]), dict(arch=name))
            run_in_process(workspace, line, SINGLE_IMAGE_SHRINK)
            assert (workspace / 'out.png').is_file()
        elif is_dataset_check(line):  # a pool of processes: not in this one
            assert 'can be read' in run_line(workspace, line)


def test_python_snippets_run(workspace, monkeypatch):
    """The API snippets run with the converted DaViT-T weights; each config fragment builds what it defines: a
    backbone, which loads the weights it names (converted by the commands of its page), or a strategy."""
    from mmengine.registry import RUNNERS

    from mmattn.registry import MODELS, STRATEGIES
    from mmattn.utils import load_checkpoint_file
    monkeypatch.chdir(workspace)
    for _, line in documented_commands():
        if is_tiny_conversion(line) and not (workspace / shlex.split(line)[3]).exists():
            convert(workspace, line)
    shutil.copy('checkpoints/davit-tiny_in1k.pth', 'davit-tiny.pth')
    snippets = [(doc, block) for doc in DOCS for block in fenced_blocks(doc, 'python')]
    assert len(snippets) >= 7
    for doc, block in snippets:
        namespace = {}
        exec(compile(block, doc, 'exec'), namespace)
        if 'inference_model' in block:
            assert namespace['result']['topk'], doc
            continue
        if 'strategy' in namespace:  # a training strategy for mmengine's FlexibleRunner
            assert RUNNERS.get(namespace['runner_type']) is not None, doc
            assert STRATEGIES.build(copy.deepcopy(namespace['strategy'])), doc
            continue
        backbone = namespace.get('backbone') or dict(type='mmattn.DaViT', arch='tiny', out_type='featmap',
                                                     init_cfg=namespace['init_cfg'])
        assert osp.isfile(backbone['init_cfg']['checkpoint']), (doc, backbone)
        model = MODELS.build(backbone)
        model.init_weights()
        saved = load_checkpoint_file(backbone['init_cfg']['checkpoint'])['state_dict']
        loaded = {key: value for key, value in model.state_dict().items() if f'backbone.{key}' in saved}
        assert len(loaded) > 100 and all(torch.equal(value, saved[f'backbone.{key}'])
                                          for key, value in loaded.items()), f'{doc}: weights not loaded'


@lru_cache(maxsize=None)
def tool_namespace(script):
    return runpy.run_path(osp.join(REPO, script), run_name='documented')


@lru_cache(maxsize=None)
def release_config(path):
    return Config.fromfile(osp.join(REPO, path))


def parse_and_merge(line):
    """The command's own argument parsing (and, for training and testing, its config merging)."""
    tokens = shlex.split(line)
    tokens = tokens[1:] if tokens[0] == 'python' else tokens
    script, args = tokens[0], tokens[1:]
    if script in LAUNCHED:  # CONFIG [CHECKPOINT] GPUS [args...] -> CONFIG [CHECKPOINT] args...
        gpus = 2 if script.endswith('train.sh') else 3
        script, args = LAUNCHED[script], args[:gpus - 1] + args[gpus:]
    tool = tool_namespace(script)
    if 'merge_args' not in tool:
        return tool.get('parse_args', tool['main'])
    # CONFIG: a segmentation config where the line's options are for segmentation, else a detection one
    config = SEGMENTATION_CONFIG if re.search(r'--tta|slide|pred_dir', line) else DETECTION_CONFIG
    args = [config if a == 'CONFIG' else a for a in args]
    args = ['checkpoint.pth' if a == 'CHECKPOINT' else a for a in args]
    parsed = tool['parse_args'](args)
    # every config loads in tests/test_configs; a line's own config is loaded only for its --cfg-options keys,
    # the flags merge into one config of its task
    task_config = CLASSIFICATION_CONFIG if '_in1k' in parsed.config else \
        SEGMENTATION_CONFIG if '_ade20k' in parsed.config else DETECTION_CONFIG
    config = parsed.config if parsed.cfg_options else task_config
    return tool['merge_args'](copy.deepcopy(release_config(config)), parsed)


def test_the_other_commands_parse_and_merge_their_options(monkeypatch):
    """Commands for many GPUs, nodes or the full datasets: flags, configs and --cfg-options keys accepted."""
    monkeypatch.setenv('LOCAL_RANK', '0')  # what the tools' parse_args would otherwise set for good
    checked = 0
    for doc, line in documented_commands():
        if is_synopsis(line) or runnable(doc, line):
            continue
        if 'tools/model_converters/' in line or 'tools/dev/' in line:
            tokens = shlex.split(line)[1:]
            parser_main = tool_namespace(tokens[0])['main']
            with pytest.raises(SystemExit) as help_exit:
                parser_main([*tokens[1:], '--help'])
            assert help_exit.value.code == 0, line
        else:
            cfg = parse_and_merge(line)
            assert cfg is not None, line
        checked += 1
    assert checked >= 40
