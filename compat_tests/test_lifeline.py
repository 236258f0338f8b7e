"""Tier 5 (tools): every process a command starts ends with it, and its temporary files go with
it, however it ends: ``kill -9`` of the command (its legacy script, that script's own child in
a session of its own, the script runs of ``legacy --seeds``), Ctrl-C, a normal end.

Each test starts the real command line in a fresh process with its own ``TMPDIR``, lets a
script write the pids of what it started, ends the command, and then looks for those pids and
for anything left in ``TMPDIR``.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from tfrepro.infra.checkout import ROOT

pytestmark = [pytest.mark.slow,  # fresh processes started and killed: about 40 s in all
              pytest.mark.skipif(not os.path.isdir("/proc"), reason="the reaper names processes through /proc")]

SPAWNER = """
import os, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
with open(os.path.join(os.environ["PIDS_DIR"], "%d" % os.getpid()), "w") as f:
    f.write("%d %d" % (os.getpid(), child.pid))
while {wait}:
    time.sleep(0.1)
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as f:
            return "\nState:\tZ" not in f.read()
    except OSError:
        return False


def _start(tmp_path, *args, wait=True, session=False):
    (tmp_path / "tmp").mkdir(exist_ok=True)
    (tmp_path / "pids").mkdir(exist_ok=True)
    (tmp_path / "spawner.py").write_text(SPAWNER.format(wait=wait))
    env = dict(os.environ, PYTHONPATH=str(ROOT), TMPDIR=str(tmp_path / "tmp"), PIDS_DIR=str(tmp_path / "pids"))
    env.pop("TFREPRO_RUN", None)
    # SIGINT as a terminal's foreground job has it: a suite started in the background (``&``, nohup,
    # some CI runners) passes on an ignored SIGINT, and Python then installs no KeyboardInterrupt
    return subprocess.Popen([sys.executable, "-m", "tfrepro", "legacy", *args, "spawner.py"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=session,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _written(tmp_path):
    return [int(x) for f in (tmp_path / "pids").iterdir() for x in f.read_text().split()]


def _pids(tmp_path, proc, n=1, timeout=180):
    """The pids of the scripts and their children, once ``n`` scripts have written them."""
    t0 = time.time()
    while time.time() - t0 < timeout:
        pids = _written(tmp_path)
        if len(pids) >= 2 * n and all(len(f.read_text().split()) == 2 for f in (tmp_path / "pids").iterdir()):
            return pids
        assert proc.poll() is None, proc.stderr.read()
        time.sleep(0.2)
    raise AssertionError("the script never started")


def _gone(pids, tmp_path, timeout=10):
    t0 = time.time()
    while time.time() - t0 < timeout and (any(map(_alive, pids)) or any((tmp_path / "tmp").iterdir())):
        time.sleep(0.1)
    left = [p for p in pids if _alive(p)]
    for p in left:
        os.kill(p, signal.SIGKILL)
    assert not left, f"processes left running: {left}"
    assert not any((tmp_path / "tmp").iterdir()), sorted(p.name for p in (tmp_path / "tmp").iterdir())


def test_kill_9_ends_the_script_and_its_own_children(tmp_path):
    proc = _start(tmp_path, session=True)
    pids = _pids(tmp_path, proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    _gone(pids, tmp_path)


def test_kill_9_of_the_whole_group_ends_the_runs_of_many_seeds(tmp_path):
    """``legacy --seeds``: each run in a session of its own, the command's group killed at once
    (a terminal's hangup, ``kill -9 -PGID``): the reaper, in a session of its own, still ends them."""
    proc = _start(tmp_path, "--seeds", "0..1", "--workers", "2", "--out-dir", "out", session=True)
    pids = _pids(tmp_path, proc, n=2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    _gone(pids, tmp_path)


def test_ctrl_c_is_one_line_and_ends_everything(tmp_path):
    proc = _start(tmp_path, session=True)
    pids = _pids(tmp_path, proc)
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal sends to the foreground group
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "Traceback" not in err, err
    assert err.strip().splitlines() == ["tfrepro: interrupted"], err
    _gone(pids, tmp_path)


def test_a_normal_end_leaves_nothing_behind(tmp_path):
    proc = _start(tmp_path, wait=False)
    _, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err
    pids = _written(tmp_path)
    assert len(pids) == 2
    assert not any(map(_alive, pids)), "the script's child outlived the command"
    assert not any((tmp_path / "tmp").iterdir())


def test_ctrl_c_on_many_seeds_ends_the_runs_now(tmp_path):
    """SIGINT to the command alone (its runs sit in sessions of their own, out of the terminal's
    reach): the command stops its runs at once and says so in one line, rather than waiting
    for them to end."""
    proc = _start(tmp_path, "--seeds", "0..1", "--workers", "2", "--out-dir", "out", session=True)
    pids = _pids(tmp_path, proc, n=2)
    t0 = time.time()
    os.kill(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "Traceback" not in err, err
    assert time.time() - t0 < 30 and err.strip().splitlines()[-1] == "tfrepro: interrupted", err
    _gone(pids, tmp_path)


def test_the_end_spares_the_commands_own_resource_tracker(tmp_path):
    """A command's end kills what it started but not its own ``multiprocessing`` resource
    tracker: killed first, it is relaunched at exit by the finalizers of a broken pool's locks,
    which then print a traceback for each name it never registered (a killed bench worker
    did this under load)."""
    code = ("import multiprocessing\nfrom tfrepro.infra import lifeline\nlifeline.start()\n"
            "lock = multiprocessing.get_context('spawn').Lock()\nlifeline.finish()\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT), TMPDIR=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "Traceback" not in done.stderr and "relaunching" not in done.stderr, done.stderr


@pytest.mark.parametrize("delay", [0.1, 0.4, 0.8, 1.2, 2.0, 3.0])
def test_ctrl_c_at_any_moment_of_the_start_is_one_line(tmp_path, delay):
    """Ctrl-C to the terminal's group while the command or its script's interpreter is still
    starting (its imports, the boot's matplotlib and TensorFlow set-up): one line and 130, never
    a traceback (the script's interpreter starts with Ctrl-C ignored and takes it back once its
    own handler is in place)."""
    (tmp_path / "s.py").write_text("import gym\nenv = gym.make('CartPole-v0')\nwhile True:\n    env.reset()\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT), TMPDIR=str(tmp_path))
    env.pop("TFREPRO_RUN", None)
    proc = subprocess.Popen([sys.executable, "-m", "tfrepro", "legacy", "--episodes", "2", "s.py"], cwd=tmp_path,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    time.sleep(delay)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert "Traceback" not in err and "Fatal Python error" not in err, err[-2000:]
    assert proc.returncode in (0, 130), (proc.returncode, err[-2000:])
    if proc.returncode == 130:
        assert err.strip().splitlines()[-1] == "tfrepro: interrupted", err[-2000:]


SWALLOWED = """
import os, signal, sys, time, runpy
import tfrepro.cli as cli
def main():
    if {interrupt}:
        try:  # a C extension's import that takes the Ctrl-C and says ImportError instead
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)
        except KeyboardInterrupt:
            pass
    raise ImportError("PyCapsule_Import could not import module 'datetime'")
cli.main = main
runpy.run_module("tfrepro", run_name="__main__")
"""


@pytest.mark.parametrize("interrupt", [True, False])
def test_an_interrupt_that_an_import_turned_into_an_error_is_still_one_line(interrupt):
    """A Ctrl-C that lands inside a C extension's import (numpy's ``PyCapsule_Import``) comes out
    as an ImportError with the KeyboardInterrupt lost: the command still says one line and exits
    130. The same error without a Ctrl-C is a real failure and keeps its traceback."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", SWALLOWED.format(interrupt=interrupt)], env=env,
                          capture_output=True, text=True, timeout=120,  # Ctrl-C as a terminal's, not ignored
                          preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    if interrupt:
        assert done.returncode == 130 and done.stderr.strip() == "tfrepro: interrupted", done.stderr
    else:
        assert done.returncode == 1 and "ImportError: PyCapsule_Import" in done.stderr, done.stderr


SWALLOWING_IMPORT = """
import os, signal, time
def main():
    if {interrupt}:
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)
        except KeyboardInterrupt:
            pass
    raise ImportError("PyCapsule_Import could not import module 'datetime'")
"""


@pytest.mark.parametrize("interrupt", [True, False])
def test_the_boot_takes_an_interrupt_turned_into_an_error_as_the_interrupt(tmp_path, interrupt):
    """The same in a script's interpreter, whose boot imports numpy before the script runs."""
    from tfrepro.tools.legacy.runs import RESTORE_SIGINT, guarded

    (tmp_path / "swallowing.py").write_text(SWALLOWING_IMPORT.format(interrupt=interrupt))
    env = dict(os.environ, PYTHONPATH=str(tmp_path), **{RESTORE_SIGINT: "1"})
    done = subprocess.run([sys.executable, "-c", guarded("import swallowing; code = swallowing.main()")],
                          env=env, capture_output=True, text=True, timeout=120)
    if interrupt:
        assert done.returncode == 130 and "Traceback" not in done.stderr, done.stderr
    else:
        assert done.returncode == 1 and "ImportError: PyCapsule_Import" in done.stderr, done.stderr
