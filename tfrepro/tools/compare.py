"""``tfrepro compare BASE NEW``: what changed between two bench results files (another
TensorFlow, another commit, another machine), per program x framework x mode.

Each row answers in four words (``tfrepro.core.verdicts``): ``equivalent``, ``better``,
``worse`` or ``inconclusive``. Reward: two one-sided tests on the difference of mean final
rewards at the program's declared margin (or ``--margin``), the 90% interval of the
difference (Welch and stratified bootstrap), interquartile means and the probability of
improvement with their intervals, and, when inconclusive, the seeds per side that would
decide; programs whose runs can collapse (pg-tang) have their collapse rates compared
apart. Speed: the ratio of training env steps per second (NEW / BASE, above 1 is faster),
each side's processes the unit, with a 95% interval from the spread between processes pooled
over both files (``judge.judge_speed``), judged against a band of ``1 +/- speed_tol``. The
exit code is 1 when a row is worse.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from ..core.stats import median_iqr
from ..core.verdicts import VERDICTS
from ..infra.benchfile import groups, load_results
from ..infra.judge import (
    SPEED_RUN_SD,
    SPEED_RUN_SD_YARDSTICK,
    combine,
    judge_rewards,
    judge_speed,
    process_noise,
    verdict_cell,
)
from ..infra.records import atomic_write_text, dumps, save_figure


@dataclass
class Thresholds:
    alpha: float = 0.05  # reward: level of the one-sided tests (the interval shown is 1 - 2 alpha)
    reward_tol: float = 0.05  # reward margin for programs with none declared: a share of BASE's median
    speed_tol: float = 0.10  # speed: the band [1/(1+tol), 1+tol] of the steps/s ratio
    margins: dict = field(default_factory=dict)  # --margin: {program or "*": reward points}
    # speed: the machine's drift between two benches run apart; None: the measured default, smaller
    # where both files carry the yardstick (SPEED_RUN_SD_YARDSTICK) than where they do not (SPEED_RUN_SD)
    speed_run_sd: float | None = None

    def header(self) -> str:
        given = ", ".join(f"{k} {v:g}" for k, v in self.margins.items())
        return (f"reward: TOST at alpha {self.alpha:g} on the difference of means within each program's "
                f"declared margin ({'--margin: ' + given if given else 'see docs/verdicts'}; "
                f"{self.reward_tol:.0%} of BASE's median where none is declared); speed: the 95% "
                f"interval of the steps/s ratio, processes the unit, in the machine's units where both files "
                f"carry its yardstick, drift between benches {self._drift()}, "
                f"against the band 1/{1 + self.speed_tol:g} .. "
                f"{1 + self.speed_tol:g}")

    def _drift(self) -> str:
        if self.speed_run_sd is not None:
            return f"{self.speed_run_sd:g}"
        return f"{SPEED_RUN_SD_YARDSTICK:g} with the yardstick, {SPEED_RUN_SD:g} without"

    def run_sd(self, yardstick: bool) -> float:
        if self.speed_run_sd is not None:
            return self.speed_run_sd
        return SPEED_RUN_SD_YARDSTICK if yardstick else SPEED_RUN_SD


def _env_library(versions) -> str:
    """The environments a run stepped: gym's where gymnasium is absent (the TF 1.15 image)."""
    if versions.get("gymnasium"):
        return f"gymnasium {versions['gymnasium']}"
    return f"gym {versions['gym']}" if versions.get("gym") else "?"


def label(meta, others=()) -> str:
    v = meta.get("versions", {})
    text = f"TF {v.get('tensorflow', '?')}"
    if v.get("keras"):
        text += f" / Keras {v['keras']}"
    if len({_env_library(m.get("versions", {})) for m in others}) > 1:
        text += f" / {_env_library(v)}"
    commits = {m.get("commit") for m in others}
    if len(commits) > 1:
        text += f" @{meta.get('commit', '?')[:7]}"
    machines = {m.get("machine") for m in others}
    if len(machines) > 1:
        text += f" on {meta.get('machine')}"
    return text


def mode_groups(data, mode, label):
    """``groups(data)`` of one mode, each key's mode replaced by ``label``: two modes of one
    program and framework then meet as one row."""
    return {(p, fw, label): g for (p, fw, m), g in groups(data).items() if m == mode}


