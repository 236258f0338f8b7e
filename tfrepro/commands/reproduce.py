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
    p.add_argument("--mode", choices=programs.MODES, default="fast",
                   help="fast: seed after seed, a few per process; lockstep: the seeds of a program and "
                   "form in one process, one batched update for all (programs without it run fast); book: "
                   "the sources' loops (default: %(default)s)")
    p.add_argument("--seeds", type=argtypes.seed_count, default=8, help="seeds 0..N-1 (default: %(default)s)")
    p.add_argument("--programs", nargs="+", metavar="PROGRAM[:VARIANT]",
                   help="subset (default: all; dqn-meertens runs its exercises variant unless "
                   "given as dqn-meertens:book)")
    p.add_argument("--iterations", type=argtypes.count, metavar="K",
                   help="override every training program's iterations (for quick looks)")
    p.add_argument("--workers", type=argtypes.positive, default=min(2, os.cpu_count() or 1),
                   help="processes at once, each fresh (default: %(default)s)")
    p.add_argument("--out-dir", default="results/reproduce", metavar="DIR",
                   help="where records, table and plot go (default: %(default)s)")
    p.add_argument("--resume", action="store_true", help="reuse the records already in DIR/runs for the "
                   "same runs (program, variant, form, mode, seed, length) and run only the missing; "
                   "with every record there, the table is rebuilt without training")
    p.add_argument("--margin", type=argtypes.margin, action="append", metavar="[PROGRAM=]POINTS",
                   help="equivalence margin of the verdict column, in reward points (default: each "
                   "program's declared margin)")
    return p


def main(args) -> int:
    from ..tools.reproduce import reproduce

    names = args.programs or [n for n, p in programs.PROGRAMS.items() if p.in_reproduce]
    entries = []
    for entry in names:
        prog, variant = programs.parse_entry(entry)
        entries.append((prog.name, variant))
    if Path(args.out_dir).exists() and not Path(args.out_dir).is_dir():
        raise UsageError(f"--out-dir {args.out_dir}: exists and is not a directory")
    quiet_tensorflow()
    return reproduce(entries, mode=args.mode, seeds=list(range(args.seeds)),
                     out_dir=Path(args.out_dir), workers=args.workers, iterations=args.iterations,
                     margins=dict(args.margin or []), reuse=args.resume)
