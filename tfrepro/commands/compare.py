"""``tfrepro compare BASE NEW``: what changed between two bench results files."""
from __future__ import annotations

import sys
from pathlib import Path

from ..core.errors import UsageError
from . import argtypes


def add_parser(sub):
    p = sub.add_parser("compare", help="what changed between two bench results files",
                       description="Compare two bench results files (BASE, NEW) per program x "
                       "framework x mode, each row in four words: equivalent, better, worse or "
                       "inconclusive. Reward: two one-sided tests on the difference of mean final "
                       "rewards at the program's declared margin, the 90%% interval of the difference, "
                       "interquartile means and P(NEW better) with stratified bootstrap intervals, and "
                       "the seeds per side an inconclusive row would need; collapse rates apart where a "
                       "program's runs can collapse. Speed: the ratio of median steps/s with a bootstrap "
                       "interval against a band. Prints a table, writes Markdown, JSON and a PNG. Exit "
                       "code 1 when a row is worse, 0 otherwise, 2 on unreadable input.")
    p.add_argument("base", metavar="BASE")
    p.add_argument("new", metavar="NEW")
    argtypes.add_verdict_arguments(p)
    p.add_argument("--out-dir", default="results/compare", metavar="DIR",
                   help="where compare.md, compare.json and compare.png go (default: %(default)s)")
    return p


def main(args) -> int:
    from ..tools.compare import compare

    th = argtypes.thresholds(args)
    if Path(args.out_dir).exists() and not Path(args.out_dir).is_dir():
        raise UsageError(f"--out-dir {args.out_dir}: exists and is not a directory")
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
