"""``tfrepro reproduce``: every program, both forms, several seeds; table and curves."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from . import programs
from .pool import run_each_fresh
from .records import atomic_write_text, write_record
from .stats import compare_samples, median_iqr


def _one(name, variant, framework, mode, seed, iterations):
    """Worker body: one run in a fresh process (TensorFlow state never leaks across runs)."""
    from .cli import quiet_tensorflow
    from .runner import run_program

    quiet_tensorflow()

    prog = programs.get(name)
    its = iterations if (iterations is not None and prog.iterations_field) else None
    return run_program(name, framework, mode, seed, iterations=its, variant=variant)


def run_grid(entries, mode, seeds, out_dir: Path, workers=2, iterations=None, desc="reproduce"):
    """``entries``: (program name, variant or None) pairs."""
    from tqdm import tqdm

    jobs = [(n, v, fw, mode, s, iterations) for n, v in entries for fw in programs.FRAMEWORKS
            for s in seeds]
    records = []
    runs_dir = out_dir / "runs"
    bar = tqdm(total=len(jobs), desc=f"{desc} ({mode})", unit="run", file=sys.stderr)

    def on_done(job, rec):
        name, variant, fw, _, seed, _ = job
        label = programs.entry_label(name, variant).replace(":", "-")
        # each record lands as soon as its run ends: an interrupted grid keeps them
        write_record(runs_dir / f"{label}_{fw}_{mode}_seed{seed}.json", rec)
        records.append(rec)
        bar.set_postfix_str(f"{label} {fw} s{seed}: {rec['eval_mean']:.1f}")
        bar.update()

    try:
        run_each_fresh(_one, jobs, workers, on_done,
                       died="a worker process died (killed?); the records of finished runs are kept")
    finally:
        bar.close()
    return records


def _matches(record, name, variant):
    return record["program"] == name and record.get("variant", "book") == (variant or "book")


def summarise(records, entries):
    rows = []
    for name, variant in entries:
        prog = programs.get(name)
        by_fw = {fw: sorted((r for r in records if _matches(r, name, variant) and r["framework"] == fw),
                            key=lambda r: r["seed"]) for fw in programs.FRAMEWORKS}
        row = {"program": programs.entry_label(name, variant), "source": prog.number_for(variant)}
        for fw, recs in by_fw.items():
            vals = [r["eval_mean"] for r in recs]
            row[fw] = {"seeds": [r["seed"] for r in recs], "eval_means": vals,
                       "median": median_iqr(vals)[0] if vals else None,
                       "q1": median_iqr(vals)[1] if vals else None,
                       "q3": median_iqr(vals)[2] if vals else None,
                       "train_wall_s_median": float(np.median([r["train_wall_s"] for r in recs])) if recs else None}
        if by_fw["tf1"] and by_fw["tf2"]:
            row["tf2_vs_tf1"] = compare_samples(row["tf1"]["eval_means"], row["tf2"]["eval_means"])
        rows.append(row)
    return rows


def table_markdown(rows, mode, versions) -> str:
    lines = ["| program | source's number | TF1 median [IQR] | TF2 median [IQR] | seeds | "
             "TF2−TF1 mean diff [95% CI], Mann-Whitney p |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        def cell(fw):
            d = r[fw]
            return "–" if d["median"] is None else f"{d['median']:.1f} [{d['q1']:.1f}, {d['q3']:.1f}]"
        cmp_ = r.get("tf2_vs_tf1")
        c = (f"{cmp_['diff_mean']:+.1f} [{cmp_['ci_low']:+.1f}, {cmp_['ci_high']:+.1f}], "
             f"p={cmp_['mannwhitney_p']:.2f}") if cmp_ else "–"
        lines.append(f"| {r['program']} | {r['source']} | {cell('tf1')} | {cell('tf2')} | "
                     f"{len(r['tf1']['seeds'])}+{len(r['tf2']['seeds'])} | {c} |")
    v = ", ".join(f"{k} {val}" for k, val in versions.items())
    lines.append("")
    lines.append(f"Mode `{mode}`; per seed, the mean evaluation return; {v}.")
    return "\n".join(lines) + "\n"


def learning_curve(record, points: int = 50):
    """Mean training return per iteration, smoothed by a moving average."""
    r = np.asarray(record["train_returns"], float)
    k = max(1, record.get("episodes_per_iteration", 1))
    per_it = r[: len(r) // k * k].reshape(-1, k).mean(axis=1)
    w = max(1, len(per_it) // points)
    if w > 1:
        per_it = np.convolve(per_it, np.ones(w) / w, mode="valid")
    return per_it


def plot_curves(records, entries, path: Path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    trained = [(n, v) for n, v in entries if any(_matches(r, n, v) and r["train_returns"] for r in records)]
    if not trained:
        return None
    fig, axes = plt.subplots(1, len(trained), figsize=(5 * len(trained), 3.8), squeeze=False)
    for ax, (name, variant) in zip(axes[0], trained):
        for fw, colour in (("tf1", "tab:blue"), ("tf2", "tab:orange")):
            curves = [learning_curve(r) for r in records
                      if _matches(r, name, variant) and r["framework"] == fw and r["train_returns"]]
            if not curves:
                continue
            n = min(map(len, curves))
            c = np.stack([x[:n] for x in curves])
            q1, med, q3 = np.percentile(c, [25, 50, 75], axis=0)
            x = np.arange(n)
            ax.plot(x, med, color=colour, label=f"{fw} median ({len(curves)} seeds)")
            ax.fill_between(x, q1, q3, color=colour, alpha=0.25, label=f"{fw} IQR")
        ax.set_title(programs.entry_label(name, variant))
        ax.set_xlabel("iteration (smoothed)" if programs.get(name).iterations_field != "frames"
                      else "episode (smoothed)")
        ax.set_ylabel("training return")
        ax.legend(fontsize=8)
    fig.tight_layout()
    from .records import save_figure

    return save_figure(fig, path)


def reproduce(entries, mode, seeds, out_dir: Path, workers=2, iterations=None) -> int:
    """``entries``: (program name, variant or None) pairs, as ``programs.parse_entry`` gives."""
    from .records import versions

    records = run_grid(entries, mode, seeds, out_dir, workers=workers, iterations=iterations)
    rows = summarise(records, entries)
    vers = records[0]["versions"] if records else versions()
    md = table_markdown(rows, mode, vers)
    atomic_write_text(out_dir / "table.md", md)
    atomic_write_text(out_dir / "summary.json",
                      json.dumps({"mode": mode, "seeds": seeds, "versions": vers, "rows": rows}, indent=1))
    png = plot_curves(records, entries, out_dir / "curves.png")
    print(md)
    print(f"wrote {out_dir / 'table.md'}, {out_dir / 'summary.json'}"
          + (f", {png}" if png else "") + f" and {len(records)} records in {out_dir / 'runs'}")
    return 0
