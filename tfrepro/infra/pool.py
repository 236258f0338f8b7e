"""The process pool that ``reproduce``, ``diff --seeds`` and ``bench`` share: learning runs
in a few long-lived worker processes, timings each in a fresh one.

TensorFlow keeps global state (graphs, the Keras backend, thread pools). A learning run does
not depend on it: every program builds its own graph or model and seeds everything it draws
from at its start, so a run gives the same record whether its process ran other runs before
it (``run_in_workers``: ``workers`` spawned processes, each taking the next job; tested in
``test_determinism.py`` and ``test_bench.py``) or none. What a long-lived worker saves is
the import of TensorFlow, several seconds per job. A timing needs a cold, identical start,
so no process ever runs two of them (``run_each_fresh``): a job gets its own one-worker
``ProcessPoolExecutor`` (spawned, never forked), at most ``workers`` at once; this is what
``max_tasks_per_child=1`` gives on Python 3.11, written so that it also runs on the
Python 3.7 of the TF 1.15 image. Both keep ``BrokenProcessPool`` to tell a killed worker
from a job that raised.
"""
from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context

from ..core.errors import UsageError


class WorkerDied(UsageError):
    """A worker process ended without a result (killed, out of memory)."""


def die_with_parent(parent_pid: int) -> None:
    """Worker initializer: end this process as soon as the one that started it is gone, even
    by ``kill -9`` (which leaves it no chance to stop its workers): on Linux the kernel's
    parent-death signal (``prctl(PR_SET_PDEATHSIG, SIGKILL)``), elsewhere a watchdog thread
    that checks the parent's pid every second. Otherwise an orphaned worker finishes its job
    and then blocks for ever on the pipe to its dead parent, holding its memory."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(1, int(signal.SIGKILL), 0, 0, 0) == 0:  # 1: PR_SET_PDEATHSIG
            if os.getppid() != parent_pid:  # the parent died before the signal was armed
                os._exit(1)
            return
    except (OSError, AttributeError, TypeError):
        pass

    def watch():
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="die-with-parent", daemon=True).start()


def _stop(executor):
    for proc in list((getattr(executor, "_processes", None) or {}).values()):
        proc.terminate()  # do not wait for a run in flight
    executor.shutdown(wait=False)


def run_each_fresh(fn, jobs, workers, on_done, died="a worker process died (killed?)", on_start=None,
                   on_tick=None):
    """``fn(*job)`` for every tuple in ``jobs``, each in a fresh spawned process, at most
    ``workers`` at a time; ``on_done(job, result)`` in this process as each one ends,
    ``on_start(job)`` as each one starts, ``on_tick()`` about once a second (progress).

    A job that raises ends the whole run with its exception; a worker that dies without a
    result raises ``WorkerDied(died)``. On any way out (Ctrl-C and SIGTERM included) the
    workers still running are terminated, not waited for.
    """
    _run(fn, jobs, workers, on_done, died, on_start, on_tick, fresh=True)


def run_in_workers(fn, jobs, workers, on_done, died="a worker process died (killed?)", on_start=None,
                   on_tick=None):
    """As ``run_each_fresh``, but in ``workers`` long-lived spawned processes, each taking the
    next job as it finishes one (TensorFlow imported once per worker, not once per job)."""
    _run(fn, jobs, workers, on_done, died, on_start, on_tick, fresh=False)


# ---- where jobs run: this machine's processes, or a Ray cluster -----------------------------

_BACKEND = {"kind": "local", "address": None}
RAY_RETRIES = 3  # a job whose worker or node died is run again elsewhere, this many times at most


def use_backend(kind: str = "local", address: str | None = None) -> None:
    """Where every pool call of this command runs its jobs: ``local`` (spawned processes here)
    or ``ray`` (tasks on a Ray cluster at ``address``; None: a local Ray started for the
    command). Set once by a command's ``--backend``; ``reproduce``, ``diff --seeds``, ``bench``
    and the budget all schedule through ``_run`` below, so they all follow it."""
    if kind not in ("local", "ray"):
        raise UsageError(f"--backend {kind}: expected local or ray")
    if kind == "ray":
        try:
            import ray  # noqa: F401
        except ImportError:
            raise UsageError("--backend ray needs ray (pip install 'ray[default]')") from None
        if address:
            check_ray_address(address)
    _BACKEND.update(kind=kind, address=address)


def backend() -> dict:
    return dict(_BACKEND)


def check_ray_address(address: str, timeout: float = 5.0) -> None:
    """``--address HOST:PORT``: a port in range, a host that resolves, and something listening
    there, checked in ``timeout`` seconds (Ray itself retries for minutes); else one line."""
    if address == "auto":
        return
    host, _, port = address.rpartition(":")
    host = host[len("ray://"):] if host.startswith("ray://") else host
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"--address {address[:80]}: expected HOST:PORT (a port 1 to 65535), or auto")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            pass
    except socket.gaierror:
        raise UsageError(f"--address {address[:80]}: no such host") from None
    except OSError as e:
        raise UsageError(f"--address {address[:80]}: nothing answers there ({e.strerror or e}); is the Ray "
                         "head started (ray start --head)?") from None


def _in_ray(fn, job, argv, env):
    """A job as a Ray task: the driver's command line and settings, then ``fn(*job)``; the
    node it ran on goes back with the result (records name it)."""
    import ray

    sys.argv = [sys.argv[0]] + list(argv)  # records keep the command that asked for them
    os.environ.update(env)
    node = f"{socket.gethostname()}/{ray.get_runtime_context().get_node_id()[:12]}"
    return fn(*job), node


def _run(fn, jobs, workers, on_done, died, on_start, on_tick, fresh):
    """``jobs``: a list, or a callable giving the next job (None: none now; the run ends when
    it gives none and nothing runs), asked each time a worker is free: a scheduler that
    decides the next job from the results so far (``reproduce --budget``)."""
    if _BACKEND["kind"] == "ray":
        return _run_ray(fn, jobs, workers, on_done, died, on_start, on_tick, fresh)
    ctx = get_context("spawn")
    if callable(jobs):
        take, size = jobs, workers
    else:
        queue = list(jobs)
        take, size = (lambda: queue.pop(0) if queue else None), len(queue)
    running = {}  # future -> (its executor, job)
    shared = None if fresh else ProcessPoolExecutor(max_workers=max(1, min(workers, size)), mp_context=ctx,
                                                    initializer=die_with_parent, initargs=(os.getpid(),))
    try:
        while True:
            while len(running) < workers:  # submitted = started: no job waits inside an executor
                job = take()
                if job is None:
                    break
                executor = shared or ProcessPoolExecutor(max_workers=1, mp_context=ctx, initializer=die_with_parent,
                                                         initargs=(os.getpid(),))
                running[executor.submit(fn, *job)] = (executor, job)
                if on_start is not None:
                    on_start(job)
            if not running:
                break
            finished, _ = wait(list(running), return_when=FIRST_COMPLETED,
                               timeout=None if on_tick is None else 1.0)
            if on_tick is not None:
                on_tick()
            for fut in finished:
                executor, job = running.pop(fut)
                try:
                    result = fut.result()
                except BrokenProcessPool:
                    raise WorkerDied(died) from None
                finally:
                    if fresh:
                        executor.shutdown(wait=True)
                on_done(job, result)
    except BaseException:
        for executor in [shared] if shared is not None else [e for e, _ in running.values()]:
            _stop(executor)
        raise
    if shared is not None:
        shared.shutdown(wait=True)


# settings a job reads from the environment, passed on to Ray's workers (--program-file's files)
FORWARDED_ENV = ("TFREPRO_PROGRAM_FILES", "TF_USE_LEGACY_KERAS", "TF_CPP_MIN_LOG_LEVEL")
# the interpreter the cluster runs this command's tasks in, when not its own default (``matrix``
# sets it to each release's environment; every node must have it at that path)
RAY_PYTHON = "TFREPRO_RAY_PYTHON"


def _run_ray(fn, jobs, workers, on_done, died, on_start, on_tick, fresh):
    """``_run`` on Ray: at most ``workers`` tasks in flight, each one job; ``on_done`` here in
    the driver (the only process that writes results), as each ends. A task whose worker or
    node died is retried by Ray (``RAY_RETRIES``); one that failed on every retry is named at
    the end, after every other job has run and been kept. A job that raises ends the run with
    its exception, as on the local pool. On any way out the tasks in flight are cancelled; a
    driver killed with -9 takes its tasks with it (Ray ends a dead driver's job)."""
    import ray

    from .checkout import ROOT

    if callable(jobs):
        take = jobs
    else:
        queue = list(jobs)
        take = lambda: queue.pop(0) if queue else None  # noqa: E731
    env = {k: os.environ[k] for k in FORWARDED_ENV if k in os.environ}
    started = not ray.is_initialized()
    if started:
        path = os.pathsep.join(x for x in (str(ROOT), os.environ.get("PYTHONPATH")) if x)
        address = _BACKEND["address"]
        runtime = {"env_vars": dict(env, PYTHONPATH=path)}
        if os.environ.get(RAY_PYTHON):
            runtime["py_executable"] = os.environ[RAY_PYTHON]
        ray.init(address=address, runtime_env=runtime, include_dashboard=False,
                 log_to_driver=False, logging_level="ERROR",
                 **({} if address else {"num_cpus": max(1, workers)}))
    task = ray.remote(num_cpus=1, max_retries=RAY_RETRIES, **({"max_calls": 1} if fresh else {}))(_in_ray)
    argv = sys.argv[1:]
    running, failed = {}, []
    try:
        while True:
            while len(running) < workers:
                job = take()
                if job is None:
                    break
                running[task.remote(fn, job, argv, env)] = job
                if on_start is not None:
                    on_start(job)
            if not running:
                break
            done, _ = ray.wait(list(running), num_returns=1, timeout=None if on_tick is None else 1.0)
            if on_tick is not None:
                on_tick()
            for ref in done:
                job = running.pop(ref)
                try:
                    result, node = ray.get(ref)
                except ray.exceptions.RayTaskError as e:  # the job itself raised: as on the local pool
                    cause = getattr(e, "cause", None)
                    raise (cause if isinstance(cause, BaseException) else e) from None
                except ray.exceptions.RayError as e:  # its worker or node died on every retry
                    failed.append((job, type(e).__name__))
                    continue
                _name_node(result, node)
                on_done(job, result)
    except BaseException:
        for ref in running:
            ray.cancel(ref, force=True)
        raise
    finally:
        if started:
            ray.shutdown()
    if failed:
        named = ", ".join(_job_name(job) for job, _ in failed[:3]) + (" ..." if len(failed) > 3 else "")
        raise WorkerDied(f"{died}: {len(failed)} job{'s' if len(failed) > 1 else ''} failed on "
                         f"{RAY_RETRIES + 1} tries ({failed[0][1]}: {named}); every other job ran and is kept")


def _name_node(result, node):
    """Records name the node that ran them (a Ray node: host/node id)."""
    recs = result if isinstance(result, list) else [result]
    for rec in recs:
        if isinstance(rec, dict) and rec.get("schema", "").startswith("tfrepro.") and "cpu" in rec:
            rec["node"] = node


def _job_name(job) -> str:
    return " ".join(str(x) for x in job[:5] if x is not None and not isinstance(x, (list, tuple, dict)))[:60]
