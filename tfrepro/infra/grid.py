"""A grid of runs (programs x both forms x seeds), in worker processes, and the learning
curves of its records: what ``reproduce`` and ``diff --seeds`` (rung 5) share."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from . import programs
from .pool import run_in_workers
from .records import write_record


def run_chunk(name, variant, framework, mode, seeds, iterations, shared=False):
    """Worker body: the runs of ``seeds`` in one worker process, one record per seed: in
    lockstep, all together; in the other modes one after another (``runner.run_seeds``).
    ``shared``: each run also gives the record of the variant that shares its runs."""
    from .runner import run_seeds
    from .tfquiet import quiet_tensorflow

    quiet_tensorflow()

    prog = programs.get(name)
    its = iterations if (iterations is not None and prog.iterations_field) else None
    return run_seeds(name, framework, mode, list(seeds), iterations=its, variant=variant, shared=shared)


# Each program's ``Timing`` states the rough seconds of one job on the 2-core reference
# machine, two jobs at a time (the built-ins': from the records' wall times of `reproduce
# --seeds 30`): the grid starts the longest jobs first so that the workers finish together,
# and weighs its progress (and so the time left) by them. Fast mode: seconds per run.
# Lockstep: (per process, per seed): most of a lockstep step's cost is per call.
PROCESS_SECONDS = 6.0  # a job's fixed cost (a worker's first job imports Python's modules and TensorFlow)


def mode_for(name, mode):
    """``lockstep`` where the program has it and the gymnasium back end runs (lockstep
    reproduces gymnasium's seeding; gym 0.21, the TF 1.15 image, seeds another way), else
    ``fast``; other modes as asked."""
    from ..core.envs import backend

    if mode != "lockstep":
        return mode
    return mode if mode in programs.get(name).modes and backend() == "gymnasium" else "fast"


def chunks(seeds, mode, workers, name=None, framework=None):
    """Seeds per job: in lockstep, the seeds of one lockstep batch (``runner.lockstep_groups``:
    a program's fixed block, or up to 64 seeds where its form is batch-invariant); in the other
    modes about a quarter of them per job (the workers finish together, progress still moving)."""
    seeds = list(seeds)
    if mode == "lockstep" and name is not None:
        from .runner import lockstep_groups

        return [tuple(g) for g in lockstep_groups(programs.get(name), framework, seeds)]
    size = 64 if mode == "lockstep" else max(1, -(-len(seeds) // (2 * max(1, workers))))
    return [tuple(seeds[i:i + size]) for i in range(0, len(seeds), size)]


def record_path(runs_dir: Path, name, variant, framework, mode, seed) -> Path:
    label = programs.entry_label(name, variant).replace(":", "-")
    return Path(runs_dir) / f"{label}_{framework}_{mode}_seed{seed}.json"


def reusable(path: Path, name, variant, framework, mode, seed, iterations):
    """The record at ``path`` if it is the run this job would make (same program, variant,
    form, mode, seed and training length), else None."""
    from .records import read_record

    try:
        rec = read_record(path)
    except Exception:  # noqa: BLE001 - any unreadable or foreign file is simply re-run
        return None
    prog = programs.get(name)
    want = {"program": name, "variant": variant or "book", "framework": framework, "mode": mode, "seed": seed}
    if any(rec.get(k) != v for k, v in want.items()):
        return None
    if mode == "lockstep" and framework not in prog.lockstep_batch_invariant:
        from .runner import lockstep_batches, record_batch

        try:  # a record of another batch is another run (an earlier version's chunks of 64)
            if record_batch(rec)[0] != lockstep_batches(prog, framework, [seed])[0]:
                return None
        except ValueError:
            return None
    if prog.iterations_field:
        its = iterations if iterations is not None else getattr(prog.make_config(variant=variant),
                                                                 prog.iterations_field)
        if rec.get("config", {}).get(prog.iterations_field) != its:
            return None
    return rec


def plan_jobs(entries, mode, seeds, runs_dir: Path, workers=2, iterations=None, reuse=False):
    """``run_grid``'s jobs, (name, variant, framework, mode, seeds, iterations, shared), and
    the records it reuses."""
    jobs, records = [], []
    todo: dict = {}
    for n, v in entries:
        m = mode_for(n, mode)
        for fw in programs.FRAMEWORKS:
            todo[n, v, fw] = []
            for s in (seeds[(n, v)] if isinstance(seeds, dict) else seeds):
                old = reusable(record_path(runs_dir, n, v, fw, m, s), n, v, fw, m, s, iterations) \
                    if reuse else None
                if old is not None:
                    records.append(old)
                else:
                    todo[n, v, fw].append(s)
    for (n, v, fw), own in todo.items():
        m = mode_for(n, mode)
        also = programs.get(n).shared_runs.get(v or "book") if m != "lockstep" else None
        both = [s for s in own if s in todo.get((n, _variant(also), fw), ())] if also else []
        jobs += [(n, v, fw, m, chunk, iterations, True) for chunk in chunks(both, m, workers, n, fw)]
        rest = [s for s in own if s not in both and not _served(todo, n, v, fw, s, m)]
        jobs += [(n, v, fw, m, chunk, iterations, False) for chunk in chunks(rest, m, workers, n, fw)]
    return jobs, records


def run_grid(entries, mode, seeds, out_dir: Path, workers=2, iterations=None, desc="reproduce", reuse=False):
    """``entries``: (program name, variant or None) pairs. Each run's record lands in
    ``out_dir/runs`` as soon as its process ends. ``mode`` ``lockstep`` runs the programs
    that have it in lockstep and the others fast. ``reuse``: a record already there for the
    same run (program, variant, form, mode, seed, training length) is taken instead of
    running again (``diff --seeds auto`` extends its pilot this way). ``seeds``: one list for
    every entry, or a dict {(name, variant): list} (``reproduce --full``). Two entries whose
    variants differ in their stopping rule alone (``ProgramSpec.shared_runs``) share their
    runs: one training run per seed gives both records."""
    runs_dir = out_dir / "runs"
    jobs, records = plan_jobs(entries, mode, seeds, runs_dir, workers, iterations, reuse)
    if reuse:
        print(f"{desc}: {len(records)} records reused from {runs_dir}, "
              f"{sum(len(job[4]) for job in jobs)} runs to go", file=sys.stderr)
    jobs.sort(key=lambda job: -job_cost(job))  # longest first
    progress = GridProgress(jobs, f"{desc} ({mode})")

    def on_done(job, recs):
        name, _, fw, m, _, _, _ = job
        for rec in recs:  # each record lands as soon as its process ends: an interrupted grid keeps them
            write_record(record_path(runs_dir, name, _variant(rec["variant"]), fw, m, rec["seed"]), rec)
            records.append(rec)
        progress.done(job, f"median {float(np.median([r['eval_mean'] for r in recs])):.1f}")

    try:
        run_in_workers(run_chunk, jobs, workers, on_done, on_start=progress.start, on_tick=progress.tick,
                       died="a worker process died (killed?); the records of finished runs are kept")
    finally:
        progress.close()
    return records


def _variant(label):
    """A record's variant as the entries name it: None for the book's."""
    return None if label in (None, "book") else label


def _served(todo, name, variant, framework, seed, mode) -> bool:
    """Whether another entry's shared runs give this run's record."""
    if mode == "lockstep":
        return False
    for (n, v, fw), own in todo.items():
        if (n, fw) == (name, framework) and v != variant and seed in own \
                and programs.get(n).shared_runs.get(v or "book") == (variant or "book"):
            return True
    return False


def job_cost(job) -> float:
    """A job's expected seconds (the program's ``Timing.fast_seconds`` and
    ``lockstep_seconds``): for ordering the jobs and weighing the progress; a program that
    states none counts as a few seconds per run."""
    name, _, _, mode, seeds = job[:5]
    timing = programs.get(name).timing
    if mode == "lockstep" and timing.lockstep_seconds:
        fixed, per_seed = timing.lockstep_seconds
        from .runner import lockstep_batches

        ran = sum(len(b) for b in lockstep_batches(programs.get(name), job[2], seeds))  # a block runs whole
        return PROCESS_SECONDS + fixed + per_seed * ran
    return PROCESS_SECONDS + timing.fast_seconds * len(seeds)


def job_label(job) -> str:
    name, variant, fw, m, seeds, _, shared = job
    seeds = f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {seeds[0]}..{seeds[-1]}"
    label = programs.entry_label(name, variant)
    if shared:
        label += "+" + programs.entry_label(name, programs.get(name).shared_runs[variant or "book"])
    return f"{label} {fw} {m} {seeds}"


class GridProgress:
    """One progress line for a grid across its worker processes: the runs done of all, the
    share of the expected time done (each job weighted by ``job_cost``, so the time left
    means something when a DQN run costs a hundred basic-policy runs), the time left, and
    what each worker is running now (with its running time)."""

    def __init__(self, jobs, desc):
        from tqdm import tqdm

        self.time = time.monotonic
        self.runs_total = sum(len(job[4]) for job in jobs)
        self.runs_done, self.running, self.desc, self.last = 0, {}, desc, ""
        self.bar = tqdm(total=round(sum(job_cost(j) for j in jobs), 3) or 1, file=sys.stderr,
                        bar_format="{desc} {percentage:3.0f}%|{bar:20}| {elapsed} elapsed, ~{remaining} left{postfix}")
        self._describe()

    def _describe(self):
        self.bar.set_description_str(f"{self.desc}: {self.runs_done}/{self.runs_total} runs", refresh=False)
        now = self.time()
        running = "; ".join(f"{job_label(j)} ({now - t0:.0f} s)" for j, t0 in self.running.items())
        parts = (["running: " + running] if running else []) + (["last: " + self.last] if self.last else [])
        self.bar.set_postfix_str(" | ".join(parts), refresh=True)

    def start(self, job):
        self.running[job] = self.time()
        self._describe()

    def tick(self):
        self._describe()

    def done(self, job, note=""):
        self.running.pop(job, None)
        self.runs_done += len(job[4])
        self.bar.update(round(job_cost(job), 3))
        self.last = f"{job_label(job)}: {note}" if note else job_label(job)
        self._describe()

    def close(self):
        self.bar.close()


def matches(record, name, variant):
    return record["program"] == name and record.get("variant", "book") == (variant or "book")


def learning_curve(record, points: int = 50):
    """Mean training return per iteration, smoothed by a moving average."""
    r = np.asarray(record["train_returns"], float)
    k = max(1, record.get("episodes_per_iteration", 1))
    per_it = r[: len(r) // k * k].reshape(-1, k).mean(axis=1)
    w = max(1, len(per_it) // points)
    if w > 1:
        per_it = np.convolve(per_it, np.ones(w) / w, mode="valid")
    return per_it


def plot_curves(records, entries, path: Path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    trained = [(n, v) for n, v in entries if any(matches(r, n, v) and r["train_returns"] for r in records)]
    if not trained:
        return None
    fig, axes = plt.subplots(1, len(trained), figsize=(5 * len(trained), 3.8), squeeze=False)
    for ax, (name, variant) in zip(axes[0], trained):
        for fw, colour in (("tf1", "tab:blue"), ("tf2", "tab:orange")):
            curves = [learning_curve(r) for r in records
                      if matches(r, name, variant) and r["framework"] == fw and r["train_returns"]]
            if not curves:
                continue
            n = min(map(len, curves))
            c = np.stack([x[:n] for x in curves])
            q1, med, q3 = np.percentile(c, [25, 50, 75], axis=0)
            x = np.arange(n)
            ax.plot(x, med, color=colour, label=f"{fw} median ({len(curves)} seeds)")
            ax.fill_between(x, q1, q3, color=colour, alpha=0.25, label=f"{fw} IQR")
        ax.set_title(programs.entry_label(name, variant))
        ax.set_xlabel(f"{programs.get(name).curve_unit} (smoothed)")
        ax.set_ylabel("training return")
        ax.legend(fontsize=8)
    fig.tight_layout()
    from .records import save_figure

    return save_figure(fig, path)
