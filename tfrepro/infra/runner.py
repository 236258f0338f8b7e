"""Run one program in one form and build its result record."""
from __future__ import annotations

import datetime as _dt
import sys
import time
from dataclasses import dataclass, replace
from typing import Any, Optional

import numpy as np

from ..core.protocol import RunRecord, RunResult
from ..core.seeding import seed_everything
from . import programs
from .records import SCHEMA, cpu_model, versions

SEED_LIMIT = 2**31  # seeds are 0 <= seed < 2**31 (argtypes.SEED_LIMIT)


@dataclass
class RunSettings:
    """One run of one program in one form: what ``run_program`` takes (``tfrepro run``'s
    options, read into it). Each field says what it sets."""
    name: str  # the program (a built-in's name or a plug-in's)
    framework: str  # tf1 | tf2
    mode: str = "fast"  # book | fast | lockstep
    seed: int = 0  # the run's seed (0 <= seed < 2**31)
    env_id: Optional[str] = None  # the environment, in place of the program's own
    iterations: Optional[int] = None  # the config's iterations field, in place of its own
    variant: Optional[str] = None  # a program's variant (None: the book's)
    save: Optional[str] = None  # a folder to save the trained model into
    load: Optional[str] = None  # a checkpoint of this form to start from
    progress: Any = None  # iterable -> iterable (a progress bar), or None
    keep_weights: bool = False  # keep the final weights in the record (``_weights``, not written)
    logdir: Optional[str] = None  # TensorBoard summaries (programs that write them)
    takeover: Any = None  # a helper asked during one more test episode (dqn-meertens)
    overrides: Optional[dict] = None  # config fields to replace (benchmarks only; they land in the record)


def run_program(s: RunSettings) -> dict:
    """Run ``s.name`` in ``s.framework`` and ``s.mode``; return its result record."""
    name, framework, mode, seed = s.name, s.framework, s.mode, s.seed
    if mode == "lockstep":
        if s.logdir or s.takeover is not None or s.load:
            raise programs.UsageError("lockstep mode takes no --logdir, --takeover or --load")
        return run_seeds(name, framework, mode, [seed], env_id=s.env_id, iterations=s.iterations,
                         variant=s.variant, save=[s.save] if s.save else None, progress=s.progress,
                         keep_weights=s.keep_weights, overrides=s.overrides)[0]
    prog, cfg = _setup(name, framework, mode, s.env_id, s.iterations, s.variant, s.overrides)
    if s.logdir and not prog.logdir:
        raise programs.UsageError(f"{name} writes no TensorBoard summaries: --logdir does not apply")
    if not prog.has_model and (s.save or s.load):
        raise programs.UsageError(f"{name} has no weights: --save and --load do not apply")
    if s.takeover is not None and not prog.takeover:
        raise programs.UsageError(f"{name} has no Q values: --takeover does not apply")
    rng = seed_everything(seed)
    module = prog.form(framework)
    t0 = time.perf_counter()
    extra = {k: v for k, v in (("logdir", s.logdir), ("takeover", s.takeover)) if v is not None}
    out = module.run(cfg, mode=mode, seed=seed, save=s.save, load=s.load, progress=s.progress, rng=rng, **extra)
    return _record(name, framework, mode, seed, s.variant, cfg, out, time.perf_counter() - t0, s.keep_weights)


