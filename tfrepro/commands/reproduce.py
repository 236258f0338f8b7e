"""``tfrepro reproduce``: every program, both forms, several seeds; the reproduction table and curves."""
from __future__ import annotations

import os
from pathlib import Path

from ..core.errors import UsageError
from ..infra import programs
from ..infra.tfquiet import quiet_tensorflow
from . import argtypes


def add_parser(sub):
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
    p.add_argument("--seeds", type=argtypes.seed_count, metavar="N",
                   help="seeds 0..N-1 for every program (default: the quick tier, each program at the "
                   "seeds that fit in about 10 minutes on 2 cores: 30, 6 for dqn-pylessons; the "
                   "committed table is --seeds 30)")
    p.add_argument("--full", action="store_true",
                   help="seeds per program from the power calculation: as many per side as the verdict "
                   "of an earlier reproduction (--plan-from) asks for at the declared margin, at least "
                   "--seeds (default 30), at most --max-seeds")
    p.add_argument("--plan-from", default="results/reproduce/summary.json", metavar="SUMMARY",
                   help="--full: the summary.json whose spreads set the seed counts (default: %(default)s)")
    p.add_argument("--max-seeds", type=argtypes.seed_count, default=300,
                   help="--full: at most this many seeds per side (default: %(default)s)")
    p.add_argument("--programs", nargs="+", metavar="PROGRAM[:VARIANT]",
                   help="subset (default: all; dqn-meertens runs its exercises variant unless "
                   "given as dqn-meertens:book)")
    p.add_argument("--iterations", type=argtypes.count, metavar="K",
                   help="override every training program's iterations (for quick looks)")
    p.add_argument("--workers", type=argtypes.positive, default=min(2, os.cpu_count() or 1),
                   help="processes at once, each fresh (default: %(default)s)")
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
    from ..tools.reproduce import planned_seeds, reproduce
    from ..tools.report import check_page

    names = args.programs or programs.names(lambda p: p.in_reproduce)
    entries = []
    for entry in names:
        prog, variant = programs.parse_entry(entry)
        entries.append((prog.name, variant))
    if args.resume and not args.out_dir:
        raise UsageError("--resume continues an earlier run: give its --out-dir")
    out_dir = Path(args.out_dir) if args.out_dir else fresh("results/reproduce-full" if args.full
                                                            else "results/reproduce")
    check_results_dir(out_dir, resume=args.resume, force=args.force,
                      names=("table.md", "summary.json", "curves.png", "index.html"))
    check_page(out_dir, force=args.force)
    if args.full:
        plan = planned_seeds(Path(args.plan_from), entries, args.seeds or 30, args.max_seeds)
        print("--full, seeds per side: " + ", ".join(f"{programs.entry_label(*e)} {n}" for e, n in plan.items()))
        seeds = {e: list(range(n)) for e, n in plan.items()}
    elif args.seeds is not None:
        seeds = list(range(args.seeds))
    else:  # the quick tier
        seeds = {e: list(range(programs.get(e[0]).quick_seeds)) for e in entries}
        print("quick tier, seeds per form: " + ", ".join(f"{programs.entry_label(*e)} {len(s)}"
                                                         for e, s in seeds.items())
              + " (--seeds 30 for the committed table, --full for the power calculation's counts)")
    quiet_tensorflow()
    return reproduce(entries, mode=args.mode, seeds=seeds,
                     out_dir=Path(out_dir), workers=args.workers, iterations=args.iterations,
                     margins=dict(args.margin or []), reuse=args.resume, force=args.force)
