"""Every process a command starts ends with it, and its temporary files go with it, however the
command ends (a normal exit, Ctrl-C, an error, ``kill -9``).

``start()``, the command line's first act, gives the command

- a run id in the environment (``TFREPRO_RUN``), which every process it starts inherits: the
  worker pools, a legacy script in its own session and that script's own children, the bench
  of each TensorFlow version under ``matrix`` and its workers. A command started by another
  command adds its id to its parent's (``outer:inner``), so each one reaps only its own tree;
- a scratch folder as ``TMPDIR`` (``tfrepro-PID-...`` in the caller's temporary folder), for
  everything its processes put there (TensorFlow's autograph files, copies of scripts);
- a reaper: a forked process in its own session that waits for the command to end and then
  kills every process still carrying the command's id and removes the scratch folder. It needs
  nothing from the command, so ``kill -9`` of the command (or of its whole process group) is
  covered too.

On a normal end the command reaps itself (``finish``) before it returns, so nothing is left when
the shell prompt comes back; the reaper then finds nothing to do. Scratch folders of commands
whose reaper was killed as well are removed by the next command (``sweep``). Linux's ``/proc``
names the processes; elsewhere only the worker pools' own parent-death watch applies.

Python 3.7-safe: the TF 1.15 image runs the command line.
"""
from __future__ import annotations

import os
import shutil
import signal
import sys
import tempfile
import time
import uuid

ENV = "TFREPRO_RUN"
SCRATCH_ENV = "TFREPRO_SCRATCH"
PREFIX = "tfrepro-"
_state: dict = {}


def start() -> None:
    """Give this command its id, scratch folder and reaper (once per process)."""
    if _state or not sys.platform.startswith("linux") or not os.path.isdir("/proc"):
        return
    sweep()
    run = uuid.uuid4().hex[:12]
    ids = [x for x in os.environ.get(ENV, "").split(":") if x] + [run]
    scratch = tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-")
    _state.update(run=run, scratch=scratch, pid=os.getpid())
    os.environ[ENV] = ":".join(ids)
    os.environ[SCRATCH_ENV] = scratch
    os.environ["TMPDIR"] = scratch
    tempfile.tempdir = None  # tempfile reads TMPDIR again
    _fork_reaper(run, scratch)


def finish() -> None:
    """End of the command: stop whatever it started that still runs, remove its scratch folder."""
    if _state.get("pid") == os.getpid():
        reap(_state["run"], _state["scratch"], spare=_own_tracker())


def _own_tracker() -> tuple:
    """This process's ``multiprocessing`` resource tracker, if it started one: it ends by itself
    when this process does, and killed before then it would be relaunched by the finalizers of a
    broken pool's locks at exit, which then print tracebacks for names it never registered."""
    mod = sys.modules.get("multiprocessing.resource_tracker")
    pid = getattr(getattr(mod, "_resource_tracker", None), "_pid", None)
    return (pid,) if isinstance(pid, int) else ()


def reap(run: str, scratch: str, spare: tuple = ()) -> None:
    for _ in range(3):  # a process may start another while the first is killed
        pids = [p for p in carrying(run) if p not in spare]
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.05)
    shutil.rmtree(scratch, ignore_errors=True)


def carrying(run: str) -> list:
    """The pids of this user's processes (other than this one) whose ``TFREPRO_RUN`` holds ``run``."""
    me, out = os.getpid(), []
    needle = (ENV + "=").encode()
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == me:
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as f:
                env = f.read()
        except OSError:  # gone, or another user's
            continue
        for item in env.split(b"\0"):
            if item.startswith(needle) and run.encode() in item[len(needle):].split(b":"):
                out.append(int(name))
                break
    return out


def _fork_reaper(run: str, scratch: str) -> None:
    parent = os.getpid()
    try:
        pid = os.fork()
    except OSError:
        return
    if pid:
        _state["reaper"] = pid
        return
    try:  # the reaper: no terminal, no inherited pipes (a reader waiting for EOF is not kept waiting)
        os.setsid()
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # only the command's end ends it
            signal.signal(sig, signal.SIG_IGN)
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        os.closerange(3, 65536)
        while os.getppid() == parent:
            time.sleep(0.2)
        reap(run, scratch)
    finally:
        os._exit(0)


def sweep() -> None:
    """Remove the scratch folders of commands that are gone (their reaper killed with them)."""
    base = tempfile.gettempdir()
    try:
        names = os.listdir(base)
    except OSError:
        return
    for name in names:
        parts = name[len(PREFIX):].split("-", 1)
        if not (name.startswith(PREFIX) and len(parts) == 2 and parts[0].isdigit()):
            continue
        if not os.path.exists(f"/proc/{parts[0]}"):
            path = os.path.join(base, name)
            if os.path.isdir(path) and not os.path.islink(path) and os.stat(path).st_uid == os.getuid():
                shutil.rmtree(path, ignore_errors=True)
