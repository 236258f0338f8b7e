"""``tfrepro bench``: rewards and speed of the programs on this machine and stack, into one
results file per (machine, environment, commit) that ``tfrepro compare`` reads.

Two kinds of job:

* reward runs: one program, one form, one mode (fast unless ``modes`` says otherwise: a
  book run of Géron's program alone takes about 13 minutes), one seed, to completion; the result record
  plus its throughput (training env steps and updates per second) and wall time. They run
  in ``--workers`` long-lived processes (``infra.pool.run_in_workers``: a run's record does
  not depend on what its process ran before), so their throughput is indicative only;
* speed timings: one (program, form, mode) per process, run alone, after the reward runs:
  a warm-up run (graph building, tracing, first kernels) that is not counted, then
  ``repeats`` timed runs of a fixed length and the same seed (the same work each time);
  per repeat the training env steps per second and updates per second, kept raw, with
  median and spread. The book loops are timed too: their per-call overhead is what
  changes most between TensorFlow releases.

The results file is rewritten atomically after every finished job, so an interrupted bench
(Ctrl-C, a killed worker) keeps every finished job, and ``--resume`` runs only the missing.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import os
import platform
import re
import socket
import statistics
import sys
from dataclasses import dataclass
from typing import Optional
from pathlib import Path

from ..core.errors import UsageError
from ..core.settings import setting
from ..infra import programs, yardstick
from ..infra.benchfile import SCHEMA, load_results
from ..infra.checkout import git_commit
from ..infra.grid import mode_for
from ..infra.records import atomic_write_text, cpu_model, dumps, versions

# Speed timings: the iterations of each loop (fixed, so that repeats and versions compare),
# the warm-up and the config overrides that make every timed env step carry an update (DQNs)
# are each program's ``Timing`` (tfrepro.core.protocol); each timed repeat of a built-in
# lasts about a second or more on the 2-core reference machine.
LOCKSTEP_SPEED_SEEDS = 30  # seeds per timed lockstep run (its steps/s: all seeds' steps over its time)
SPEED_MODES = ("book", "fast", "lockstep")  # the loops timed per repeat (lockstep where a program has it)


@dataclass
class BenchSettings:
    """What ``tfrepro bench`` runs: one field per option, its help the option's."""
    suite: str = setting("quick", "quick | full (default: %(default)s)")
    entries: Optional[list] = setting(None, "only these programs (with the suite's settings)", nargs="+",
                                      metavar="PROGRAM[:VARIANT]", flag="--programs")
    seeds: Optional[list] = setting(None, "reward seeds: 0..9 (inclusive) or a count N for 0..N-1 (default: the "
                                    "suite's)", kind="seed_range", metavar="A..B|N")
    frameworks: list = setting(list(programs.FRAMEWORKS), "the forms to run (default: both)", nargs="+",
                               choices=programs.FRAMEWORKS)
    iterations: Optional[int] = setting(None, "shorten every training program's reward runs to K iterations "
                                        "(quick looks; recorded per run)", kind="positive", metavar="K")
    modes: list = setting(["lockstep"], "modes of the reward runs (default: lockstep, which runs fast for "
                          "programs without it; book loops are slow: Géron's takes ~13 min per run; the speed "
                          "timings cover --speed-modes)", nargs="+", choices=programs.MODES)
    speed_modes: list = setting(list(SPEED_MODES), "the loops timed, each where the program has it: book, fast, "
                                "lockstep (default: all three)", nargs="+", choices=programs.MODES, metavar="MODE")
    speed_iterations: Optional[int] = setting(None, "time loops of K iterations (quick looks; default: each "
                                              "program's own length, about a second or more)", kind="positive",
                                              metavar="K")
    speed: bool = setting(True, "reward runs only", flag="--no-speed", action="store_false")
    rewards: bool = setting(True, "speed timings only", flag="--no-reward", action="store_false")
    repeats: Optional[int] = setting(None, "timed repeats per process of a speed job (default: the suite's: "
                                     "quick 2, full 3)", kind="positive")
    processes: Optional[int] = setting(None, "fresh processes per speed job, each warmed up and timed --repeats "
                                       "times; the unit of compare's speed interval (default: the suite's: "
                                       "quick 2, full 3)", kind="processes")
    workers: int = setting(min(2, os.cpu_count() or 1), "worker processes for the reward runs (each takes the "
                           "next run); speed timings always run one at a time (default: %(default)s)",
                           kind="positive")
    resume: bool = setting(False, "continue an interrupted bench: run only the jobs its results file lacks",
                           action="store_true")
    out_dir: str = setting("results/bench", "default: %(default)s", metavar="DIR")
    out: Optional[str] = setting(None, "results file (default: DIR/<machine>_tf<version>_<environment>_"
                                 "<commit>.json)", metavar="FILE.json")
    backend: str = setting("local", "where the runs and timings run (--backend)", cli=False)
    address: Optional[str] = setting(None, "the Ray cluster's head (--address)", cli=False)


