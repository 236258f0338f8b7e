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
    import signal

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


def _run(fn, jobs, workers, on_done, died, on_start, on_tick, fresh):
    """``jobs``: a list, or a callable giving the next job (None: none now; the run ends when
    it gives none and nothing runs), asked each time a worker is free: a scheduler that
    decides the next job from the results so far (``reproduce --budget``)."""
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
