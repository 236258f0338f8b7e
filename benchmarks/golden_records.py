"""Golden records: every built-in program in every form and mode, run short on fixed seeds,
each run's returns, losses and final weights hashed; compared with a committed set, so that a
refactor can show that it changed no number ("behaviour unchanged").

    python benchmarks/golden_records.py --check results/golden-records/records.json
    python benchmarks/golden_records.py --out results/golden-records/records.json   # write

The digests hold on one machine and one set of versions (the file names them): a TensorFlow
upgrade or another CPU changes float rounding, which is what `bench`/`compare` judge. Runs
seeds 0-1 (lockstep 0-2) of each mode with the short lengths below; about 5 minutes on 2 cores.
Exit code 1 when ``--check`` finds a difference, naming each run that differs.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

# Iterations and config overrides: long enough that every program learns (DQNs past their
# first updates), short enough for minutes.
SHORT = {"basic-policy": None, "random-policy": None, "imitation-policy": 20, "pg-tang": 15,
         "pg-geron": 3, "dqn-meertens": 1300, "dqn-pylessons": 3}
OVERRIDES = {"dqn-meertens": {"learn_after": 100, "test_episodes": 2},
             "dqn-pylessons": {"train_start": 64, "test_episodes": 2},
             "pg-tang": {"test_episodes": 2}, "pg-geron": {"eval_episodes": 2}}


def digest(rec: dict) -> str:
    h = hashlib.sha256()
    for k in ("train_returns", "eval_returns", "losses"):
        h.update(json.dumps(rec.get(k), sort_keys=True, default=str).encode())
    for w in rec.get("_weights") or []:
        h.update(np.asarray(w).tobytes())
    return h.hexdigest()[:16]


def records(names) -> dict:
    from tfrepro.infra import programs
    from tfrepro.infra.runner import run_seeds

    out = {}
    for name in names:
        prog = programs.BUILTINS[name]
        for fw in programs.FRAMEWORKS:
            for mode in prog.modes:
                seeds = [0, 1, 2] if mode == "lockstep" else [0, 1]
                recs = run_seeds(name, fw, mode, seeds, iterations=SHORT[name], keep_weights=True,
                                 overrides=OVERRIDES.get(name))
                for s, r in zip(seeds, recs):
                    out[f"{name}/{fw}/{mode}/{s}"] = digest(r)
                    print(f"{name} {fw} {mode} seed {s}: {out[f'{name}/{fw}/{mode}/{s}']}", file=sys.stderr)
    return out


def simd_flags() -> list:
    """The CPU's AVX flags (``/proc/cpuinfo``): two CPUs of one model name may differ in them
    (AVX-512 or not), and TensorFlow's kernels round differently with them."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    except OSError:
        return []
    return sorted(x for x in flags if x.startswith("avx"))


def main(argv=None) -> int:
    from tfrepro.infra import programs
    from tfrepro.infra.records import atomic_write_text, cpu_model, versions

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    what = ap.add_mutually_exclusive_group(required=True)
    what.add_argument("--check", metavar="FILE.json", help="compare with a committed set")
    what.add_argument("--out", metavar="FILE.json", help="write the set")
    ap.add_argument("--programs", nargs="+", default=None, help="only these built-ins")
    args = ap.parse_args(argv)
    if args.out and Path(args.out).exists():  # before minutes of runs, not after
        from tfrepro.infra import provenance

        provenance.guard(Path(args.out), "--out")
    names = args.programs or list(programs.BUILTINS)
    got = records(names)
    env = {k: v for k, v in versions().items() if k in ("tensorflow", "keras", "tf_keras", "numpy", "gymnasium",
                                                         "python", "onednn")}
    env["cpu"] = f"{cpu_model()} ({' '.join(simd_flags()) or 'no AVX'})"
    if args.out:
        from tfrepro.infra import provenance

        path = Path(args.out)
        provenance.guard(path, "--out")  # never over a file this package did not write
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps({"versions": env, "records": got}, indent=1, sort_keys=True) + "\n")
        provenance.note(path)
        print(f"wrote {path}: {len(got)} runs")
        return 0
    want = json.loads(Path(args.check).read_text())
    if want.get("versions") != env:
        other = {k: (want.get("versions", {}).get(k), v) for k, v in env.items()
                 if want.get("versions", {}).get(k) != v}
        print(f"note: written with other versions or on another CPU ({other}, as written -> here): "
              "digests may differ for that reason; write a set at the commit before a change on this "
              "machine (--out) and check against it", file=sys.stderr)
    differ = [k for k in got if want["records"].get(k) != got[k]]
    for k in differ:
        print(f"differs: {k} {want['records'].get(k)} -> {got[k]}")
    print(f"{len(got) - len(differ)} of {len(got)} runs identical")
    return 1 if differ else 0


if __name__ == "__main__":
    from tfrepro.core.errors import UsageError

    try:
        sys.exit(main())
    except UsageError as e:
        sys.exit(f"golden_records: error: {e}")
