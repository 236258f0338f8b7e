"""The table of a ``legacy --seeds`` summary (and of ``compare`` on two of its folders): what the
command prints and ``table.md`` holds, and what ``tfrepro report`` renders from ``summary.json``.
Nothing here runs a script (``runs`` does)."""
from __future__ import annotations

import numpy as np

PARTED = {
    "never": "every episode both runs played is the same",
    "start": "an episode starts from another state: the environments' seeding or dynamics differ",
    "first": "the first episode starts from the same state and plays otherwise: the initial values, or the "
             "draws of the actions, differ",
    "learning": "after identical episodes, one starts from the same state and plays otherwise: a training "
                "step's numbers differ (float rounding or the algorithm)",
    "unknown": "the runs differ where no start state was recorded",
}


def table_markdown(summary) -> str:
    sides = summary["sides"]
    head = ["| side | script | runs | outcome median [q25, q75] | episodes per run | env steps/s | failed seeds |",
            "|---|---|---|---|---|---|---|"]
    for side, s in sides.items():
        med = "-" if s["median"] is None else f"{s['median']:.2f} [{s['q25']:.2f}, {s['q75']:.2f}]"
        sps = "-" if s["steps_per_s"] is None else f"{s['steps_per_s']:,.0f}"
        head.append(f"| {side} | `{s['script']}` | {s['n']} | {med} | {s['episodes_median'] or '-'} | {sps} | "
                    f"{', '.join(map(str, s['failed_seeds'])) or '-'} |")
    lines = head
    if summary.get("comparison") is not None:
        c = summary["comparison"]
        if summary.get("verdict") is None:
            lines += ["", f"No verdict: {c['reason']}."]
        else:
            lo, hi = c.get("ci_low"), c.get("ci_high")
            ci = f" [{lo:+.2f}, {hi:+.2f}]" if lo is not None else ""
            need = f"; about {c['seeds_needed']} seeds (both sides each) would decide" if c.get("seeds_needed") else ""
            if c.get("collapse"):  # the means of the runs that did not collapse, and the rates
                need = (f"; their means need ~{c['seeds_needed']} seeds per side"
                        if c.get("seeds_needed") else "")
                if c["collapse"].get("seeds_needed"):
                    need += f"; the rates need ~{c['collapse']['seeds_needed']} seeds per side"
            elif summary["verdict"] == "inconclusive" and not c.get("seeds_needed") and c.get("sd") is not None:
                need = (f"; with a seed-to-seed spread of {c['sd']:.4g} no practical number of seeds decides at this "
                        "margin (choose an outcome that spreads less, or a wider --margin)")
            lines += ["", f"Verdict ({summary['new']} - {summary['base']}, {summary['outcome']} outcome): "
                          f"**{summary['verdict']}**, "
                          f"{c.get('diff_mean', float('nan')):+.2f}{ci} at ±{summary['margin']:g} "
                          f"({summary['margin_reason']}), " + (
                              f"paired by seed over {c.get('n_base', 0)} seeds{need}." if c.get("paired", True) else
                              f"the runs that did not collapse ({c.get('n_base', 0)} and {c.get('n_new', 0)}), "
                              f"with the collapse rates{need}.")]
            if c.get("collapse"):
                r = c["collapse"]
                lines += [f"Collapsed (outcome below {c['collapse_below']:g}): {summary['base']} {r['base'][0]}/"
                          f"{r['base'][1]}, {summary['new']} {r['new'][0]}/{r['new'][1]}; the rates are "
                          f"**{r['verdict']}** at ±{r['margin']:g} (Fisher's exact test, TOST on the difference)."]
            if summary.get("unpaired_seeds"):
                lines += [f"Seeds left out of the pairs (run on one side only): "
                          f"{', '.join(map(str, summary['unpaired_seeds']))}."]
        same = summary.get("identical_episodes")
        if same:
            vals = sorted(same.values())
            lines.append(f"Episodes identical to {summary['base']}'s (return and length) before the first difference, "
                         "per seed: "
                         f"median {float(np.median(vals)):g}, from {vals[0]} to {vals[-1]} over {len(vals)} seeds.")
            why = [w for w in (summary.get("parted") or {}).values() if w in PARTED]
            for key in PARTED:
                if why.count(key):
                    lines.append(f"- {why.count(key)} of {len(why)} seeds: {PARTED[key]}.")
        if summary.get("speed_ratio"):
            how = ("two separate invocations, not side by side: it holds between like machines and loads only"
                   if summary.get("compared") else "side by side")
            lines.append(f"Speed: {summary['new']} runs {summary['speed_ratio']:.2f}x {summary['base']}'s environment "
                         f"steps per second (medians, {how})" + (
                             f"; {summary['speed_ratio_stepping']:.2f}x after each run's first step (imports and graph "
                             "building left out)." if summary.get("speed_ratio_stepping") else "."))
    return "\n".join(lines) + "\n"
