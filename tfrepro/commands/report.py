"""``tfrepro report``: one self-contained HTML page of the results on disk."""
from __future__ import annotations

from pathlib import Path

from ..core.errors import UsageError


def add_parser(sub):
    p = sub.add_parser("report", help="one HTML page (tables, verdicts, plots) of results on disk",
                       description="Write a self-contained index.html (tables with coloured verdicts, "
                       "plots embedded; no network, no server) from what reproduce, diff --seeds, bench, "
                       "compare and matrix wrote: their folders (summary.json, compare.json, matrix.json, "
                       "runs/) or single files (a bench results file, a compare.json, a result record). "
                       "Nothing is rerun. reproduce, compare and matrix write this page into their own "
                       "folders as well.")
    p.add_argument("paths", nargs="*", metavar="RESULTS",
                   help="folders or files to report (default: every folder under results/ that holds "
                   "such output)")
    p.add_argument("--out", default="results/report", metavar="DIR",
                   help="folder of the page: DIR/index.html (default: %(default)s)")
    p.add_argument("--title", default="tfrepro report", help="the page's title (default: %(default)s)")
    p.add_argument("--force", action="store_true",
                   help="write into DIR (and replace DIR/index.html) even if this package did not write it")
    return p


def main(args) -> int:
    from ..infra import outdirs
    from ..tools.report import default_inputs, write_report

    outdirs.check_out_dir(args.out, "--out", force=args.force)
    paths = args.paths or default_inputs()
    if not paths:
        raise UsageError("no results to report: give folders or files, or run tfrepro reproduce "
                         "(it writes results/reproduce-DATE-TIME) first")
    page = write_report(paths, Path(args.out), force=args.force, title=args.title)
    print(f"wrote {page} ({len(paths)} input(s)); open it in a browser: file://{page.resolve()}")
    return 0
