"""The reproduction table: one row per program from result records (each form's rewards
over seeds, median, IQR, IQM and TF2's verdict against TF1), and its Markdown. Used by
``reproduce``, ``diff --seeds`` and ``report``."""
from __future__ import annotations

import numpy as np

from ..core.stats import median_iqr
from ..core.verdicts import iqm
from . import programs
from .grid import matches
from .judge import judge_rewards, verdict_cell


def _median(values):
    """The median of the numbers among ``values`` (a record's optional fields), else None."""
    xs = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return float(np.median(xs)) if xs else None


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
                       "train_wall_s_median": _median([r.get("train_wall_s") for r in recs])}
        if by_fw["tf1"] and by_fw["tf2"]:
            row["tf2_vs_tf1"] = judge_rewards(row["program"], row["tf1"]["eval_means"], row["tf2"]["eval_means"],
                                              margins=margins)
        rows.append(row)
    return rows


def sequential_cell(seq, cmp_, cell) -> str:
    """A budget row's verdict: the word, the look it came at, or why the program stopped."""
    looks = seq.get("looks") or []
    if not looks:
        if "planned_need" in seq:  # left out by the plan: its spread asks for more than the budget had
            need = seq["planned_need"]
            mins = f", ~{seq['planned_minutes']:g} min here" if seq.get("planned_minutes") is not None else ""
            asks = f"~{need} seeds per side{mins}" if need else f"more than {seq['n_max']} seeds per side"
            return f"not run: its planning spread asks for {asks}, more than the budget had left"
        return "not run: the budget ended before its first look"
    n = looks[-1]
    level = f", nominal alpha {seq['nominal_alpha']:.4f}" if seq.get("nominal_alpha") is not None else ""
    at = f"at look {len(looks)} ({n}+{n} seeds{level})"
    if seq["state"] == "decided" and cmp_:
        return f"{cmp_['verdict']} {at}" + cell[len(cmp_["verdict"]):]
    why = {"futile": "stopped: " + str(seq.get("futile", "")), "spent": f"the plan's {seq['n_max']} seeds spent",
           "out of time": "the budget ended", "waiting": "the budget ended"}.get(seq["state"], seq["state"])
    need = seq.get("seeds_needed")
    more = (f"; a fixed design would need ~{need} per side" + (f", ~{seq['minutes_needed']:g} min more"
                                                                if seq.get("minutes_needed") is not None else "")
            if need else "")
    rest = cell.split(";", 1)[1] if ";" in cell else ""
    return f"inconclusive {at}; {why}{more}" + (f";{rest}" if rest else "")


def table_markdown(rows, mode, versions) -> str:
    lines = ["| program | source's number | TF1 median [IQR] | TF2 median [IQR] | seeds | "
             "IQM TF1 / TF2, P(TF2 better) | TF2−TF1 mean [90% CI] (margin) | verdict |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        def cell(fw, r=r):
            d = r[fw]
            return "–" if d["median"] is None else f"{d['median']:.1f} [{d['q1']:.1f}, {d['q3']:.1f}]"
        cmp_ = r.get("tf2_vs_tf1")
        seq = r.get("sequential")
        if cmp_ and cmp_.get("ci_low") is not None:
            level = f", {1 - 2 * cmp_['alpha']:.1%}" if seq else ""
            c = (f"{cmp_['diff_mean']:+.1f} [{cmp_['ci_low']:+.1f}, {cmp_['ci_high']:+.1f}] "
                 f"(±{cmp_['margin']:.3g}{level})")
            q = f"{cmp_['iqm_base']:.1f} / {cmp_['iqm_new']:.1f}, {cmp_['prob_improvement']:.2f}"
        else:
            c = q = "–"
        v = verdict_cell(cmp_) if cmp_ else "–"
        if cmp_ and cmp_.get("collapse"):
            k = cmp_["collapse"]
            v += (f"; collapsed TF1 {k['base'][0]}/{k['base'][1]}, TF2 {k['new'][0]}/{k['new'][1]} "
                  f"({k['verdict']}); the rest: {verdict_cell(cmp_['kept'])}")
        if seq:
            v = sequential_cell(seq, cmp_, v)
        lines.append(f"| {r['program']} | {r['source']} | {cell('tf1')} | {cell('tf2')} | "
                     f"{len(r['tf1']['seeds'])}+{len(r['tf2']['seeds'])} | {q} | {c} | {v} |")
    vers = ", ".join(f"{k} {val}" for k, val in versions.items())
    lines.append("")
    if mode == "lockstep":
        lock = [r["program"] for r in rows if "lockstep" in programs.get(r["program"].split(":")[0]).modes]
        mode = ("`lockstep` (" + ", ".join(lock) + "; `fast` for the others)") if lock else "`fast`"
    else:
        mode = f"`{mode}`"
    seqs = [r["sequential"] for r in rows if r.get("sequential")]
    if seqs:
        kind = next((q.get("spending") for q in seqs if q.get("spending")), "pocock")
        kind = "Pocock" if kind == "pocock" else "O'Brien-Fleming"
        how = (f"Verdicts: two one-sided tests at each program's declared margin, read look by look "
               f"(group-sequential: {kind}-type alpha spending "
               f"over looks of a seed block each, up to {seqs[0]['n_max']} seeds per side, overall alpha 0.05), "
               f"each row at its last look's nominal level, the interval shown at that level; a program "
               f"stops at its first verdict. `inconclusive` gives the seeds per side a fixed design would need.")
    else:
        how = ("Verdicts: two one-sided tests at each program's declared margin (alpha 0.05, the 90% interval "
               "shown); `inconclusive` gives the seeds per side that would decide.")
    lines.append(f"Mode {mode}; per seed, the mean evaluation return. {how} {vers}.")
    return "\n".join(lines) + "\n"
