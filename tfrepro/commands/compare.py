"""``tfrepro compare BASE NEW``: what changed between two bench results files."""
from __future__ import annotations

import sys
from pathlib import Path

from ..core.errors import UsageError
from ..infra import outdirs, programs
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
    p.add_argument("new", metavar="NEW", nargs="?",
                   help="the results file to judge against BASE (default with --modes: BASE itself)")
    p.add_argument("--modes", nargs=2, choices=programs.MODES, metavar=("BASE_MODE", "NEW_MODE"),
                   help="compare BASE's runs in BASE_MODE with NEW's in NEW_MODE, program by program "
                   "(e.g. --modes fast lockstep FILE: is lockstep equivalent to fast?)")
    argtypes.add_verdict_arguments(p)
    p.add_argument("--out-dir", default="results/compare", metavar="DIR",
                   help="where compare.md, compare.json and compare.png go (default: %(default)s; "
                   "a folder holding files this package did not write is refused)")
    p.add_argument("--force", action="store_true", help="write into --out-dir whatever it holds")
    return p


OUTPUTS = ("compare.md", "compare.json", "compare.png", "index.html")


def _script_folders(args):
    """BASE and NEW are ``legacy --seeds`` folders (``DIR`` or ``DIR:SIDE``)."""
    def is_folder(spec):
        folder = spec if Path(spec).exists() else spec.rpartition(":")[0]
        return bool(folder) and Path(folder).is_dir()

    if args.new is None:
        return False
    base, new = is_folder(args.base), is_folder(args.new)
    if base != new:  # one side a folder of script runs, the other not: say which side is wrong
        which, spec = ("NEW", args.new) if base else ("BASE", args.base)
        other = "BASE" if base else "NEW"
        what = "not a folder" if Path(spec).exists() else "no such folder"
        raise UsageError(f"{which} {spec}: {what}, while {other} is a folder (two folders: script runs of "
                         "legacy --seeds; two files: bench results)")
    return base and new


def _compare_scripts(args) -> int:
    from ..tools.legacy.runs import compare_folders
    from ..tools.report import check_page, write_report

    if args.modes:
        raise UsageError("--modes compares a bench file's modes; legacy --seeds folders have sides (DIR:SIDE)")
    out = outdirs.check_out_dir(args.out_dir, force=args.force, names=OUTPUTS)
    check_page(out)
    margin = None
    if args.margin:
        if len(args.margin) != 1 or args.margin[0][0] != "*":
            raise UsageError("--margin POINTS (one number, no program name) for legacy --seeds folders")
        margin = args.margin[0][1]
    summary, table = compare_folders(args.base, args.new, out, margin)
    page = write_report([out / "compare.json"], out, title="tfrepro compare")
    print(table, end="")
    print(f"wrote {out / 'compare.md'}, {out / 'compare.json'}, {out / 'compare.png'}, {page}")
    return 1 if summary.get("verdict") == "worse" else 0


def main(args) -> int:
    from ..tools.compare import compare
    from ..tools.report import check_page, write_report

    if _script_folders(args):
        return _compare_scripts(args)
    th = argtypes.thresholds(args)
    if args.new is None and not args.modes:
        raise UsageError("compare needs BASE and NEW (or one file with --modes BASE_MODE NEW_MODE)")
    if args.modes and args.modes[0] == args.modes[1]:
        raise UsageError(f"--modes {args.modes[0]} {args.modes[1]}: two different modes")
    new = args.new or args.base
    out = outdirs.check_out_dir(args.out_dir, force=args.force, names=OUTPUTS)
    check_page(out)
    rows, md = compare([args.base, new], th, out / "compare.md", out / "compare.png",
                       out / "compare.json", modes=args.modes)
    page = write_report([out / "compare.json"], out, title="tfrepro compare")
    print(md)
    print(f"wrote {out / 'compare.md'}, {out / 'compare.json'}, {out / 'compare.png'}, {page}")
    worse = [r for r in rows[0] if r["verdict"] == "worse"]
    if worse:
        print("worse: " + ", ".join(f"{r['program']} {r['framework']} {r['mode']}" for r in worse),
              file=sys.stderr)
    return 1 if worse else 0
