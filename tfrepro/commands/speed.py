"""``tfrepro speed``: book loops timed against fast ones, side by side in one process, as ratios."""
from __future__ import annotations

from ..core.errors import UsageError
from ..infra import programs
from ..infra.tfquiet import quiet_tensorflow
from . import argtypes


def add_parser(sub):
    p = sub.add_parser("speed", help="time book loops against fast ones (and lockstep), as ratios",
                       description="Time the book loop against the fast one (and, where a program "
                       "has it, lockstep over many seeds at once, per seed) for the learning "
                       "programs in both frameworks, side by side in one process, and report "
                       "time per environment step and ratios. Book mode runs a few iterations "
                       "and is scaled by environment steps. The DQNs run a fixed number of "
                       "frames (meertens) or episodes (pylessons) in both modes, learning from "
                       "frame 100 (meertens) or 64 (pylessons) on.")
    p.add_argument("--programs", nargs="+", default=["pg-tang", "pg-geron"], metavar="PROGRAM")
    p.add_argument("--book-iterations", type=argtypes.positive, default=None, metavar="K",
                   help="iterations of the book loop (default: 30 for pg-tang, 3 for pg-geron, "
                   "1500 frames for dqn-meertens, 25 episodes for dqn-pylessons)")
    p.add_argument("--fast-iterations", type=argtypes.positive, default=None, metavar="K",
                   help="iterations of the fast loop (default: the program's full run for the "
                   "REINFORCE programs, 20000 frames / 60 episodes for the DQNs)")
    p.add_argument("--repeats", type=argtypes.positive, default=3, help="repeats of each timing (median)")
    p.add_argument("--seed", type=argtypes.seed, default=0)
    p.add_argument("--lockstep-seeds", type=argtypes.lockstep_seeds, default=30, metavar="K",
                   help="seeds run at once by the lockstep timing (0: skip it; default: %(default)s)")
    p.add_argument("--out", metavar="FILE.json", help="also write the measurements (an existing file "
                   "is replaced only if this package wrote it)")
    p.add_argument("--force", action="store_true", help="replace --out even if this package did not write it")
    return p


def main(args) -> int:
    from ..tools.speed import speed

    for name in args.programs:
        prog = programs.get(name)
        if not prog.timed or not {"book", "fast"} <= set(prog.modes):
            timed = ", ".join(programs.names(lambda p: p.timed and {"book", "fast"} <= set(p.modes)))
            raise UsageError(f"speed times the learning programs with a book and a fast loop ({timed}), not {name}")
    if args.out:
        argtypes.check_out(args.out, force=args.force)
    quiet_tensorflow()
    return speed(args.programs, book_iterations=args.book_iterations,
                 fast_iterations=args.fast_iterations, repeats=args.repeats,
                 seed=args.seed, out=args.out, lockstep_seeds=args.lockstep_seeds)