def run_shared(name, framework, mode="fast", seed=0, iterations=None, variant=None, keep_weights=False,
               overrides=None) -> list:
    """One training run serving ``variant`` and the variant whose record it also gives
    (``ProgramSpec.shared_runs``: the two differ in their stopping rule alone): the two
    records, each what that variant's own run gives (its ``wall_s`` up to its end)."""
    prog, cfg = _setup(name, framework, mode, None, iterations, variant, overrides)
    also_variant = prog.shared_runs.get(variant or "book")
    if also_variant is None:
        raise programs.UsageError(f"{programs.entry_label(name, variant)}: no variant shares its runs")
    also_cfg = _setup(name, framework, mode, None, iterations, also_variant, overrides)[1]
    rng = seed_everything(seed)
    t0 = time.perf_counter()
    out = RunResult.of(prog.form(framework).run(cfg, mode=mode, seed=seed, rng=rng, also=also_cfg),
                       f"{name} ({framework}) run")
    end = time.perf_counter()
    also = RunResult.of(out.also, f"{name} ({framework}) run's also")
    also_end = also.finished_at if also.finished_at is not None else end  # its own end, where it says
    return [_record(name, framework, mode, seed, variant, cfg, out, end - t0, keep_weights),
            _record(name, framework, mode, seed, also_variant, also_cfg, also, also_end - t0, keep_weights)]


def run_seeds(name, framework, mode, seeds, env_id=None, iterations=None, variant=None, save=None,
              progress=None, keep_weights=False, overrides=None, shared=False) -> list:
    """One record per seed. ``lockstep``: the seeds in lockstep runs (the program's
    ``run_lockstep``), in their fixed blocks where the form is not batch-invariant
    (``lockstep_batches``); each record's ``wall_s`` is its run's time shared out over the
    seeds that ran, and ``lockstep`` names the batch, its size and its time. Other modes: the seeds
    one after another in this process (each as ``run_program`` runs it). ``save``: one
    directory per seed, or None. ``shared``: each seed's run also gives the record of the
    variant ``ProgramSpec.shared_runs`` names (``run_shared``)."""
    seeds = [int(s) for s in seeds]
    if shared:  # each seed's run serves two variants (``run_shared``): two records per seed
        return [rec for s in seeds for rec in run_shared(name, framework, mode, s, iterations=iterations,
                                                         variant=variant, keep_weights=keep_weights,
                                                         overrides=overrides)]
    if mode != "lockstep":
        return [run_program(RunSettings(name, framework, mode, s, env_id=env_id, iterations=iterations, variant=variant,
                                        save=save[i] if save else None, progress=progress, keep_weights=keep_weights,
                                        overrides=overrides)) for i, s in enumerate(seeds)]
    prog, cfg = _setup(name, framework, mode, env_id, iterations, variant, overrides)
    module = prog.form(framework)
    invariant = framework in prog.lockstep_batch_invariant
    where = dict(zip(seeds, save)) if save else {}
    records, asked = {}, set(seeds)
    for batch in lockstep_batches(prog, framework, seeds):
        t0 = time.perf_counter()
        outs = module.run_lockstep(cfg, seeds=batch, save=[where.get(s) for s in batch] if save else None,
                                   progress=progress)
        wall = time.perf_counter() - t0
        for seed, out in zip(batch, outs):
            if seed not in asked:  # a seed of the block that was not asked for: run beside, not recorded
                continue
            rec = _record(name, framework, mode, seed, variant, cfg, out, wall / len(batch), keep_weights)
            # the seeds it ran beside (docs/lockstep.md), which ``tfrepro rerun`` runs again
            rec["lockstep"] = {"seeds": len(batch), "batch": batch, "wall_s": wall, "batch_invariant": invariant,
                               **({} if invariant else {"block": prog.lockstep_block})}
            records[seed] = rec
    return [records[s] for s in seeds]


def lockstep_batches(prog, framework, seeds) -> list:
    """The lockstep runs that give ``seeds``' records. A form declared batch-invariant runs the
    seeds as given (up to 64 a run); any other runs each seed in its block, the
    ``prog.lockstep_block`` seeds ``s - s % B`` to ``s - s % B + B - 1`` whatever else was asked
    for, so that a seed's record is one and the same in every command (the block's other seeds
    run beside it, unrecorded)."""
    seeds = list(dict.fromkeys(int(s) for s in seeds))
    if framework in prog.lockstep_batch_invariant:
        return [seeds[i:i + 64] for i in range(0, len(seeds), 64)]
    size = max(1, int(prog.lockstep_block))
    starts = dict.fromkeys(s - s % size for s in seeds)
    return [list(range(a, min(a + size, SEED_LIMIT))) for a in starts]