def speed_iterations(name, suite, mode) -> int:
    prog = programs.get(name)
    return prog.timing.bench_iterations_for(suite, mode, prog.config(), prog.iterations_field)

SUITES: dict[str, dict] = {
    # reward runs: (program[:variant], iterations or None for the program's own), lockstep
    # mode where the program has it (fast for the others) unless --modes says otherwise
    "quick": {"reward": [("pg-tang", None), ("pg-geron", None), ("imitation-policy", None)],
              "speed": ["pg-tang", "pg-geron", "dqn-meertens", "dqn-pylessons"],
              "seeds": 30, "repeats": 2, "processes": 2},
    "full": {"reward": [("random-policy", None), ("imitation-policy", None), ("pg-tang", None),
                        ("pg-geron", None), ("dqn-meertens:exercises", 60_000),
                        ("dqn-pylessons:evaluated", None)],
             "speed": ["pg-tang", "pg-geron", "dqn-meertens", "dqn-pylessons"],
             "seeds": 30, "repeats": 3, "processes": 3},
}


@dataclass(frozen=True)
class Job:
    kind: str  # "reward" | "speed"
    program: str  # NAME or NAME:VARIANT
    framework: str
    mode: str
    seed: int = 0  # reward runs; speed: the first repeat's seed
    iterations: int | None = None

    @property
    def key(self) -> str:
        its = "" if self.iterations is None else f"/it{self.iterations}"
        if self.kind == "reward":
            return f"reward/{self.program}{its}/{self.framework}/{self.mode}/seed{self.seed}"
        return f"speed/{self.program}/{self.framework}/{self.mode}{its}"  # speed: iterations set by --speed-iterations


def plan(suite: str, programs_=None, frameworks=programs.FRAMEWORKS, seeds=None, speed=True,
         rewards=True, iterations=None, modes=("lockstep",), speed_modes=SPEED_MODES,
         speed_its=None) -> tuple[list[Job], dict]:
    """The jobs of a suite (or of the named programs with the suite's settings); speed
    timings of the loops in ``speed_modes`` (each where the program has it), of each
    program's own length or ``speed_its`` iterations."""
    if suite not in SUITES:
        raise UsageError(f"unknown suite {suite!r} (choose from: {', '.join(SUITES)})")
    spec = SUITES[suite]
    reward: list = list(spec["reward"])
    speed_names: list = list(spec["speed"])
    if programs_:  # the named programs, with the suite's iterations where it has them
        own = {e.split(":")[0]: it for e, it in SUITES["full"]["reward"] + reward}
        reward = []
        for entry in programs_:
            prog, variant = programs.parse_entry(entry)
            reward.append((programs.entry_label(prog.name, variant), own.get(prog.name)))
        names = [e.split(":")[0] for e, _ in reward]
        speed_names = [n for n in names if programs.get(n).timed]
    if iterations is not None:  # quick looks: every training program's reward runs shortened
        reward = [(e, iterations if programs.get(e.split(":")[0]).iterations_field else None)
                  for e, _ in reward]
    seeds = list(range(spec["seeds"])) if seeds is None else list(seeds)
    jobs = []
    if rewards:
        jobs += list(dict.fromkeys(
            Job("reward", e, fw, mode_for(e.split(":")[0], m), s, it) for e, it in reward for fw in frameworks
            for m in modes for s in seeds if mode_for(e.split(":")[0], m) in programs.get(e.split(":")[0]).modes))
    if speed:
        jobs += [Job("speed", n, fw, mode, 0, speed_its if programs.get(n).iterations_field else None)
                 for n in speed_names for fw in frameworks
                 for mode in SPEED_MODES if mode in speed_modes and mode in programs.get(n).modes]
    settings = {"suite": suite, "seeds": seeds, "frameworks": list(frameworks), "reward_modes": list(modes),
                "reward": [[e, it] for e, it in reward], "speed": speed_names if speed else [],
                "repeats": spec["repeats"], "processes": spec["processes"], "speed_iterations": {
                    f"{n}/{m}": (speed_its if speed_its and programs.get(n).iterations_field
                                 else speed_iterations(n, suite, m))
                    for n in speed_names for m in SPEED_MODES if m in speed_modes and m in programs.get(n).modes}}
    return jobs, settings


