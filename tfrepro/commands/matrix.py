"""``tfrepro matrix --tf V1 V2 ...``: bench under several TensorFlow releases, one report."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from ..core.errors import UsageError
from ..infra import outdirs, programs
from . import argtypes


def add_parser(sub):
    p = sub.add_parser("matrix", help="bench under several TensorFlow releases, one report",
                       description="For each TensorFlow version: build (once, cached) an isolated "
                       "environment with that TensorFlow, its tf-keras and the Keras pip resolves "
                       "for it, run `tfrepro bench` there on this checkout, then compare every "
                       "version with the first: a table with one row per version, Markdown, JSON "
                       "and a PNG with one line per version; every row judged as `tfrepro compare` "
                       "judges it (equivalent, better, worse, inconclusive). Exit code 1 when a "
                       "version is worse than the first.")
    p.add_argument("--tf", nargs="+", required=True, metavar="VERSION", type=argtypes.tf_version,
                   help="TensorFlow versions, e.g. 2.15 2.16 2.18 2.21 (the first is the base)")
    p.add_argument("--suite", default="quick", help="bench suite (default: %(default)s)")
    p.add_argument("--programs", nargs="+", metavar="PROGRAM[:VARIANT]", help="only these programs")
    p.add_argument("--seeds", type=argtypes.seed_range, metavar="A..B|N", help="reward seeds (default: the suite's)")
    p.add_argument("--iterations", type=argtypes.positive, metavar="K", help="shorten reward runs (quick looks)")
    p.add_argument("--frameworks", nargs="+", choices=programs.FRAMEWORKS,
                   help="only these forms (default: both)")
    p.add_argument("--repeats", type=argtypes.positive, help="timed repeats per process of a speed job")
    p.add_argument("--processes", type=argtypes.processes, help="fresh processes per speed job (default: the "
                   "suite's)")
    p.add_argument("--speed-modes", nargs="+", choices=programs.MODES, metavar="MODE",
                   help="the loops timed: book, fast, lockstep (default: all three)")
    p.add_argument("--no-speed", action="store_true", help="reward runs only")
    p.add_argument("--workers", type=argtypes.positive, default=min(2, os.cpu_count() or 1))
    p.add_argument("--cache", metavar="DIR", help="where the environments live (default: "
                   "~/.cache/tfrepro/matrix)")
    p.add_argument("--resume", action="store_true", help="complete the results files already there")
    p.add_argument("--report-only", action="store_true", help="no environment, no bench: rebuild the "
                   "report from the results files already in OUT_DIR/runs (tf-VERSION.json)")
    p.add_argument("--out-dir", default="results/matrix", metavar="DIR", help="default: %(default)s "
                   "(a folder holding files this package did not write is refused)")
    p.add_argument("--force", action="store_true", help="write into --out-dir whatever it holds")
    argtypes.add_backend_arguments(p, what="each release's bench runs (in that release's environment, built "
                                   "with this Ray)")
    argtypes.add_verdict_arguments(p)
    return p


def main(args) -> int:
    from ..tools.bench import SUITES
    from ..tools.matrix import DEFAULT_CACHE, matrix, requirements

    if args.suite not in SUITES:
        raise UsageError(f"unknown suite {args.suite!r} (choose from: {', '.join(SUITES)})")
    if len(set(args.tf)) != len(args.tf) or len(args.tf) < 2:
        raise UsageError("--tf takes two or more different versions")
    for v in args.tf:
        requirements(v)  # validates the range
    if args.programs:
        for entry in args.programs:
            programs.parse_entry(entry)
    th = argtypes.thresholds(args)
    argtypes.use_backend(args)  # an --address that cannot be reached: one line, before any environment
    if args.backend == "ray":
        from ..tools.matrix import ray_requirement

        ray_requirement()
    outdirs.check_out_dir(args.out_dir, force=args.force, names=(
        "matrix.md", "matrix.json", "matrix.png", "compare.md", "index.html", "runs/*"))
    if args.report_only:
        from ..tools.matrix import report

        files = [Path(args.out_dir) / "runs" / f"tf-{v}.json" for v in args.tf]
        missing = [str(f) for f in files if not f.is_file()]
        if missing:
            raise UsageError(f"--report-only: no results file {missing[0]} (run the matrix without "
                             "--report-only to make it)")
        return report(files, th, Path(args.out_dir))
    return matrix(args.tf, args.suite, args.seeds, args.repeats, args.workers,
                  Path(args.cache) if args.cache else DEFAULT_CACHE, Path(args.out_dir), args.resume,
                  th, args.programs, args.iterations, log=lambda m: print(m, file=sys.stderr),
                  frameworks=args.frameworks, speed_modes=args.speed_modes, speed=not args.no_speed,
                  processes=args.processes, backend=args.backend, address=args.address)
