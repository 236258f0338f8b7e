"""``tfrepro reproduce``: every program, both forms, several seeds; table and curves."""
from __future__ import annotations

import os
from pathlib import Path

from ..infra import programs
from ..infra.grid import plot_curves, run_grid
from ..infra.judge import seeds_to_decide
from ..infra.summary import summarise, table_markdown  # noqa: F401 (public here too)
from ..infra.records import atomic_write_text, dumps, read_json


def planned_seeds(summary_path: Path, entries, least: int, most: int) -> dict:
    """``reproduce --full``: per entry, the seeds per side its verdict in an earlier
    reproduction (``summary.json``) asks for at the declared margin (for an inconclusive
    row, the power calculation's count, collapse rate included; a decided row keeps its
    seeds), at least ``least`` and at most ``most``: {(name, variant): count}."""
    from ..core.errors import UsageError

    where = f"--full plans from {summary_path}"
    if not os.path.lexists(summary_path):
        raise UsageError(f"{where}: no such file; run `tfrepro reproduce` first, or give --plan-from")
    try:
        data = read_json(summary_path)
    except UsageError as e:
        raise UsageError(f"{where}: {e}") from None
    if not (isinstance(data, dict) and isinstance(data.get("rows"), list)
            and all(isinstance(r, dict) and isinstance(r.get("program"), str) for r in data["rows"])):
        raise UsageError(f"{where}: not a summary of tfrepro reproduce (a list of rows, each with a program)")
    rows = {r["program"]: r for r in data["rows"]}
    plan = {}
    for name, variant in entries:
        label = programs.entry_label(name, variant)
        row = rows.get(label) or {}
        verdict = row.get("tf2_vs_tf1")
        if not isinstance(verdict, dict) or verdict.get("verdict") not in VERDICTS:
            raise UsageError(f"{where}: no verdict for {label} (tf2_vs_tf1.verdict, one of {', '.join(VERDICTS)})")
        sides = [row.get(side, {}).get("seeds") if isinstance(row.get(side), dict) else None for side in ("tf1", "tf2")]
        if not all(isinstance(s, list) for s in sides):
            raise UsageError(f"{where}: {label} has no seeds list for each side (tf1.seeds, tf2.seeds)")
        try:
            need = (seeds_to_decide(verdict) if verdict["verdict"] == "inconclusive" else None) or 0
        except (KeyError, TypeError, AttributeError, ValueError):
            need = None
        if not isinstance(need, int) or isinstance(need, bool) or need < 0:
            raise UsageError(f"{where}: {label}'s seeds needed is not a count ({str(need)[:24]})")
        plan[(name, variant)] = min(most, max(least, need, *(len(s) for s in sides if isinstance(s, list))))
    return plan


VERDICTS = ("equivalent", "inconclusive", "worse", "better")


def sequential_summary(track, workers) -> dict:
    """A budget row's plan and state: its looks, where it stopped and why, and for an undecided
    program the seeds per side a fixed design would need and about how long they would take."""
    from .budget import sequential_need

    out = {"state": track.state, "looks": list(track.looks), "look_size": track.look_size,
           "n_max": track.n_max, "worker_seconds": round(track.seconds, 1)}
    v = track.verdict
    if v is not None:
        out.update(nominal_alpha=v["nominal_alpha"], spending=v["spending"], overall_alpha=v["overall_alpha"])
        if v.get("futile"):
            out["futile"] = v["futile"]
    if track.state != "decided":
        need = sequential_need(v)
        n = track.looks[-1] if track.looks else 0
        out["seeds_needed"] = need
        if need and n and track.seconds:
            out["minutes_needed"] = round(max(0, need - n) * track.seconds / n / max(1, workers) / 60, 1)
        if not track.looks and track.prior is not None:  # left out: what its planning spread asks for
            out["planned_need"] = track.prior if track.prior <= track.n_max else None
            if track.prior_cost is not None:
                out["planned_minutes"] = round(track.prior_cost / max(1, workers) / 60, 1)
    return out


def reproduce(entries, mode, seeds, out_dir: Path, workers=2, iterations=None, margins=None,
              reuse=False, force=False, budget=None, max_seeds=300, spending="pocock", prior=None) -> int:
    """``entries``: (program name, variant or None) pairs, as ``programs.parse_entry`` gives.
    ``seeds``: one list for all, or {(name, variant): list} (``--full``); or ``budget``
    seconds, the seeds chosen look by look (``tools.budget``)."""
    from ..infra.records import versions
    from .report import check_page, write_report

    check_page(out_dir, force)  # an index.html there that this package did not write: refuse before training
    tracks = None
    if budget is not None:
        from .budget import run_budget

        records, tracks = run_budget(entries, mode, out_dir, budget, workers, iterations, margins, max_seeds,
                                     spending, reuse=reuse, prior=prior)
        seeds = {(t.name, t.variant): list(range(t.looks[-1] if t.looks else 0)) for t in tracks}
    else:
        records = run_grid(entries, mode, seeds, out_dir, workers=workers, iterations=iterations, reuse=reuse)
    rows = summarise(records, entries, margins)
    if tracks is not None:
        for row, track in zip(rows, tracks):
            row["sequential"] = sequential_summary(track, workers)
            if track.verdict is not None:
                row["tf2_vs_tf1"] = track.verdict
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