# ---- what runs in the worker process --------------------------------------------------

def _reward_result(job: Job, rec) -> dict:
    wall = rec["train_wall_s"] or 1e-9
    return {"key": job.key, "kind": "reward", "program": job.program, "framework": job.framework,
            "mode": job.mode, "seed": job.seed, "iterations": job.iterations,
            "eval_mean": rec["eval_mean"],
            "train_env_steps_per_s": rec["train_env_steps"] / wall if rec["train_wall_s"] else None,
            "updates_per_s": rec["updates"] / wall if rec["train_wall_s"] else None,
            "wall_s": rec["wall_s"], "record": rec}


def run_jobs(jobs, repeats: int = 3, suite: str = "quick") -> list:
    """Worker body (speed timings: a fresh process per call): one job, or the reward jobs of one lockstep run
    (same program, form and length; their seeds together). One result per job."""
    from ..infra.tfquiet import quiet_tensorflow

    quiet_tensorflow()
    first = jobs[0]
    if first.kind == "reward" and first.mode == "lockstep":
        from ..infra.runner import run_seeds

        name, _, variant = first.program.partition(":")
        recs = run_seeds(name, first.framework, "lockstep", [j.seed for j in jobs], iterations=first.iterations,
                         variant=variant or None)
        return [_reward_result(j, r) for j, r in zip(jobs, recs)]
    return [run_job(j, repeats, suite) for j in jobs]


def _timed(name, framework, mode, seed, iterations, overrides):
    """(train seconds, env steps, updates) of one timed run; lockstep: of a run of
    ``LOCKSTEP_SPEED_SEEDS`` seeds from ``seed`` on, every seed's steps over the run's time."""
    from ..infra.runner import RunSettings, run_program, run_seeds

    if mode != "lockstep":
        rec = run_program(RunSettings(name, framework, mode, seed, iterations=iterations, overrides=overrides))
        return rec["train_wall_s"], rec["train_env_steps"], rec["updates"]
    recs = run_seeds(name, framework, mode, range(seed, seed + LOCKSTEP_SPEED_SEEDS), iterations=iterations,
                     overrides=overrides)
    return (sum(r["train_wall_s"] for r in recs), sum(r["train_env_steps"] for r in recs),
            sum(r["updates"] for r in recs))


def merge_processes(parts: list) -> dict:
    """One speed job's result from its fresh processes' results: every repeat kept with the
    number of its process (the unit of ``judge.judge_speed``'s interval), the medians over all."""
    repeats = [dict(sample, process=k) for k, part in enumerate(parts) for sample in part["repeats"]]
    sps = [sample["steps_per_s"] for sample in repeats]
    out = dict(parts[0], repeats=repeats, processes=len(parts), steps_per_s_median=statistics.median(sps),
               steps_per_s_min=min(sps), steps_per_s_max=max(sps),
               updates_per_s_median=statistics.median(sample["updates_per_s"] for sample in repeats))
    its = [part["iterations"] for part in parts]
    if len(set(its)) > 1:  # each process lengthens a loop under the floor on its own timing
        out["iterations_by_process"] = its
    for key in ("lengthened_from", "below_floor_s"):
        found = [part[key] for part in parts if key in part]
        if found:
            out[key] = found[0]
    return out


FLOOR_S = 1.0  # a timed loop shorter than this is lengthened (its iterations scaled) before the repeats
MAX_LENGTHEN = 100


