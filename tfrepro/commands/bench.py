"""``tfrepro bench``: rewards and speed of a suite on this machine and stack, into one results file."""
from __future__ import annotations

import os

from ..core.errors import UsageError
from ..infra import programs
from ..infra.tfquiet import quiet_tensorflow
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
    p.add_argument("--suite", default="quick", help="quick | full (default: %(default)s)")
    p.add_argument("--programs", nargs="+", metavar="PROGRAM[:VARIANT]",
                   help="only these programs (with the suite's settings)")
    p.add_argument("--seeds", type=argtypes.seed_range, metavar="A..B|N",
                   help="reward seeds: 0..9 (inclusive) or a count N for 0..N-1 (default: the suite's)")
    p.add_argument("--frameworks", nargs="+", choices=programs.FRAMEWORKS, default=list(programs.FRAMEWORKS))
    p.add_argument("--iterations", type=argtypes.positive, metavar="K", help="shorten every training "
                   "program's reward runs to K iterations (quick looks; recorded per run)")
    p.add_argument("--modes", nargs="+", choices=programs.MODES, default=["lockstep"],
                   help="modes of the reward runs (default: lockstep, which runs fast for programs "
                   "without it; book loops are slow: Géron's takes ~13 min per run; the speed "
                   "timings cover --speed-modes)")
    p.add_argument("--speed-modes", nargs="+", choices=programs.MODES, default=list(programs.MODES),
                   metavar="MODE", help="the loops timed, each where the program has it: book, fast, "
                   "lockstep (default: all three)")
    p.add_argument("--speed-iterations", type=argtypes.positive, metavar="K", help="time loops of K "
                   "iterations (quick looks; default: each program's own length, about a second or more)")
    p.add_argument("--no-speed", action="store_true", help="reward runs only")
    p.add_argument("--no-reward", action="store_true", help="speed timings only")
    p.add_argument("--repeats", type=argtypes.positive, help="timed repeats per process of a speed job (default: "
                   "the suite's: quick 2, full 3)")
    p.add_argument("--processes", type=argtypes.processes, help="fresh processes per speed job, each warmed up and "
                   "timed --repeats times; the unit of compare's speed interval (default: the suite's: quick 2, "
                   "full 3)")
    p.add_argument("--workers", type=argtypes.positive, default=min(2, os.cpu_count() or 1),
                   help="worker processes for the reward runs (each takes the next run); speed timings always run "
                   "one at a time (default: %(default)s)")
    argtypes.add_backend_arguments(p, "the runs and timings")
    p.add_argument("--resume", action="store_true", help="continue an interrupted bench: run only "
                   "the jobs its results file lacks")
    p.add_argument("--out-dir", default="results/bench", metavar="DIR", help="default: %(default)s")
    p.add_argument("--out", metavar="FILE.json", help="results file (default: DIR/<machine>_tf<version>_"
                   "<environment>_<commit>.json)")
    return p


def main(args) -> int:
    from ..infra.benchfile import load_results, summary_table
    from ..tools.bench import SUITES, bench

    if args.suite not in SUITES:
        raise UsageError(f"unknown suite {args.suite!r} (choose from: {', '.join(SUITES)})")
    if args.no_speed and args.no_reward:
        raise UsageError("--no-speed and --no-reward leave nothing to run")
    if args.programs:
        for entry in args.programs:
            programs.parse_entry(entry)  # validates names and variants
    if args.address and args.backend != "ray":
        raise UsageError("--address applies to --backend ray")
    if args.out:
        argtypes.check_out(args.out)
    quiet_tensorflow()
    path = bench(args.suite, args.programs, args.seeds, args.out_dir, args.workers, args.resume,
                 args.backend, args.address, speed=not args.no_speed, rewards=not args.no_reward,
                 frameworks=args.frameworks, repeats=args.repeats, out=args.out,
                 iterations=args.iterations, modes=args.modes, speed_modes=args.speed_modes,
                 speed_its=args.speed_iterations, processes=args.processes)
    print(summary_table(load_results(path)))
    print(f"wrote {path}")
    return 0
