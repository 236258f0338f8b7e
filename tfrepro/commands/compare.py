"""``tfrepro compare BASE NEW``: what changed between two bench results files."""
from __future__ import annotations

import sys
from pathlib import Path

from ..core.errors import UsageError


def add_parser(sub):
    p = sub.add_parser("compare", help="what changed between two bench results files",
                       description="Compare two bench results files (BASE, NEW) per program x "
                       "framework x mode: reward (medians, IQRs, bootstrap 95% interval of the "
                       "mean difference, Mann-Whitney p, probability that NEW is better) and speed "
                       "(ratio of median steps/s with a bootstrap interval). Prints a table, writes "
                       "Markdown, JSON and a PNG. Exit code 1 when a row got worse beyond the "
                       "thresholds, 0 otherwise, 2 on unreadable input.")
    p.add_argument("base", metavar="BASE")
    p.add_argument("new", metavar="NEW")
    p.add_argument("--alpha", type=float, default=0.05, help="reward: Mann-Whitney significance "
                   "(default: %(default)s)")
    p.add_argument("--reward-tol", type=float, default=0.05, help="reward: smallest mean change "
                   "that counts, as a share of BASE's median (default: %(default)s)")
    p.add_argument("--speed-tol", type=float, default=0.10, help="speed: a change counts when the "
                   "whole 95%% interval of the ratio lies beyond 1 +/- this (default: %(default)s)")
    p.add_argument("--out-dir", default="results/compare", metavar="DIR",
                   help="where compare.md, compare.json and compare.png go (default: %(default)s)")
    return p


def main(args) -> int:
    from ..tools.compare import Thresholds, compare

    if not 0 < args.alpha < 1:
        raise UsageError(f"--alpha {args.alpha}: must be between 0 and 1")
    if args.reward_tol < 0 or args.speed_tol < 0:
        raise UsageError("--reward-tol and --speed-tol must be >= 0")
    if Path(args.out_dir).exists() and not Path(args.out_dir).is_dir():
        raise UsageError(f"--out-dir {args.out_dir}: exists and is not a directory")
    th = Thresholds(args.alpha, args.reward_tol, args.speed_tol)
    out = Path(args.out_dir)
    rows, md = compare([args.base, args.new], th, out / "compare.md", out / "compare.png",
                       out / "compare.json")
    print(md)
    print(f"wrote {out / 'compare.md'}, {out / 'compare.json'}, {out / 'compare.png'}")
    worse = [r for r in rows[0] if r["verdict"] == "worse"]
    if worse:
        print("worse: " + ", ".join(f"{r['program']} {r['framework']} {r['mode']}" for r in worse),
              file=sys.stderr)
    return 1 if worse else 0
