"""``tfrepro reproduce``: every program, both forms, several seeds; the reproduction table and curves."""
from __future__ import annotations

import os
from pathlib import Path

from ..core.errors import UsageError
from ..infra import programs
from ..infra.tfquiet import quiet_tensorflow
from . import argtypes

DEFAULT_BUDGET = 600.0  # seconds: `tfrepro reproduce` with neither --seeds nor --full


def budget_type(text):
    from ..tools.budget import parse_budget

    return parse_budget(text)


def add_parser(sub):
    from ..tools.budget import PLAN_FROM

    p = sub.add_parser("reproduce", help="every program, both forms, several seeds: the table",
                       description="Run every program in both forms over several seeds, print "
                       "and write the reproduction table (Markdown + JSON) and a PNG of learning "
                       "curves, TF1 beside TF2. Each row's verdict: TF2 against TF1 at the program's "
                       "declared margin (equivalent, better, worse, or inconclusive with the seeds "
                       "per side that would decide).")
    p.add_argument("--mode", choices=programs.MODES, default="lockstep",
                   help="lockstep: the seeds of a program and form in one process, one batched update "
                   "for all (programs without it run fast); fast: seed after seed, a few per process; "
                   "book: the sources' loops (default: %(default)s)")
    p.add_argument("--budget", type=budget_type, metavar="DURATION",
                   help="spend about this long (10m, 90s, 1h) where seeds settle verdicts: every program's "
                   "first look (a block of 30 seeds, 6 for dqn-pylessons), then more seeds for the undecided "
                   "program cheapest to decide, each look read with a group-sequential design so that "
                   "stopping early is honest (the default, 10m, unless --seeds or --full is given)")
    p.add_argument("--spending", choices=("pocock", "obf"), default="pocock",
                   help="--budget: how the error rate is spent over looks: pocock (evenly, decides early) or "
                   "obf (O'Brien-Fleming: little at early looks) (default: %(default)s)")
    p.add_argument("--seeds", type=argtypes.seed_count, metavar="N",
                   help="a fixed design: seeds 0..N-1 for every program, the verdict read once")
    p.add_argument("--full", action="store_true",
                   help="seeds per program from the power calculation: as many per side as the verdict "
                   "of an earlier reproduction (--plan-from) asks for at the declared margin, at least "
                   "--seeds (default 30), at most --max-seeds")
    p.add_argument("--plan-from", metavar="SUMMARY",
                   help="--full: the summary.json whose spreads set the seed counts (default: "
                   "results/reproduce/summary.json); --budget: the one whose per-seed spreads, blind to "
                   "the difference, order the programs before their first look, so that a program the "
                   "budget cannot decide does not take its time (default: this checkout's "
                   f"{PLAN_FROM}, when there)")
    p.add_argument("--max-seeds", type=argtypes.seed_count, default=300,
                   help="--full and --budget: at most this many seeds per side (default: %(default)s)")
    p.add_argument("--programs", nargs="+", metavar="PROGRAM[:VARIANT]",
                   help="subset (default: all; dqn-meertens runs its exercises variant unless "
                   "given as dqn-meertens:book)")
    p.add_argument("--iterations", type=argtypes.count, metavar="K",
                   help="override every training program's iterations (for quick looks)")
    p.add_argument("--workers", type=argtypes.positive, default=min(2, os.cpu_count() or 1),
                   help="processes at once, each fresh (default: %(default)s)")
    argtypes.add_backend_arguments(p)
    p.add_argument("--out-dir", metavar="DIR",
                   help="where records, table, plot and index.html go (default: a new folder "
                   "results/reproduce-DATE-TIME, with --full results/reproduce-full-DATE-TIME; a folder "
                   "holding an earlier run needs --resume or --force)")
    p.add_argument("--resume", action="store_true", help="reuse the records already in DIR/runs for the "
                   "same runs (program, variant, form, mode, seed, length) and run only the missing; "
                   "with every record there, the table is rebuilt without training")
    p.add_argument("--force", action="store_true",
                   help="write into an --out-dir that holds an earlier run's results, over them")
    p.add_argument("--margin", type=argtypes.margin, action="append", metavar="[PROGRAM=]POINTS",
                   help="equivalence margin of the verdict column, in reward points (default: each "
                   "program's declared margin)")
    return p