def record_batch(rec) -> tuple[list, str]:
    """(the seeds a record's run ran together, how that is known); ValueError naming the field
    when the record's batch is not one. A record of an earlier version names no batch: its
    seeds ran in reproduce's chunks of 64 from seed 0, as many as ``lockstep.seeds`` says."""
    if rec.get("mode") != "lockstep":
        return [rec["seed"]], "alone"
    lock = rec.get("lockstep")
    if not isinstance(lock, dict):
        raise ValueError("a lockstep record without its lockstep field")
    batch = lock.get("batch")
    if batch is not None:
        if not (isinstance(batch, list) and 0 < len(batch) <= 10_000
                and all(isinstance(s, int) and not isinstance(s, bool) and 0 <= s < SEED_LIMIT for s in batch)
                and rec["seed"] in batch):
            raise ValueError("lockstep.batch is not a list of seeds holding the record's seed")
        return batch, "the record's batch"
    size = lock.get("seeds")
    if not (isinstance(size, int) and not isinstance(size, bool) and 0 < size <= 64):
        raise ValueError("lockstep.seeds is not the size of a batch (1 to 64)")
    start = rec["seed"] // 64 * 64
    return list(range(start, start + size)), "inferred (a record of an earlier version names no batch)"


def lockstep_groups(prog, framework, seeds) -> list:
    """``seeds`` split into the groups that worker jobs take, one lockstep batch each (so that
    no block is run twice): the asked seeds of each batch of ``lockstep_batches``."""
    asked = list(dict.fromkeys(int(s) for s in seeds))
    keep = set(asked)
    return [[s for s in batch if s in keep] for batch in lockstep_batches(prog, framework, asked)]


def _setup(name, framework, mode, env_id, iterations, variant, overrides):
    prog = programs.get(name)
    if mode not in prog.modes:
        raise programs.UsageError(f"{name} has no {mode} mode (modes: {', '.join(prog.modes)})")
    cfg = prog.make_config(env_id=env_id, iterations=iterations, variant=variant)
    if overrides:
        cfg = replace(cfg, **overrides)
    return prog, cfg


def _record(name, framework, mode, seed, variant, cfg, out, wall, keep_weights) -> dict:
    """The result record (``RunRecord.as_dict``) of one run's ``RunResult`` (a dict of its
    fields from a plug-in)."""
    res = RunResult.of(out, f"{name} ({framework}) run")
    eval_returns = np.asarray(res.eval_returns, float)
    return RunRecord(
        program=name, framework=framework, mode=mode, seed=int(seed), env_id=cfg.env_id,
        variant=variant or "book", config=programs.config_dict(cfg),
        eval_returns=eval_returns.tolist(), eval_mean=float(eval_returns.mean()),
        eval_std=float(eval_returns.std()), eval_min=float(eval_returns.min()), eval_max=float(eval_returns.max()),
        train_returns=[float(x) for x in res.train_returns], episodes_per_iteration=int(res.episodes_per_iteration),
        env_steps=int(res.env_steps), train_env_steps=int(res.train_env_steps), updates=int(res.updates),
        wall_s=wall, train_wall_s=float(res.train_wall_s), versions=versions(), cpu=cpu_model(),
        created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"), command=sys.argv[1:],
        schema=SCHEMA,
        losses=[[int(i), float(v)] for i, v in res.losses] if res.losses is not None else None,
        # DQN (pylessons) extras
        solved_episode=res.solved_episode, learning_rate=res.learning_rate, evaluations=res.evaluations,
        takeover=res.takeover,
        q_trace=res.q_trace,  # predicted Q(s, a) per frame, first test episode
        weights=res.weights if keep_weights else None,
    ).as_dict()
