"""``tfrepro reproduce``: every program, both forms, several seeds; table and curves."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..core.settings import setting
from ..infra import programs
from ..infra.grid import plot_curves, run_grid
from ..infra.judge import seeds_to_decide
from ..infra.summary import summarise, table_markdown  # noqa: F401 (public here too)
from ..infra.records import atomic_write_text, dumps, read_json



@dataclass
class ReproduceSettings:
    """What ``tfrepro reproduce`` runs: one field per option, its help the option's."""
    mode: str = setting("lockstep", "lockstep: the seeds of a program and form in one process, one batched update "
                        "for all (programs without it run fast); fast: seed after seed, a few per process; "
                        "book: the sources' loops (default: %(default)s)", choices=programs.MODES)
    budget: Optional[float] = setting(None, "spend about this long (10m, 90s, 1h) where seeds settle verdicts: "
                                      "every program's first look (a block of 30 seeds, 6 for dqn-pylessons), "
                                      "then more seeds for the undecided program cheapest to decide, each look "
                                      "read with a group-sequential design so that stopping early is honest (the "
                                      "default, 10m, unless --seeds or --full is given)", kind="duration",
                                      metavar="DURATION")
    spending: str = setting("pocock", "--budget: how the error rate is spent over looks: pocock (evenly, decides "
                            "early) or obf (O'Brien-Fleming: little at early looks) (default: %(default)s)",
                            choices=("pocock", "obf"))
    seeds: Optional[int] = setting(None, "a fixed design: seeds 0..N-1 for every program, the verdict read once",
                                   kind="seed_count", metavar="N")
    full: bool = setting(False, "seeds per program from the power calculation: as many per side as the verdict "
                         "of an earlier reproduction (--plan-from) asks for at the declared margin, at least "
                         "--seeds (default 30), at most --max-seeds", action="store_true")
    plan_from: Optional[str] = setting(None, "--full: the summary.json whose spreads set the seed counts "
                                       "(default: results/reproduce/summary.json); --budget: the one whose "
                                       "per-seed spreads, blind to the difference, order the programs before "
                                       "their first look, so that a program the budget cannot decide does not "
                                       "take its time (default: this checkout's results/reproduce-full/"
                                       "summary.json, when there)", metavar="SUMMARY")
    max_seeds: int = setting(300, "--full and --budget: at most this many seeds per side (default: %(default)s)",
                             kind="seed_count")
    entries: Optional[list] = setting(None, "subset (default: all; dqn-meertens runs its exercises variant "
                                      "unless given as dqn-meertens:book)", nargs="+", metavar="PROGRAM[:VARIANT]",
                                      flag="--programs")
    iterations: Optional[int] = setting(None, "override every training program's iterations (for quick looks)",
                                        kind="count", metavar="K")
    workers: int = setting(min(2, os.cpu_count() or 1), "processes at once, each fresh (default: %(default)s)",
                           kind="positive")
    out_dir: Optional[str] = setting(None, "where records, table, plot and index.html go (default: a new folder "
                                     "results/reproduce-DATE-TIME, with --full results/reproduce-full-DATE-TIME; "
                                     "a folder holding an earlier run needs --resume or --force)", metavar="DIR")
    resume: bool = setting(False, "reuse the records already in DIR/runs for the same runs (program, variant, "
                           "form, mode, seed, length) and run only the missing; with every record there, the "
                           "table is rebuilt without training", action="store_true")
    force: bool = setting(False, "write into an --out-dir that holds an earlier run's results, over them",
                          action="store_true")
    margin: Optional[list] = setting(None, "equivalence margin of the verdict column, in reward points (default: "
                                     "each program's declared margin)", kind="margin", action="append",
                                     metavar="[PROGRAM=]POINTS")

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
