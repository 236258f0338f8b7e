"""The A/A check of speed verdicts: the same build benched 2N times on a quiet machine, one bench
after another, and bench i compared with bench i + N (N pairs) by ``compare``'s own judge. A
speed verdict of ``worse`` or ``better`` in any pair is a false alarm: the interval did not
account for the noise it claims to. Also measures the spread between fresh processes of one
timing job, pooled over every row of every bench: the floor ``judge.SPEED_PROCESS_SD`` that a
file timed once per job is judged with.

    python benchmarks/speed_aa.py [--pairs 10] [--out results/speed-aa]
                                  [--programs pg-tang pg-geron] [--speed-modes fast lockstep]
                                  [--processes 2] [--repeats 2] [--report-only]

Each bench is ``tfrepro bench --suite quick --no-reward ...`` in a fresh process (the command
a user runs). Writes ``OUT/bench-NN.json`` (the benches), ``OUT/aa.json`` and ``OUT/aa.md``
(per pair and row: the ratio, its 95% interval, the verdict; the counts; the pooled spread),
atomically. Nothing else may run on the machine meanwhile: that is the point of an A/A check.
"""
from __future__ import annotations

import argparse
import collections
import json
import math
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _spreads(datas, yardstick):
    """(sd between processes, its df, the drift between benches beyond it, rows measured), in log
    steps/s, or in log steps per yardstick unit with ``yardstick``."""
    from tfrepro.infra.benchfile import groups
    from tfrepro.infra.judge import process_logs, process_noise

    timed = [g for d in datas for g in groups(d).values() if g.get("speed_processes")]
    sd, df = process_noise([g["speed_processes"] for g in timed],
                           [g["speed_machine"] for g in timed] if yardstick else None)
    # the drift between benches: the spread of a row's bench means beyond what its processes explain
    by_row = collections.defaultdict(list)
    for d in datas:
        for key, g in groups(d).items():
            if g.get("speed_processes"):
                logs = process_logs(g["speed_processes"], g["speed_machine"] if yardstick else None)
                by_row[key].append((sum(logs) / len(logs), len(logs)))
    ss, k_rows = 0.0, 0
    for means in by_row.values():
        if len(means) >= 2:
            m = [x for x, _ in means]
            mu = sum(m) / len(m)
            var = sum((x - mu) ** 2 for x in m) / (len(m) - 1)
            ss += max(0.0, var - sd * sd / means[0][1])
            k_rows += 1
    return sd, df, (math.sqrt(ss / k_rows) if k_rows else float("nan")), k_rows


def _without_yardstick(data):
    out = json.loads(json.dumps(data))
    for r in out["results"]:
        for s in r.get("repeats") or []:
            s.pop("machine_per_s", None)
    return out


