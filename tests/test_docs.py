"""The docs stay in step with the code (issue 11): the model zoo table is generated from the metafiles, and
every documented command names scripts, options, configs and models that exist."""
import contextlib
import importlib.util
import io
import os.path as osp
import re
from functools import lru_cache
from glob import glob

import pytest

from tests.conftest import REPO, run_tool


def test_model_zoo_table_is_generated_from_the_current_metafiles():
    result = run_tool('tools/dev/model_zoo.py', '--check')
    assert result.returncode == 0, result.stdout


DOCS = ['README.md', *(osp.relpath(path, REPO) for pattern in ('docs/*.md', 'configs/*/README.md')
                      for path in sorted(glob(osp.join(REPO, pattern))))]
# the launch scripts pass everything after the GPU count to these
LAUNCHED = {'tools/dist_train.sh': 'tools/train.py', 'tools/dist_test.sh': 'tools/test.py'}


def fenced_blocks(doc, language=''):
    """The fenced blocks of ``doc`` (those opened with ```language, if given)."""
    # split at lines that start with ```: text, opening language, block, closing language (empty), text, ...
    pieces = re.split(r'^```(.*)$', open(osp.join(REPO, doc)).read(), flags=re.M)
    return [block for lang, block in zip(pieces[1::4], pieces[2::4]) if lang.strip() == language or not language]


def documented_commands(with_env=False):
    """``(doc, command line)`` for every tools/ or demo/ command in a fenced block of the docs (continuation
    lines joined, comments dropped); ``with_env`` keeps environment assignments in front (``NNODES=2 ...``)."""
    for doc in DOCS:
        for block in fenced_blocks(doc):
            for line in block.replace('\\\n', ' ').splitlines():
                line = ' '.join(line.split('  #')[0].split())
                command = re.sub(r'^([A-Z_]+=\S+ )+', '', line)  # NNODES=2 ... tools/...
                if re.match(r'(python |bash )?(tools|demo)/\S+\.(py|sh)\b', command):
                    yield doc, line if with_env else command


@lru_cache(maxsize=None)
def help_text(script):
    """The ``--help`` output of a tool, from its ``main`` (imported, not run as a new process)."""
    spec = importlib.util.spec_from_file_location(osp.basename(script)[:-3], osp.join(REPO, script))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        module.main(['--help'])
    return out.getvalue()


def test_every_documented_command_names_real_scripts_options_configs_and_models():
    import mmattn
    models = set(mmattn.list_models())
    commands = list(documented_commands())
    assert len(commands) > 40
    problems = []
    for doc, line in commands:
        tokens = [t for t in re.split(r'[\s\[\]]+', line) if t and t not in ('python', 'bash', '...')]
        script = tokens[0]
        if not osp.isfile(osp.join(REPO, script)):
            problems.append(f'{doc}: {script} does not exist')
            continue
        text = help_text(LAUNCHED.get(script, script)) if script.endswith('.py') or script in LAUNCHED else ''
        for token in tokens[1:]:
            option = token.split('=')[0]
            if option.startswith('--') and text and not re.search(rf'{re.escape(option)}\b', text):
                problems.append(f'{doc}: {script} has no option {option} ({line})')
            elif token.startswith('configs/') and not osp.isfile(osp.join(REPO, token)):
                problems.append(f'{doc}: no config {token}')
            elif 'model name' in text and re.fullmatch(r'[a-z][a-z0-9-]*_[a-z0-9_-]+', token) and \
                    token not in models:
                problems.append(f'{doc}: no model named {token} ({line})')
    assert not problems, '\n'.join(problems)
