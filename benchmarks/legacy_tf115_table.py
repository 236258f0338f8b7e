"""One Markdown table of ``tfrepro legacy --seeds ... --against tf1.15`` folders, for docs/legacy.md.

    python benchmarks/legacy_tf115_table.py results/legacy-tf115/*/

Each row is read from the folder's ``summary.json`` (and its runs' records for the stop), never typed:
the outcomes of both sides, the paired verdict at the folder's margin, the seeds an ``inconclusive``
needs, the episodes identical on both sides before the first difference, why the runs part, and the
speed ratio (today's environment steps per second over TF 1.15's, side by side in one invocation).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

WHY = {"never": "never", "start": "start state", "first": "first episode", "learning": "learning",
       "unknown": "not recorded"}


def row(folder: Path) -> str:
    s = json.loads((folder / "summary.json").read_text())
    base, new = s["base"], s["new"]
    b, n = s["sides"][base], s["sides"][new]
    rec = json.loads(next((folder / "runs").glob(f"{new}-seed*.json")).read_text())
    stop = rec.get("stopped") or "the script's own end"
    stop = stop.split("(")[-1].rstrip(")") if "(" in stop else stop
    c = s.get("comparison") or {}
    if s.get("verdict") is None:
        verdict = f"none: {c.get('reason')}"
    else:
        verdict = f"{s['verdict']}, {c['diff_mean']:+.2f} [{c['ci_low']:+.2f}, {c['ci_high']:+.2f}] at ±{s['margin']:g}"
        if c.get("seeds_needed"):
            verdict += f"; ~{c['seeds_needed']} seeds would decide"
    same = sorted((s.get("identical_episodes") or {}).values())
    same_txt = f"{float(np.median(same)):g} ({same[0]}-{same[-1]})" if same else "-"
    why = list((s.get("parted") or {}).values())
    why_txt = ", ".join(f"{WHY[k]} {why.count(k)}" for k in WHY if why.count(k)) or "-"
    py = b["versions"].get("python", "?")
    speed = f"{s['speed_ratio']:.2f}x" if s.get("speed_ratio") else "-"
    if s.get("speed_ratio_stepping"):
        speed += f"; {s['speed_ratio_stepping']:.2f}x"

    def med(side):
        return "-" if side["median"] is None else f"{side['median']:.2f} [{side['q25']:.2f}, {side['q75']:.2f}]"

    seeds = sorted(int(x) for x in s.get("seeds") or [])
    span = f" ({seeds[0]}-{seeds[-1]})" if seeds else ""
    return (f"| `{b['script']}` | {b['n']}{span} | `{stop}` | Python {py}, gym {b['versions'].get('gym', '?')} | "
            f"{med(b)} | {med(n)} | {verdict} | {same_txt} | {why_txt} | {speed} |")


def main(argv) -> int:
    print("| script | seeds | stop | TF 1.15 side | TF 1.15 outcome median [q25, q75] | today | "
          "verdict (today - TF 1.15, paired) | identical episodes, median (range) | why the runs part (seeds) | "
          "speed (today / TF 1.15): whole runs; after the first step |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for arg in argv:
        print(row(Path(arg)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