def run_job(job: Job, repeats: int = 3, suite: str = "quick") -> dict:
    """One job's result, in the worker process."""
    from ..infra.runner import RunSettings, run_program

    name, _, variant = job.program.partition(":")
    if job.kind == "reward":
        rec = run_program(RunSettings(name, job.framework, job.mode, job.seed, iterations=job.iterations,
                                      variant=variant or None))
        return _reward_result(job, rec)
    its = job.iterations or speed_iterations(name, suite, job.mode)
    timing = programs.get(name).timing
    over = timing.overrides or None
    _timed(name, job.framework, job.mode, 0, timing.bench_warmup, over)  # warm-up: kernels, imports
    before = yardstick.measure()  # the machine's speed at each repeat's start (infra/yardstick.py)
    first, lengthened = _timed(name, job.framework, job.mode, job.seed, its, over), None
    short = first[0] < FLOOR_S  # too short to time against the clock's and the OS's noise
    if short and not job.iterations:  # the suite's own length: lengthened; a length the user gave: marked
        lengthened, its = its, min(its * MAX_LENGTHEN, math.ceil(its * 1.25 * FLOOR_S / max(first[0], 1e-6)))
        first, short = None, False
        before = yardstick.measure()
    samples = []
    for i in range(repeats):  # the same seed each time: the same work, so only the time varies
        t, steps, updates = first if (i == 0 and first) else _timed(name, job.framework, job.mode, job.seed, its, over)
        after = yardstick.measure()  # also the next repeat's start
        samples.append({"train_wall_s": t, "train_env_steps": steps, "updates": updates,
                        "steps_per_s": steps / t, "updates_per_s": updates / t,
                        "machine_per_s": math.sqrt(before * after)})
        before = after
    sps = [s["steps_per_s"] for s in samples]
    return {"key": job.key, "kind": "speed", "program": job.program, "framework": job.framework,
            "mode": job.mode, "iterations": its, "repeats": samples,
            **({"lengthened_from": lengthened} if lengthened else {}),
            **({"below_floor_s": FLOOR_S} if short else {}),
            "steps_per_s_median": statistics.median(sps), "steps_per_s_min": min(sps),
            "steps_per_s_max": max(sps),
            "updates_per_s_median": statistics.median(s["updates_per_s"] for s in samples),
            **({"lockstep_seeds": LOCKSTEP_SPEED_SEEDS} if job.mode == "lockstep" else {})}


def batches(jobs) -> list:
    """Jobs as the worker calls take them: lockstep reward jobs grouped by program, form and
    length, one lockstep batch a call (``runner.lockstep_groups``), every other job alone."""
    groups: dict = {}
    out: list = []
    for job in jobs:
        if job.kind == "reward" and job.mode == "lockstep":
            groups.setdefault((job.program, job.framework, job.iterations), []).append(job)
        else:
            out.append((job,))
    from ..infra.runner import lockstep_groups

    for (program, framework, _), group in groups.items():
        prog = programs.get(program.partition(":")[0])
        for g in lockstep_groups(prog, framework, [job.seed for job in group]):
            out.append(tuple(job for job in group if job.seed in set(g)))
    return out


# ---- the results file --------------------------------------------------------------

def machine_meta() -> dict:
    vers = versions()
    return {"machine": socket.gethostname(), "cpu_model": cpu_model(), "cpu_count": os.cpu_count(),
            "platform": platform.platform(), "versions": vers, "commit": git_commit(),
            "environment": hashlib.sha256(json.dumps(vers, sort_keys=True).encode()).hexdigest()[:10]}


def results_path(out_dir, meta) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", meta["machine"])[:40]
    tf = meta["versions"].get("tensorflow", "none")
    commit = meta["commit"].split("-")[0][:12] + ("-dirty" if meta["commit"].endswith("-dirty") else "")
    return Path(out_dir) / f"{safe}_tf{tf}_{meta['environment']}_{commit}.json"


def _save(path, data):
    atomic_write_text(path, dumps(data, indent=1) + "\n")


# ---- backends ------------------------------------------------------------------------

def _local(jobs, workers, repeats, suite, on_done):
    """Reward runs in ``workers`` long-lived processes; each speed timing in a fresh one; on the
    backend the command chose (``infra.pool.use_backend``: this machine, or a Ray cluster)."""
    from ..infra.pool import run_each_fresh, run_in_workers

    run = run_each_fresh if any(j.kind == "speed" for j in jobs) else run_in_workers
    run(run_jobs, [(group, repeats, suite) for group in batches(jobs)], workers,
        lambda args, results: [on_done(j, r) for j, r in zip(args[0], results)],
        died="a worker process died (killed?); every finished job is kept: "
             "run again with --resume for the rest")