def main(argv=None) -> int:
    from tfrepro.infra import provenance
    from tfrepro.infra.benchfile import groups, load_results
    from tfrepro.infra.judge import judge_speed
    from tfrepro.infra.records import atomic_write_text
    from tfrepro.tools.compare import Thresholds, compare_pair

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pairs", type=int, default=10)
    p.add_argument("--out", default="results/speed-aa")
    p.add_argument("--programs", nargs="+", default=["pg-tang", "pg-geron"])
    p.add_argument("--speed-modes", nargs="+", default=["fast", "lockstep"])
    p.add_argument("--processes", type=int, default=2)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--report-only", action="store_true", help="judge the benches already in --out")
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    files = [out / f"bench-{i:02d}.json" for i in range(2 * args.pairs)]
    t0 = time.time()
    for i, path in enumerate(files):
        if path.exists() or args.report_only:
            continue
        cmd = [sys.executable, "-m", "tfrepro", "bench", "--suite", "quick", "--no-reward",
               "--programs", *args.programs, "--speed-modes", *args.speed_modes,
               "--processes", str(args.processes), "--repeats", str(args.repeats), "--out", str(path)]
        print(f"[{time.time() - t0:6.0f} s] bench {i + 1}/{len(files)}", file=sys.stderr, flush=True)
        subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    datas = [load_results(f) for f in files if f.exists()]
    n = len(datas) // 2
    th = Thresholds()
    rows, counts = [], collections.Counter()
    for i in range(n):
        for r in compare_pair(datas[i], datas[i + n], th):
            sp = r["speed"]
            counts[sp["verdict"]] += 1
            rows.append({"pair": [i, i + n], "program": r["program"], "framework": r["framework"],
                         "mode": r["mode"], "ratio": sp["ratio"], "ci": [sp["ci_low"], sp["ci_high"]],
                         "verdict": sp["verdict"], "noise_sd": sp["noise_sd"], "noise_df": sp["noise_df"]})
    sd, df, run_sd, k_rows = _spreads(datas, yardstick=False)
    have_yardstick = bool(datas) and all(g.get("speed_machine") for d in datas for g in groups(d).values()
                                          if g.get("speed_processes"))
    sd_y, df_y, run_sd_y, _ = _spreads(datas, yardstick=True) if have_yardstick else (None, 0, None, 0)
    # the pairs judged on raw steps/s (no yardstick) with the raw drift, where the benches carry one
    raw = collections.Counter()
    if have_yardstick:
        bare = [_without_yardstick(d) for d in datas]
        raw = collections.Counter(r["speed"]["verdict"] for i in range(n)
                                  for r in compare_pair(bare[i], bare[i + n], th))
    # the same pairs judged as if the machine did not drift between benches (run_sd 0)
    no_drift = collections.Counter(r["speed"]["verdict"] for i in range(n)
                                   for r in compare_pair(datas[i], datas[i + n], Thresholds(speed_run_sd=0.0)))
    # side by side: in every bench, its first round of processes against its second (one moment, no drift)
    side, side_y = collections.Counter(), collections.Counter()
    for d in datas:
        for g in groups(d).values():
            procs = g.get("speed_processes") or []
            if len(procs) >= 2:
                half = len(procs) // 2
                side[judge_speed(procs[:half], procs[half:2 * half], th.speed_tol, noise=(sd, df),
                                 run_sd=0.0)["verdict"]] += 1
                if have_yardstick:
                    m = g["speed_machine"]
                    side_y[judge_speed(procs[:half], procs[half:2 * half], th.speed_tol, noise=(sd_y, df_y),
                                       run_sd=0.0, machine=(m[:half], m[half:2 * half]))["verdict"]] += 1
    # the same pairs judged as files of one process per job would be: each process alone
    single = collections.Counter()
    for i in range(n):
        gb, gn = groups(datas[i]), groups(datas[i + n])
        for key in set(gb) & set(gn):
            for pb, pn in zip(gb[key]["speed_processes"], gn[key]["speed_processes"]):
                single[judge_speed(pb, pn, th.speed_tol, noise=(0.0, 0))["verdict"]] += 1
    summary = {"schema": "tfrepro.speed-aa/1", "pairs": n, "benches": [f.name for f in files if f.exists()],
               "programs": args.programs, "speed_modes": args.speed_modes, "processes": args.processes,
               "repeats": args.repeats, "verdicts": dict(counts), "false_alarms": counts["worse"] + counts["better"],
               "process_sd": sd, "process_df": df, "run_sd": run_sd, "single_process_verdicts": dict(single),
               "yardstick": have_yardstick, "process_sd_yardstick": sd_y, "process_df_yardstick": df_y,
               "run_sd_yardstick": run_sd_y, "raw_verdicts": dict(raw), "side_by_side_yardstick": dict(side_y),
               "verdicts_without_drift": dict(no_drift), "side_by_side_verdicts": dict(side),
               "versions": datas[0]["meta"].get("versions") if datas else None,
               "cpu_model": datas[0]["meta"].get("cpu_model") if datas else None, "rows": rows}
    lines = [f"# Speed A/A: the same build benched {2 * n} times, bench i against bench i + {n}", "",
             f"`python benchmarks/speed_aa.py --pairs {n} --speed-modes {' '.join(args.speed_modes)}`: "
             f"{', '.join(args.programs)}; loops "
             f"{', '.join(args.speed_modes)}; {args.processes} processes x {args.repeats} repeats per timing; "
             f"{summary['cpu_model']}.", "",
             f"Verdicts over {len(rows)} rows: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
             + f"; false alarms (worse or better): **{summary['false_alarms']}**.", "",
             f"Spread between fresh processes of one timing job (sd of log steps/s, pooled): "
             f"**{sd:.4f}** over {df} degrees of freedom; drift between benches beyond it (sd of log steps/s): "
             f"**{run_sd:.4f}** ({k_rows} rows). Judged one process against one, with the floors: "
             + ", ".join(f"{k} {v}" for k, v in sorted(single.items())) + ". The same pairs judged as if the "
             "machine did not drift (--speed-run-sd 0): "
             + ", ".join(f"{k} {v}" for k, v in sorted(no_drift.items())) + ". Side by side (in each bench, "
             "its first round of processes against its second, no drift term): "
             + ", ".join(f"{k} {v}" for k, v in sorted(side.items())) + ".", "",
             *([f"With the machine's yardstick (each process's steps/s over the yardstick measured beside "
                f"it, infra/yardstick.py): spread between processes **{sd_y:.4f}** over {df_y} degrees of "
                f"freedom, drift between benches beyond it **{run_sd_y:.4f}**. The verdicts above use it; "
                "the same pairs on raw steps/s with the raw drift: "
                + ", ".join(f"{k} {v}" for k, v in sorted(raw.items())) + "; side by side with the yardstick: "
                + ", ".join(f"{k} {v}" for k, v in sorted(side_y.items())) + ".", ""] if have_yardstick else []),
             "| pair | program | framework | mode | ratio [95% CI] | verdict |", "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['pair'][0]}-{r['pair'][1]} | {r['program']} | {r['framework']} | {r['mode']} | "
                     f"{r['ratio']:.3f} [{r['ci'][0]:.3f}, {r['ci'][1]:.3f}] | {r['verdict']} |")
    for name, text in (("aa.json", json.dumps(summary, indent=1) + "\n"), ("aa.md", "\n".join(lines) + "\n")):
        atomic_write_text(out / name, text)
    provenance.note(out / "aa.md")
    print("\n".join(lines[:8]))
    return 0 if not math.isnan(sd) else 1


if __name__ == "__main__":
    sys.exit(main())