def _same_run(base, new) -> bool:
    """Whether two results are one bench (the same machine, start and commit): two of its rows
    share the machine's moment, so its drift between runs does not separate them."""
    keys = ("machine", "started", "commit")
    mb, mn = base.get("meta") or {}, new.get("meta") or {}
    return base is new or (all(mb.get(k) is not None for k in keys) and all(mb.get(k) == mn.get(k) for k in keys))


def compare_pair(base, new, th: Thresholds, modes=None) -> list[dict]:
    """Rows of NEW against BASE per program x framework x mode; with ``modes`` (BASE's mode,
    NEW's mode), BASE's rows of the first mode against NEW's rows of the second."""
    if modes:
        tag = f"{modes[1]} vs {modes[0]}"
        gb, gn = mode_groups(base, modes[0], tag), mode_groups(new, modes[1], tag)
    else:
        gb, gn = groups(base), groups(new)
    rows = []
    # the spread between processes of one timing job, pooled over every row of both files
    timed = [g for g in list(gb.values()) + list(gn.values()) if g.get("speed_processes")]
    noise = process_noise([g["speed_processes"] for g in timed])
    measured = [g for g in timed if g.get("speed_machine")]  # the same, in the machine's units
    noise_machine = process_noise([g["speed_processes"] for g in measured], [g["speed_machine"] for g in measured])
    same_run = _same_run(base, new)
    for key in sorted(set(gb) | set(gn)):
        b, n = gb.get(key), gn.get(key)
        row = {"program": key[0], "framework": key[1], "mode": key[2]}
        rb = [v for _, v in sorted(b["reward"])] if b else []
        rn = [v for _, v in sorted(n["reward"])] if n else []
        if rb and rn:
            mb, mn = median_iqr(rb), median_iqr(rn)
            # the same seeds giving the same values: deterministic equality on these seeds, shown
            # beside the verdict (which, over seeds as samples, may still be inconclusive)
            identical = sorted(b["reward"]) == sorted(n["reward"])
            row["reward"] = dict(judge_rewards(key[0], rb, rn, th.alpha, th.margins, th.reward_tol),
                                 base=rb, new=rn, base_median=mb[0], base_q1=mb[1], base_q3=mb[2],
                                 new_median=mn[0], new_q1=mn[1], new_q3=mn[2], identical_per_seed=identical)
        elif rb or rn:
            row["reward"] = {"verdict": "only in " + ("BASE" if rb else "NEW"), "base": rb, "new": rn}
        sb, sn = (b or {}).get("speed"), (n or {}).get("speed")
        if sb and sn:
            # two benches run apart: each process divided by the machine's speed beside it, where both
            # measured it; two rows of one bench share the machine's moment and need no yardstick
            machine = None if same_run or not (b.get("speed_machine") and n.get("speed_machine")) else (
                b["speed_machine"], n["speed_machine"])
            row["speed"] = judge_speed(b["speed_processes"], n["speed_processes"], th.speed_tol,
                                       noise if machine is None else noise_machine, machine=machine,
                                       run_sd=0.0 if same_run else th.run_sd(machine is not None))
            if (b or {}).get("speed_short") or (n or {}).get("speed_short"):  # never a verdict on noise
                row["speed"].update(verdict="inconclusive", reason="a timed loop under 1 s (more --iterations)")
        elif sb or sn:
            row["speed"] = {"verdict": "only in " + ("BASE" if sb else "NEW"), "base": sb, "new": sn}
        row["verdict"] = combine([part["verdict"] for part in (row.get("reward"), row.get("speed"))
                                  if part and part["verdict"] in VERDICTS])
        rows.append(row)
    return rows


def _f(x, spec="+.1f"):
    return "–" if x is None else format(x, spec)


