"""Ray's overhead against the local pool, side by side: the same ``reproduce`` run on the local
pool and on a local Ray (``--backend ray``, the same number of workers), alternated A B B A ...
so that a drift of the machine falls on both, and the ratio Ray / local of wall times per pair.

    python benchmarks/ray_overhead.py [--pairs 2] [--seeds 30] [--programs basic-policy ...]
                                      [--out results/ray-overhead]

Each run is a fresh ``tfrepro reproduce --seeds N --programs ... --workers 2`` into a new folder
(timed whole: start-up, the runs, the table); both runs' tables must agree. Writes OUT/overhead.json
and OUT/overhead.md (atomically).
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
QUICK = ["basic-policy", "random-policy", "imitation-policy", "pg-geron", "pg-tang"]


def main(argv=None) -> int:
    from tfrepro.infra import provenance
    from tfrepro.infra.records import atomic_write_text, cpu_model

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pairs", type=int, default=2)
    p.add_argument("--seeds", type=int, default=30)
    p.add_argument("--programs", nargs="+", default=QUICK)
    p.add_argument("--out", default=str(ROOT / "results" / "ray-overhead"))
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="ray-overhead-") as tmp:
        for i in range(args.pairs):
            order = ("local", "ray") if i % 2 == 0 else ("ray", "local")
            times, tables = {}, {}
            for backend in order:
                folder = Path(tmp) / f"{backend}-{i}"
                cmd = [sys.executable, "-m", "tfrepro", "reproduce", "--seeds", str(args.seeds), "--workers", "2",
                       "--programs", *args.programs, "--out-dir", str(folder), "--backend", backend]
                t0 = time.perf_counter()
                subprocess.run(cmd, check=True, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                times[backend] = time.perf_counter() - t0
                tables[backend] = (folder / "table.md").read_text()
                shutil.rmtree(folder)
                print(f"pair {i}: {backend} {times[backend]:.1f} s", file=sys.stderr, flush=True)
            rows.append({"pair": i, "order": list(order), "local_s": times["local"], "ray_s": times["ray"],
                         "ratio": times["ray"] / times["local"], "same_table": tables["ray"] == tables["local"]})
    ratios = [r["ratio"] for r in rows]
    summary = {"schema": "tfrepro.ray-overhead/1", "seeds": args.seeds, "programs": args.programs,
               "cpu_model": cpu_model(), "rows": rows, "median_ratio": statistics.median(ratios),
               "min_ratio": min(ratios), "max_ratio": max(ratios)}
    lines = [f"# Ray against the local pool: `reproduce --seeds {args.seeds}` of {', '.join(args.programs)}", "",
             f"{len(rows)} pairs, alternated; 2 workers each; {summary['cpu_model']}. Wall time Ray / local: "
             f"median **{summary['median_ratio']:.3f}** (range {summary['min_ratio']:.3f}-{summary['max_ratio']:.3f}); "
             f"tables identical in {sum(r['same_table'] for r in rows)} of {len(rows)} pairs.", "",
             "| pair | order | local (s) | Ray (s) | Ray / local | same table |", "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['pair']} | {' then '.join(r['order'])} | {r['local_s']:.1f} | {r['ray_s']:.1f} | "
                     f"{r['ratio']:.3f} | {'yes' if r['same_table'] else 'no'} |")
    atomic_write_text(out / "overhead.json", json.dumps(summary, indent=1) + "\n")
    atomic_write_text(out / "overhead.md", "\n".join(lines) + "\n")
    provenance.note(out / "overhead.md")
    print("\n".join(lines))
    return 0 if all(r["same_table"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
