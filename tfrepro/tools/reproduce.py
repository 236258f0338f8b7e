"""``tfrepro reproduce``: every program, both forms, several seeds; table and curves."""
from __future__ import annotations

from pathlib import Path


from ..infra import programs
from ..infra.grid import plot_curves, run_grid
from ..infra.judge import seeds_to_decide
from ..infra.summary import summarise, table_markdown  # noqa: F401 (public here too)
from ..infra.records import atomic_write_text, dumps


def planned_seeds(summary_path: Path, entries, least: int, most: int) -> dict:
    """``reproduce --full``: per entry, the seeds per side its verdict in an earlier
    reproduction (``summary.json``) asks for at the declared margin (for an inconclusive
    row, the power calculation's count, collapse rate included; a decided row keeps its
    seeds), at least ``least`` and at most ``most``: {(name, variant): count}."""
    import json

    from ..core.errors import UsageError

    try:
        rows = {r["program"]: r for r in json.loads(Path(summary_path).read_text())["rows"]}
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise UsageError(f"--full plans from {summary_path}: cannot read it ({type(e).__name__}); "
                         "run `tfrepro reproduce` first, or give --plan-from") from None
    plan = {}
    for name, variant in entries:
        row = rows.get(programs.entry_label(name, variant))
        verdict = (row or {}).get("tf2_vs_tf1")
        if not verdict:
            raise UsageError(f"--full: {summary_path} has no verdict for {programs.entry_label(name, variant)}")
        need = (seeds_to_decide(verdict) if verdict["verdict"] == "inconclusive" else None) or 0
        plan[(name, variant)] = min(most, max(least, need, len(row["tf1"]["seeds"]), len(row["tf2"]["seeds"])))
    return plan


def reproduce(entries, mode, seeds, out_dir: Path, workers=2, iterations=None, margins=None,
              reuse=False, force=False) -> int:
    """``entries``: (program name, variant or None) pairs, as ``programs.parse_entry`` gives.
    ``seeds``: one list for all, or {(name, variant): list} (``--full``)."""
    from ..infra.records import versions
    from .report import check_page, write_report

    check_page(out_dir, force)  # an index.html there that this package did not write: refuse before training
    records = run_grid(entries, mode, seeds, out_dir, workers=workers, iterations=iterations, reuse=reuse)
    rows = summarise(records, entries, margins)
    vers = records[0]["versions"] if records else versions()
    md = table_markdown(rows, mode, vers)
    atomic_write_text(out_dir / "table.md", md)
    atomic_write_text(out_dir / "summary.json",
                      dumps({"mode": mode, "versions": vers, "rows": rows,
                             "seeds": ({programs.entry_label(*e): s for e, s in seeds.items()}
                                       if isinstance(seeds, dict) else seeds)}, indent=1))
    png = plot_curves(records, entries, out_dir / "curves.png")
    page = write_report([out_dir], out_dir, force=force, title="tfrepro reproduce")
    print(md)
    print(f"wrote {out_dir / 'table.md'}, {out_dir / 'summary.json'}"
          + (f", {png}" if png else "") + f", {page} and {len(records)} records in {out_dir / 'runs'}")
    return 0
