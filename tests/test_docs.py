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


def documented_commands():
    """``(doc, command line)`` for every tools/ or demo/ command in a fenced block of the docs (continuation
    lines joined, comments dropped)."""
    for doc in DOCS:
        # fenced blocks: the odd pieces between lines that start with ```
        pieces = re.split(r'^```.*$', open(osp.join(REPO, doc)).read(), flags=re.M)
        for block in pieces[1::2]:
            for line in block.replace('\\\n', ' ').splitlines():
                line = re.sub(r'^([A-Z_]+=\S+ )+', '', line.split('  #')[0].strip())  # NNODES=2 ... tools/...
                if re.match(r'(python |bash )?(tools|demo)/\S+\.(py|sh)\b', line):
                    yield doc, line


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