def rows_table(rows) -> list[str]:
    """The comparison table's lines for one NEW against BASE (``compare_pair``'s rows, as
    ``compare.json`` keeps them)."""
    lines = ["| program | framework | mode | reward BASE median [IQR] | reward NEW median [IQR] | "
             "NEW-BASE mean [90% CI] (margin), IQM BASE → NEW, P(NEW better) | reward verdict | steps/s BASE | "
             "steps/s NEW | speed ratio [95% CI] | verdict |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        rw, sp = r.get("reward"), r.get("speed")
        if rw and "diff_mean" in rw:
            rb = f"{rw['base_median']:.1f} [{rw['base_q1']:.1f}, {rw['base_q3']:.1f}]"
            rn = f"{rw['new_median']:.1f} [{rw['new_q1']:.1f}, {rw['new_q3']:.1f}]"
            rd = (f"{rw['diff_mean']:+.1f} [{_f(rw['ci_low'])}, {_f(rw['ci_high'])}] "
                  f"(±{rw['margin']:.3g}), {_f(rw.get('iqm_base'), '.1f')} → {_f(rw.get('iqm_new'), '.1f')}, "
                  f"{_f(rw.get('prob_improvement'), '.2f')}")
            rv = verdict_cell(rw) + (" (identical per seed)" if rw.get("identical_per_seed") else "")
            if rw.get("collapse"):
                c = rw["collapse"]
                rv += (f"; collapsed {c['base'][0]}/{c['base'][1]} vs {c['new'][0]}/{c['new'][1]} "
                       f"({c['verdict']}), the rest {verdict_cell(rw['kept'])}")
        else:
            rb = rn = rd = "–"
            rv = rw["verdict"] if rw else "–"
        if sp and "ratio" in sp:
            sb, sn = f"{sp['base_median']:.0f}", f"{sp['new_median']:.0f}"
            sd = f"{sp['ratio']:.2f} [{sp['ci_low']:.2f}, {sp['ci_high']:.2f}] ({sp['verdict']})"
        else:
            sb = sn = "–"
            sd = sp["verdict"] if sp else "–"
        mark = {"worse": "**worse**", "better": "better"}.get(r["verdict"], r["verdict"])
        lines.append(f"| {r['program']} | {r['framework']} | {r['mode']} | {rb} | {rn} | {rd} | {rv} | "
                     f"{sb} | {sn} | {sd} | {mark} |")
    return lines


def markdown(paths, datas, rows_per_new, th: Thresholds) -> str:
    metas = [d["meta"] for d in datas]
    return labelled_markdown(paths, [label(m, metas) for m in metas], rows_per_new, th)


def labelled_markdown(paths, labels, rows_per_new, th: Thresholds) -> str:
    """The comparison in Markdown from the files' labels (as ``compare.json`` keeps them)."""
    lines = [f"BASE: {labels[0]} ({paths[0]})"]
    lines += [f"NEW: {lab} ({p})" for lab, p in zip(labels[1:], paths[1:])]
    lines += ["", f"Thresholds: {th.header()}.", ""]
    for lab, rows in zip(labels[1:], rows_per_new):
        if len(paths) > 2:
            lines += [f"### {lab} against BASE", ""]
        lines += rows_table(rows)
        lines.append("")
    return "\n".join(lines)


def plot(paths, datas, path, th: Thresholds | None = None, modes=None):
    """Two panels, one marker series per results file (with ``modes``: per mode): reward
    (median and IQR over seeds) and speed relative to the first (median steps/s over the
    first's median, bars from the slowest to the fastest repeat), per program row; the speed
    panel only where there are timings."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metas = [d["meta"] for d in datas]
    names = [label(m, metas) for m in metas]
    if modes:
        tag = f"{modes[1]} vs {modes[0]}"
        grouped = [mode_groups(datas[0], modes[0], tag), mode_groups(datas[-1], modes[1], tag)]
        names = [f"{modes[0]} ({names[0]})", f"{modes[1]} ({names[-1]})"]
        metas = [metas[0], metas[-1]]
    else:
        grouped = [groups(d) for d in datas]
    keys = sorted(set().union(*grouped))
    rkeys = [k for k in keys if any(g.get(k, {}).get("reward") for g in grouped)]
    skeys = [k for k in keys if grouped[0].get(k, {}).get("speed")]
    panels = 2 if skeys else 1
    fig, axes = plt.subplots(1, panels, figsize=(max(8, 0.55 * (len(rkeys) + len(skeys)) + 6), 5), squeeze=False,
                             gridspec_kw={"width_ratios": [max(len(rkeys), 1), max(len(skeys), 1)][:panels]})
    if not skeys:  # no timings: the speed series go to an axis that is not drawn
        axes = [[axes[0][0], fig.add_axes((0, 0, 0, 0), visible=False)]]  # type: ignore[assignment]
    n = len(grouped)
    for i, (g, name) in enumerate(zip(grouped, names)):
        off = (i - (n - 1) / 2) * 0.7 / max(n, 1)
        xs, med, lo, hi = [], [], [], []
        for x, k in enumerate(rkeys):
            vals = [v for _, v in g.get(k, {}).get("reward", [])]
            if vals:
                q1, q2, q3 = np.percentile(vals, [25, 50, 75])
                xs.append(x + off)
                med.append(q2)
                lo.append(q2 - q1)
                hi.append(q3 - q2)
        axes[0][0].errorbar(xs, med, yerr=[lo, hi], fmt="o", capsize=3, label=name)
        xs, med, lo, hi = [], [], [], []
        for x, k in enumerate(skeys):
            sp, ref = g.get(k, {}).get("speed"), grouped[0][k]["speed"]
            if sp:
                base = float(np.median(ref))
                q = float(np.median(sp)) / base
                xs.append(x + off)
                med.append(q)
                lo.append(q - min(sp) / base)
                hi.append(max(sp) / base - q)
        axes[0][1].errorbar(xs, med, yerr=[lo, hi], fmt="o", capsize=3, label=name)
    axes[0][1].axhline(1.0, color="grey", lw=0.8)
    if th is not None:
        axes[0][1].axhspan(1 / (1 + th.speed_tol), 1 + th.speed_tol, color="grey", alpha=0.12,
                           label=f"±{th.speed_tol:.0%} (speed-tol)")
    for ax, ks, title, ylabel in ((axes[0][0], rkeys, "reward (median, IQR over seeds)", "evaluation mean"),
                                  (axes[0][1], skeys, "speed against the first (median, min-max over repeats)",
                                   f"steps/s ÷ {names[0]}'s median"))[:panels]:
        ax.set_xticks(range(len(ks)))
        ax.set_xticklabels([f"{p}\n{fw} {mode}" for p, fw, mode in ks], fontsize=7, rotation=45, ha="right")
        ax.set_title(title, fontsize=10)
        ax.set_ylabel(ylabel, fontsize=8)
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=7)

    with warnings.catch_warnings():  # the hidden placeholder panel (no speed rows) is not laid out
        warnings.filterwarnings("ignore", "This figure includes Axes that are not compatible", UserWarning)
        fig.tight_layout()
    return save_figure(fig, path)


def compare(paths, th: Thresholds, md_path=None, png_path=None, json_path=None, modes=None):
    """Compare every file after the first with the first (with ``modes``: the first's rows of
    mode ``modes[0]`` with the others' of ``modes[1]``). Returns (rows per NEW, markdown)."""

    datas = [load_results(p) for p in paths]
    for p, d in zip(paths, datas):
        if not d["results"]:
            from ..core.errors import UsageError

            raise UsageError(f"{p}: no results in it (an empty or just-started bench)")
    named = {k for d in datas for r in d["results"] for k in (r["program"], r["program"].split(":")[0])}
    unknown = sorted(k for k in th.margins if k != "*" and k not in named)
    if unknown:
        from ..core.errors import UsageError

        raise UsageError(f"--margin {unknown[0]}={th.margins[unknown[0]]:g}: no program {unknown[0]!r} in these "
                         f"files (they hold: {', '.join(sorted(named))[:200]})")
    rows_per_new = [compare_pair(datas[0], d, th, modes) for d in datas[1:]]
    if modes and not any(r["verdict"] in VERDICTS for rows in rows_per_new for r in rows):
        from ..core.errors import UsageError

        raise UsageError(f"--modes {modes[0]} {modes[1]}: no program has {modes[0]} rows in BASE and "
                         f"{modes[1]} rows in NEW to compare")
    md = markdown([str(p) for p in paths], datas, rows_per_new, th)
    if md_path:
        atomic_write_text(md_path, md + "\n")
    if png_path:
        plot(paths, datas, png_path, th, modes)
    if json_path:
        atomic_write_text(json_path, dumps({"files": [str(p) for p in paths],
                                                 "labels": [label(d["meta"], [x["meta"] for x in datas])
                                                            for d in datas],
                                                 "thresholds": th.__dict__, "modes": modes,
                                                 "comparisons": rows_per_new},
                                                indent=1) + "\n")
    return rows_per_new, md
