"""``tfrepro reproduce``: every program, both forms, several seeds; the reproduction table and curves."""
from __future__ import annotations

import os
from pathlib import Path

from ..core.errors import UsageError
from ..infra import programs
from ..infra.tfquiet import quiet_tensorflow
from ..tools.reproduce import ReproduceSettings
from . import argtypes

DEFAULT_BUDGET = 600.0  # seconds: `tfrepro reproduce` with neither --seeds nor --full


def add_parser(sub):
    p = sub.add_parser("reproduce", help="every program, both forms, several seeds: the table",
                       description="Run every program in both forms over several seeds, print "
                       "and write the reproduction table (Markdown + JSON) and a PNG of learning "
                       "curves, TF1 beside TF2. Each row's verdict: TF2 against TF1 at the program's "
                       "declared margin (equivalent, better, worse, or inconclusive with the seeds "
                       "per side that would decide).")
    argtypes.add_settings(p, ReproduceSettings)
    argtypes.add_backend_arguments(p)
    return p


def main(args) -> int:
    from ..infra.outdirs import check_results_dir, fresh
    from ..tools.report import check_page
    from ..tools.reproduce import planned_seeds, reproduce

    s = argtypes.settings_from(args, ReproduceSettings)
    entries = []
    for entry in s.entries or programs.names(lambda p: p.in_reproduce):
        prog, variant = programs.parse_entry(entry)
        entries.append((prog.name, variant))
    if s.resume and not s.out_dir:
        raise UsageError("--resume continues an earlier run: give its --out-dir")
    argtypes.use_backend(args)  # an unreachable cluster: one line, before any folder
    out_dir = Path(s.out_dir) if s.out_dir else fresh("results/reproduce-full" if s.full else "results/reproduce")
    check_results_dir(out_dir, resume=s.resume, force=s.force,
                      names=("table.md", "summary.json", "curves.png", "index.html"))
    check_page(out_dir, force=s.force)
    budget = s.budget
    if budget is not None and (s.full or s.seeds is not None):
        raise UsageError("--budget chooses the seeds itself: give it without --seeds or --full")
    if budget is None and not s.full and s.seeds is None:
        budget = DEFAULT_BUDGET
    seeds: dict | list | None = None
    prior = None
    if s.full:
        plan = planned_seeds(Path(s.plan_from or "results/reproduce/summary.json"), entries, s.seeds or 30,
                             s.max_seeds)
        print("--full, seeds per side: " + ", ".join(f"{programs.entry_label(*e)} {n}" for e, n in plan.items()))
        seeds = {e: list(range(n)) for e, n in plan.items()}
    elif s.seeds is not None:
        seeds = list(range(s.seeds))
    else:
        prior = _planning_spreads(s, entries)
        print(f"budget {budget / 60:g} min on {s.workers} workers: seeds where they settle a verdict, the "
              f"program cheapest to decide first ({prior[1]}; group-sequential, {s.spending} spending, at "
              f"most {s.max_seeds} seeds per side; --seeds N for a fixed design)")
        prior = prior[0]
    quiet_tensorflow()
    return reproduce(entries, mode=s.mode, seeds=seeds,
                     out_dir=Path(out_dir), workers=s.workers, iterations=s.iterations,
                     margins=dict(s.margin or []), reuse=s.resume, force=s.force,
                     budget=budget if seeds is None else None, max_seeds=s.max_seeds, spending=s.spending,
                     prior=prior)


def _planning_spreads(s, entries):
    """(prior_needs's counts or None, what the plan rests on, said on the first line)."""
    from ..infra.checkout import ROOT
    from ..tools.budget import PLAN_FROM, Plan, measured_scales, prior_needs

    path = Path(s.plan_from) if s.plan_from else ROOT / PLAN_FROM
    if not os.path.isfile(path):
        if s.plan_from:
            raise UsageError(f"--plan-from {s.plan_from}: no such file")
        return None, "no planning spreads: each program's first look gives its own"
    needs = prior_needs(path, entries, dict(s.margin or []))
    if s.plan_from and not needs:
        raise UsageError(f"--plan-from {s.plan_from}: no per-seed values of these programs to plan on "
                         "(a summary.json of tfrepro reproduce)")
    shown = path if s.plan_from else PLAN_FROM
    scales = measured_scales(Path(path).parent / "runs", entries, s.mode, s.iterations)
    costs = f"; {len(scales)} programs' costs from its records on this CPU" if scales else ""
    return Plan(needs, scales), f"planned from the spreads in {shown}, blind to their differences{costs}"
