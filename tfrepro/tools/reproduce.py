"""``tfrepro reproduce``: every program, both forms, several seeds; table and curves."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core.stats import median_iqr
from ..core.verdicts import iqm
from ..infra import programs
from ..infra.judge import judge_rewards, seeds_to_decide, verdict_cell
from ..infra.grid import matches, plot_curves, run_grid
from ..infra.records import atomic_write_text, dumps


def summarise(records, entries, margins=None):
    """One row per program: each form's per-seed rewards, median and IQR, IQM, and the verdict
    of TF2 against TF1 at the program's declared margin (``infra.judge``)."""
    rows = []
    for name, variant in entries:
        prog = programs.get(name)
        by_fw = {fw: sorted((r for r in records if matches(r, name, variant) and r["framework"] == fw),
                            key=lambda r: r["seed"]) for fw in programs.FRAMEWORKS}
        row = {"program": programs.entry_label(name, variant), "source": prog.number_for(variant)}
        for fw, recs in by_fw.items():
            vals = [r["eval_mean"] for r in recs]
            row[fw] = {"seeds": [r["seed"] for r in recs], "eval_means": vals,
                       "median": median_iqr(vals)[0] if vals else None,
                       "q1": median_iqr(vals)[1] if vals else None,
                       "q3": median_iqr(vals)[2] if vals else None,
                       "iqm": float(iqm(vals)) if vals else None,
                       "train_wall_s_median": float(np.median([r["train_wall_s"] for r in recs])) if recs else None}
        if by_fw["tf1"] and by_fw["tf2"]:
            row["tf2_vs_tf1"] = judge_rewards(row["program"], row["tf1"]["eval_means"], row["tf2"]["eval_means"],
                                              margins=margins)
        rows.append(row)
    return rows


def table_markdown(rows, mode, versions) -> str:
    lines = ["| program | source's number | TF1 median [IQR] | TF2 median [IQR] | seeds | "
             "IQM TF1 / TF2, P(TF2 better) | TF2−TF1 mean [90% CI] (margin) | verdict |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        def cell(fw):
            d = r[fw]
            return "–" if d["median"] is None else f"{d['median']:.1f} [{d['q1']:.1f}, {d['q3']:.1f}]"
        cmp_ = r.get("tf2_vs_tf1")
        if cmp_ and cmp_.get("ci_low") is not None:
            c = f"{cmp_['diff_mean']:+.1f} [{cmp_['ci_low']:+.1f}, {cmp_['ci_high']:+.1f}] (±{cmp_['margin']:.3g})"
            q = f"{cmp_['iqm_base']:.1f} / {cmp_['iqm_new']:.1f}, {cmp_['prob_improvement']:.2f}"
        else:
            c = q = "–"
        v = verdict_cell(cmp_) if cmp_ else "–"
        if cmp_ and cmp_.get("collapse"):
            k = cmp_["collapse"]
            v += (f"; collapsed TF1 {k['base'][0]}/{k['base'][1]}, TF2 {k['new'][0]}/{k['new'][1]} "
                  f"({k['verdict']}); the rest: {verdict_cell(cmp_['kept'])}")
        lines.append(f"| {r['program']} | {r['source']} | {cell('tf1')} | {cell('tf2')} | "
                     f"{len(r['tf1']['seeds'])}+{len(r['tf2']['seeds'])} | {q} | {c} | {v} |")
    vers = ", ".join(f"{k} {val}" for k, val in versions.items())
    lines.append("")
    if mode == "lockstep":
        lock = [r["program"] for r in rows if "lockstep" in programs.get(r["program"].split(":")[0]).modes]
        mode = ("`lockstep` (" + ", ".join(lock) + "; `fast` for the others)") if lock else "`fast`"
    else:
        mode = f"`{mode}`"
    lines.append(f"Mode {mode}; per seed, the mean evaluation return. Verdicts: two one-sided tests at "
                 f"each program's declared margin (alpha 0.05, the 90% interval shown); `inconclusive` "
                 f"gives the seeds per side that would decide. {vers}.")
    return "\n".join(lines) + "\n"


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
              reuse=False) -> int:
    """``entries``: (program name, variant or None) pairs, as ``programs.parse_entry`` gives.
    ``seeds``: one list for all, or {(name, variant): list} (``--full``)."""
    from ..infra.records import versions

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
    print(md)
    print(f"wrote {out_dir / 'table.md'}, {out_dir / 'summary.json'}"
          + (f", {png}" if png else "") + f" and {len(records)} records in {out_dir / 'runs'}")
    return 0
