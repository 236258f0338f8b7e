"""``tfrepro matrix --tf V1 V2 ...``: bench under several TensorFlow releases, one report."""
from __future__ import annotations

import sys
from pathlib import Path

from ..core.errors import UsageError
from ..infra import outdirs, programs
from ..tools.matrix import MatrixSettings
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
    argtypes.add_settings(p, MatrixSettings)
    argtypes.add_backend_arguments(p, what="each release's bench runs (in that release's environment, built "
                                   "with this Ray)")
    argtypes.add_verdict_arguments(p)
    return p


def main(args) -> int:
    from ..tools.bench import SUITES
    from ..tools.matrix import matrix, requirements

    s = argtypes.settings_from(args, MatrixSettings, backend=args.backend, address=args.address,
                               thresholds=argtypes.thresholds(args))
    if s.suite not in SUITES:
        raise UsageError(f"unknown suite {s.suite!r} (choose from: {', '.join(SUITES)})")
    if len(set(s.tf)) != len(s.tf) or len(s.tf) < 2:
        raise UsageError("--tf takes two or more different versions")
    for v in s.tf:
        requirements(v)  # validates the range
    for entry in s.entries or []:
        programs.parse_entry(entry)
    argtypes.use_backend(args)  # an --address that cannot be reached: one line, before any environment
    if s.backend == "ray":
        from ..tools.matrix import ray_requirement

        ray_requirement()
    outdirs.check_out_dir(s.out_dir, force=s.force, names=(
        "matrix.md", "matrix.json", "matrix.png", "compare.md", "index.html", "runs/*"))
    if s.report_only:
        from ..tools.matrix import report

        files = [Path(s.out_dir) / "runs" / f"tf-{v}.json" for v in s.tf]
        missing = [str(f) for f in files if not f.is_file()]
        if missing:
            raise UsageError(f"--report-only: no results file {missing[0]} (run the matrix without "
                             "--report-only to make it)")
        return report(files, s.thresholds, Path(s.out_dir))
    return matrix(s, log=lambda m: print(m, file=sys.stderr))
