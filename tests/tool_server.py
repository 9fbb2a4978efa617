"""Run ``python tools/<script>.py ...`` command lines as fresh processes without paying the imports each time.

A tool's run on the tiny test data takes a few seconds; importing torch, mmengine, mmcv and the OpenMMLab
codebases takes as long again, in every process. A server process imports those third-party packages once (not
mmattn, so that a tool or config that forgets to import what it registers still fails), then forks one child
per command line. The child is a process of its own as ``python script.py args`` would be: its own working
directory, environment, argv, stdout and stderr, exit code (a signal number, negative, when killed), and
``sys.path[0]`` the script's directory; a fork of a process that never ran an OpenMP region is safe.

Used by tests/conftest.py's ``run_command`` for ``python <script>.py`` lines; launchers (bash, torchrun) still
run as they are.
"""
import json
import os
import signal
import subprocess
import sys
import threading

# imported once in the server: what every tool imports anyway (directly or through its config's scope)
PRELOADED = ('torch', 'torch._dynamo', 'torchvision', 'numpy', 'cv2', 'mmengine.runner', 'mmcv.ops', 'mmcv.transforms',
             'mmpretrain.models', 'mmpretrain.datasets', 'mmpretrain.evaluation', 'mmpretrain.engine',
             'mmpretrain.visualization', 'mmdet.models', 'mmdet.datasets', 'mmdet.evaluation', 'mmdet.engine',
             'mmdet.visualization', 'mmseg.models', 'mmseg.datasets', 'mmseg.evaluation', 'mmseg.engine',
             'mmseg.visualization', 'matplotlib.pyplot')


def serve():
    """The server loop: one JSON request a line on stdin (argv, cwd, env, output path); writes the child's pid,
    then its wait status, a line each, on stdout."""
    import importlib
    for name in PRELOADED:
        importlib.import_module(name)
    requests, replies = sys.stdin, os.fdopen(os.dup(1), 'w', buffering=1)
    print('ready', file=replies)
    for line in requests:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            run_child(**request)
        print(pid, file=replies)
        print(os.waitpid(pid, 0)[1], file=replies)


def run_child(argv, cwd, env, output):
    """Become ``python argv...`` (in the forked child); never returns."""
    code = 1
    try:
        import atexit
        import random
        import runpy
        import traceback

        import numpy as np
        fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(env)
        random.seed()  # as unseeded as in a new interpreter
        np.random.seed()
        script = os.path.abspath(argv[0])
        sys.argv = list(argv)
        sys.path[0] = os.path.dirname(script)
        try:
            runpy.run_path(script, run_name='__main__')
            code = 0
        except SystemExit as exit_:
            if exit_.code is None or isinstance(exit_.code, int):
                code = exit_.code or 0
            else:
                print(exit_.code, file=sys.stderr)
        except BaseException:
            traceback.print_exc()
        atexit._run_exitfuncs()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        os._exit(code)


class ToolServer:
    """The client: starts the server with ``env`` (the environment it imports in) and runs command lines through
    it, one at a time."""

    def __init__(self, env):
        self.env = env
        self.process = subprocess.Popen([sys.executable, '-c', 'from tests.tool_server import serve; serve()'],
                                        env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout.readline().strip() == 'ready', 'the tool server did not start'

    def run(self, argv, cwd, env, output, timeout):
        """Run ``python argv...`` with its stdout and stderr written to ``output``; return the exit code as
        subprocess does (``-signal`` when a signal ended it)."""
        self.process.stdin.write(json.dumps(dict(argv=argv, cwd=cwd, env=env, output=output)) + '\n')
        self.process.stdin.flush()
        pid = int(self.process.stdout.readline())
        timed_out = threading.Event()

        def kill():
            timed_out.set()
            os.kill(pid, signal.SIGKILL)

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            status = int(self.process.stdout.readline())
        finally:
            timer.cancel()
        if timed_out.is_set():
            raise subprocess.TimeoutExpired(argv, timeout)
        return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)

    def close(self):
        self.process.stdin.close()
        self.process.wait()