def bench(s: BenchSettings) -> Path:
    """``tfrepro bench``: the suite's jobs (``plan``), each finished one written to the results
    file before the next is waited for; returns the file's path."""
    from tqdm import tqdm

    suite, workers, resume, backend = s.suite, s.workers, s.resume, s.backend
    jobs, settings = plan(suite, s.entries, s.frameworks or programs.FRAMEWORKS, s.seeds, s.speed, s.rewards,
                          s.iterations, s.modes, s.speed_modes, s.speed_iterations)
    if s.repeats:
        settings["repeats"] = s.repeats
    if s.processes:
        settings["processes"] = s.processes
    from ..infra.pool import use_backend

    use_backend(backend, s.address)  # before any file: an unreachable cluster is one line, nothing left behind
    meta = machine_meta()
    path = Path(s.out) if s.out else results_path(s.out_dir, meta)
    new_file = not path.exists()
    if path.exists():
        if not resume:
            raise UsageError(f"{path} exists: --resume runs what it lacks (or choose another --out-dir)")
        data = load_results(path)
        for key in ("machine", "commit"):  # resume only what this machine and code started
            if data["meta"].get(key) != meta[key]:
                raise UsageError(f"{path}: started on {key} {str(data['meta'].get(key))[:60]!r}, this is "
                                 f"{meta[key][:60]!r}: cannot resume it here (give another --out)")
        if data["settings"].get("suite", suite) != suite:
            raise UsageError(f"{path}: a {str(data['settings'].get('suite'))[:40]} suite, not {suite}: "
                             "resume it with its own --suite (or give another --out)")
        if data["meta"].get("environment") != meta["environment"]:
            written_by = data["meta"].get("versions", "versions not recorded")
            raise UsageError(f"{path}: written by another environment ({written_by}); "
                             "cannot resume it here")
        if data["settings"].get("repeats") != settings["repeats"]:
            raise UsageError(f"{path}: written with {data['settings'].get('repeats')} repeats, not "
                             f"{settings['repeats']}")
        if data["settings"].get("processes", 1) != settings["processes"]:
            raise UsageError(f"{path}: written with {data['settings'].get('processes', 1)} processes per timing, "
                             f"not {settings['processes']}")
    else:
        data = {"schema": SCHEMA, "meta": meta, "settings": settings, "results": []}
    data["meta"].setdefault("started", _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
    done_keys = {r["key"] for r in data["results"]}
    todo = [j for j in jobs if j.key not in done_keys]
    # settings of the file: the union, so that a resumed or extended bench lists every job
    for k in ("seeds", "speed", "frameworks", "reward_modes"):
        data["settings"][k] = sorted(set(data["settings"].get(k, [])) | set(settings[k]),
                                     key=lambda x: (isinstance(x, str), x))
    data["settings"]["reward"] = [list(x) for x in dict.fromkeys(
        tuple(x) for x in data["settings"].get("reward", []) + settings["reward"])]
    data["settings"].setdefault("speed_iterations", {}).update(settings["speed_iterations"])
    print(f"bench ({suite}): {len(jobs)} jobs, {len(jobs) - len(todo)} already in {path}, "
          f"{len(todo)} to run on {backend}", file=sys.stderr)
    _save(path, data)
    procs = settings["processes"]
    reward_jobs = [j for j in todo if j.kind == "reward"]
    speed_jobs = [j for j in todo if j.kind == "speed"]
    bar = tqdm(total=len(reward_jobs) + procs * len(speed_jobs), desc=f"bench {suite}", unit="run", file=sys.stderr)
    parts: dict = {}  # a speed job's results of the processes done so far

    def on_done(job, result):
        if job.kind == "speed" and procs > 1:
            parts.setdefault(job.key, []).append(result)
            if len(parts[job.key]) < procs:
                bar.update()
                return
            result = merge_processes(parts.pop(job.key))
        data["results"].append(result)
        data["meta"]["finished"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        _save(path, data)  # every finished job is on disk before the next one is waited for
        what = (f"{result['eval_mean']:.1f}" if job.kind == "reward"
                else f"{result['steps_per_s_median']:.0f} steps/s")
        bar.set_postfix_str(f"{job.key.split('/', 1)[1]}: {what}")
        bar.update()

    reps = settings["repeats"]
    try:
        if reward_jobs:
            _local(reward_jobs, workers, reps, suite, on_done)
        if speed_jobs:  # alone: one timing process at a time; each job's processes in rounds, so that
            # a drift of the machine over the bench falls between processes, where the interval sees it
            _local([j for _ in range(procs) for j in speed_jobs], 1, reps, suite, on_done)
    finally:
        bar.close()
        if new_file and not data["results"] and path.exists():  # nothing ran: no stub to block the next run
            path.unlink()
    return path