def main(args) -> int:
    from ..infra.outdirs import check_results_dir, fresh
    from ..tools.report import check_page
    from ..tools.reproduce import planned_seeds, reproduce

    names = args.programs or programs.names(lambda p: p.in_reproduce)
    entries = []
    for entry in names:
        prog, variant = programs.parse_entry(entry)
        entries.append((prog.name, variant))
    if args.resume and not args.out_dir:
        raise UsageError("--resume continues an earlier run: give its --out-dir")
    argtypes.use_backend(args)  # an unreachable cluster: one line, before any folder
    out_dir = Path(args.out_dir) if args.out_dir else fresh("results/reproduce-full" if args.full
                                                            else "results/reproduce")
    check_results_dir(out_dir, resume=args.resume, force=args.force,
                      names=("table.md", "summary.json", "curves.png", "index.html"))
    check_page(out_dir, force=args.force)
    budget = args.budget
    if budget is not None and (args.full or args.seeds is not None):
        raise UsageError("--budget chooses the seeds itself: give it without --seeds or --full")
    if budget is None and not args.full and args.seeds is None:
        budget = DEFAULT_BUDGET
    seeds: dict | list | None = None
    prior = None
    if args.full:
        plan = planned_seeds(Path(args.plan_from or "results/reproduce/summary.json"), entries, args.seeds or 30,
                             args.max_seeds)
        print("--full, seeds per side: " + ", ".join(f"{programs.entry_label(*e)} {n}" for e, n in plan.items()))
        seeds = {e: list(range(n)) for e, n in plan.items()}
    elif args.seeds is not None:
        seeds = list(range(args.seeds))
    else:
        prior = _planning_spreads(args, entries)
        print(f"budget {budget / 60:g} min on {args.workers} workers: seeds where they settle a verdict, the "
              f"program cheapest to decide first ({prior[1]}; group-sequential, {args.spending} spending, at "
              f"most {args.max_seeds} seeds per side; --seeds N for a fixed design)")
        prior = prior[0]
    quiet_tensorflow()
    return reproduce(entries, mode=args.mode, seeds=seeds,
                     out_dir=Path(out_dir), workers=args.workers, iterations=args.iterations,
                     margins=dict(args.margin or []), reuse=args.resume, force=args.force,
                     budget=budget if seeds is None else None, max_seeds=args.max_seeds, spending=args.spending,
                     prior=prior)


def _planning_spreads(args, entries):
    """(prior_needs's counts or None, what the plan rests on, said on the first line)."""
    from ..infra.checkout import ROOT
    from ..tools.budget import PLAN_FROM, Plan, measured_scales, prior_needs

    path = Path(args.plan_from) if args.plan_from else ROOT / PLAN_FROM
    if not os.path.isfile(path):
        if args.plan_from:
            raise UsageError(f"--plan-from {args.plan_from}: no such file")
        return None, "no planning spreads: each program's first look gives its own"
    needs = prior_needs(path, entries, dict(args.margin or []))
    if args.plan_from and not needs:
        raise UsageError(f"--plan-from {args.plan_from}: no per-seed values of these programs to plan on "
                         "(a summary.json of tfrepro reproduce)")
    shown = path if args.plan_from else PLAN_FROM
    scales = measured_scales(Path(path).parent / "runs", entries, args.mode, args.iterations)
    costs = f"; {len(scales)} programs' costs from its records on this CPU" if scales else ""
    return Plan(needs, scales), f"planned from the spreads in {shown}, blind to their differences{costs}"
