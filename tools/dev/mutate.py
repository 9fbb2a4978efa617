"""Plant each deliberate bug of tools/dev/mutations.py in turn, run its nearest tests, and print the score.

    python tools/dev/mutate.py [--only SUBSTRING ...] [--list] [--timeout 900]

A mutation is killed when its tests fail, and survives when they pass (a behaviour no test holds). The file is
restored after each run, also on Ctrl-C. Run by hand, not in CI (the full list takes about 15 minutes on 2
cores); the last score is in docs/testing.md.
"""
import argparse
import os
import os.path as osp
import subprocess
import sys
import time

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(REPO, 'tools', 'dev'))
from mutations import MUTATIONS  # noqa: E402


def check_catalogue(mutations):
    """Every snippet must occur exactly once in its file, or the catalogue has gone stale."""
    for mutation in mutations:
        source = open(osp.join(REPO, mutation['file'])).read()
        count = source.count(mutation['find'])
        if count != 1:
            sys.exit(f"mutation {mutation['name']!r}: its snippet occurs {count} times in {mutation['file']} "
                     '(expected once); update tools/dev/mutations.py')


def run(mutation, timeout):
    """Plant ``mutation``, run its tests; return ``(killed, seconds, last output line)``."""
    path = osp.join(REPO, mutation['file'])
    original = open(path).read()
    start = time.time()
    try:
        with open(path, 'w') as file:
            file.write(original.replace(mutation['find'], mutation['replace']))
        result = subprocess.run([sys.executable, '-m', 'pytest', '-x', '-q', '-p', 'no:cacheprovider',
                                 *mutation['tests']], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, timeout=timeout, env=dict(os.environ, PYTHONPATH=REPO))
        lines = result.stdout.strip().splitlines()
        return result.returncode != 0, time.time() - start, lines[-1] if lines else ''
    except subprocess.TimeoutExpired:
        return True, time.time() - start, f'timed out after {timeout} s (counted as killed)'
    finally:
        with open(path, 'w') as file:
            file.write(original)


def main(argv=None):
    parser = argparse.ArgumentParser(description='Mutation check of the test suite')
    parser.add_argument('--only', nargs='+', help='mutations whose name contains any of these')
    parser.add_argument('--list', action='store_true', help='list the mutations and exit')
    parser.add_argument('--timeout', type=int, default=900, help='seconds per mutation. Defaults to 900')
    args = parser.parse_args(argv)
    mutations = [m for m in MUTATIONS if not args.only or any(s in m['name'] for s in args.only)]
    check_catalogue(mutations)
    if args.list:
        print('\n'.join(f"{m['name']}  ({m['file']})" for m in mutations))
        return
    survived = []
    for i, mutation in enumerate(mutations, 1):
        killed, seconds, last = run(mutation, args.timeout)
        print(f"[{i}/{len(mutations)}] {'killed  ' if killed else 'SURVIVED'} {seconds:5.0f} s  {mutation['name']}"
              f'  -- {last}', flush=True)
        if not killed:
            survived.append(mutation['name'])
    print(f'\nscore: {len(mutations) - len(survived)}/{len(mutations)} mutations killed')
    if survived:
        print('survived (no test holds these behaviours):\n  ' + '\n  '.join(survived))
        sys.exit(1)


if __name__ == '__main__':
    main()
