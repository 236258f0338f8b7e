"""What a cluster buys, on paper: the wall time of ``reproduce --full`` and of 500 seeds per side
on N two-core nodes, from the per-run costs measured in a committed run's records.

    python benchmarks/scale_model.py [--records results/reproduce-full/runs] [--nodes 1 8 32 128]
                                     [--seeds-per-side full 500] [--task-overhead 0.05]

The jobs are the ones the grid makes: a lockstep program's seeds in fixed blocks of 30 (one job
each: a block cannot be split without changing its records), every other run one job. A job
costs the sum of its records' ``wall_s`` (measured on this 2-core machine); each worker pays
``PROCESS_SECONDS`` once (Python and TensorFlow imported) and every task ``--task-overhead``
seconds (Ray's scheduling and the result's trip back). The jobs are placed longest first on
2 N workers (LPT: within 4/3 of the best schedule). The bottleneck is named: the slots (total
work over workers) or the longest job. Prints a Markdown table.
"""
from __future__ import annotations

import argparse
import collections
import heapq
import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def costs(records_dir: Path) -> dict:
    """(program, framework, mode) -> (per-seed wall seconds, seeds per side in the run)."""
    got = collections.defaultdict(list)
    for f in sorted(records_dir.glob("*.json")):
        r = json.loads(f.read_text())
        got[r["program"], r["framework"], r["mode"]].append(float(r["wall_s"]))
    return {k: (statistics.mean(v), len(v)) for k, v in got.items()}


def jobs_for(cost: dict, seeds: int | None, block: int = 30) -> list:
    out = []
    for (prog, fw, mode), (per_seed, n) in cost.items():
        n = seeds or n
        if mode == "lockstep":
            blocks = -(-n // block)
            out += [(prog, fw, per_seed * block)] * blocks  # a block runs whole
        else:
            out += [(prog, fw, per_seed)] * n
    return out


def makespan(jobs, slots: int, process_s: float, task_s: float) -> tuple:
    lanes = [process_s] * slots
    heapq.heapify(lanes)
    for _, _, c in sorted(jobs, key=lambda j: -j[2]):
        heapq.heappush(lanes, heapq.heappop(lanes) + c + task_s)
    work = sum(c + task_s for _, _, c in jobs) / slots + process_s
    longest = max(c for _, _, c in jobs) + task_s + process_s
    return max(lanes), work, longest, max(jobs, key=lambda j: j[2])


def main(argv=None) -> int:
    from tfrepro.infra.grid import PROCESS_SECONDS

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--records", default=str(ROOT / "results" / "reproduce-full" / "runs"))
    p.add_argument("--nodes", type=int, nargs="+", default=[1, 8, 32, 128])
    p.add_argument("--cores", type=int, default=2)
    p.add_argument("--seeds-per-side", nargs="+", default=["full", "500"])
    p.add_argument("--task-overhead", type=float, default=0.05, help="seconds per Ray task (measure it)")
    args = p.parse_args(argv)
    cost = costs(Path(args.records))
    print("| plan | nodes (x%d cores) | work | wall, modelled | bound by |" % args.cores)
    print("|---|---|---|---|---|")
    for plan in args.seeds_per_side:
        seeds = None if plan == "full" else int(plan)
        jobs = jobs_for(cost, seeds)
        total = sum(c for _, _, c in jobs)
        label = "--full (the committed run's seeds)" if seeds is None else f"{seeds} seeds per side"
        for nodes in args.nodes:
            span, work, longest, top = makespan(jobs, nodes * args.cores, PROCESS_SECONDS, args.task_overhead)
            bound = (f"the longest job ({top[0]} {top[1]}, {top[2]:.0f} s)" if longest >= work
                     else f"the workers ({len(jobs)} jobs)")
            print(f"| {label} | {nodes} | {total / 60:.0f} worker-min | {span / 60:.1f} min | {bound} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
