"""``tfrepro bench``: rewards and speed of a suite on this machine and stack, into one results file."""
from __future__ import annotations

from ..core.errors import UsageError
from ..infra import programs
from ..infra.tfquiet import quiet_tensorflow
from ..tools.bench import BenchSettings
from . import argtypes


def add_parser(sub):
    p = sub.add_parser("bench", help="rewards and speed of the suite, into one results file",
                       description="Run a suite over programs x frameworks x modes x seeds: reward "
                       "runs (lockstep mode where the program has it, else fast; every seed) and speed "
                       "timings (book, fast and lockstep loops, or those of --speed-modes; warm-up "
                       "excluded, repeated, each alone in a fresh process), into one JSON results "
                       "file per (machine, environment, commit) under --out-dir, rewritten "
                       "atomically after every finished job. `tfrepro compare` reads two of them.",
                       epilog="Suites: quick = pg-tang, pg-geron, imitation-policy over 30 seeds + "
                       "speed of pg-tang, pg-geron, dqn-meertens, dqn-pylessons (2 processes x 2 repeats); full = "
                       "every learning program over 30 seeds (dqn-meertens exercises for 60,000 "
                       "frames, dqn-pylessons evaluated) + the same timings, longer (3 processes x 3 repeats).")
    argtypes.add_settings(p, BenchSettings)
    argtypes.add_backend_arguments(p, "the runs and timings")
    return p


def main(args) -> int:
    from ..infra.benchfile import load_results, summary_table
    from ..tools.bench import SUITES, bench

    s = argtypes.settings_from(args, BenchSettings, backend=args.backend, address=args.address)
    if s.suite not in SUITES:
        raise UsageError(f"unknown suite {s.suite!r} (choose from: {', '.join(SUITES)})")
    if not s.speed and not s.rewards:
        raise UsageError("--no-speed and --no-reward leave nothing to run")
    for entry in s.entries or []:
        programs.parse_entry(entry)  # validates names and variants
    if s.address and s.backend != "ray":
        raise UsageError("--address applies to --backend ray")
    if s.out:
        argtypes.check_out(s.out)
    quiet_tensorflow()
    path = bench(s)
    print(summary_table(load_results(path)))
    print(f"wrote {path}")
    return 0
