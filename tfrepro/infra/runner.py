"""Run one program in one form and build its result record."""
from __future__ import annotations

import datetime as _dt
import sys
import time

import numpy as np

from ..core.seeding import seed_everything
from . import programs
from .records import SCHEMA, versions


def run_program(name, framework, mode="fast", seed=0, env_id=None, iterations=None,
                variant=None, save=None, load=None, progress=None, keep_weights=False,
                logdir=None, takeover=None, overrides=None) -> dict:
    """Run ``name`` in ``framework`` and ``mode``; return its result record.
    ``overrides``: config fields to replace (benchmarks only; they land in the record)."""
    prog = programs.get(name)
    if mode not in prog.modes:
        raise programs.UsageError(f"{name} has no {mode} mode yet (modes: {', '.join(prog.modes)})")
    if logdir and not prog.logdir:
        raise programs.UsageError(f"{name} writes no TensorBoard summaries: --logdir does not apply")
    cfg = prog.make_config(env_id=env_id, iterations=iterations, variant=variant)
    if overrides:
        from dataclasses import replace

        cfg = replace(cfg, **overrides)
    if not prog.has_model and (save or load):
        raise programs.UsageError(f"{name} has no weights: --save and --load do not apply")
    rng = seed_everything(seed)
    module = prog.form(framework)
    t0 = time.perf_counter()
    extra = {k: v for k, v in (("logdir", logdir), ("takeover", takeover)) if v is not None}
    if takeover is not None and not prog.takeover:
        raise programs.UsageError(f"{name} has no Q values: --takeover does not apply")
    out = module.run(cfg, mode=mode, seed=seed, save=save, load=load, progress=progress, rng=rng, **extra)
    wall = time.perf_counter() - t0
    eval_returns = np.asarray(out["eval_returns"], float)
    record = {
        "schema": SCHEMA,
        "program": name,
        "framework": framework,
        "mode": mode,
        "seed": int(seed),
        "env_id": cfg.env_id,
        "variant": variant or "book",
        "config": programs.config_dict(cfg),
        "eval_returns": eval_returns.tolist(),
        "eval_mean": float(eval_returns.mean()),
        "eval_std": float(eval_returns.std()),
        "eval_min": float(eval_returns.min()),
        "eval_max": float(eval_returns.max()),
        "train_returns": [float(x) for x in out["train_returns"]],
        "episodes_per_iteration": int(out.get("episodes_per_iteration", 1)),
        "env_steps": int(out["env_steps"]),
        "train_env_steps": int(out.get("train_env_steps", 0)),
        "updates": int(out.get("updates", 0)),
        "wall_s": wall,
        "train_wall_s": float(out.get("train_wall_s", 0.0)),
        "versions": versions(),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "command": sys.argv[1:],
    }
    if "losses" in out:
        record["losses"] = [[int(i), float(v)] for i, v in out["losses"]]
    for key in ("solved_episode", "learning_rate", "evaluations"):  # DQN (pylessons) extras
        if key in out:
            record[key] = out[key]
    if out.get("takeover") is not None:
        record["takeover"] = out["takeover"]
    if "q_trace" in out:
        record["q_trace"] = out["q_trace"]  # predicted Q(s, a) per frame, first test episode
    if keep_weights and "weights" in out:
        record["_weights"] = out["weights"]
    return record
