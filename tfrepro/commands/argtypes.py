"""Argument types and checks that several subcommands share (argparse ``type=`` functions
raise ``ArgumentTypeError``, which the parser turns into one line and exit code 2)."""
from __future__ import annotations

import argparse
import re

from ..core.settings import options
from ..infra.records import check_output

SEED_LIMIT = 2**31  # seeds are 0 <= seed < 2**31 (NumPy, TensorFlow and gymnasium all take them)
MAX_SEEDS = 10_000  # seeds in one command: more is a typo, not a plan (a DQN seed takes minutes)


def seed(text):
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid seed {text!r} (an integer >= 0)") from None
    if not 0 <= v < SEED_LIMIT:
        raise argparse.ArgumentTypeError(f"invalid seed {v} (0 <= seed < 2**31)")
    return v


def lockstep_seeds(text):
    """Seeds run at once in lockstep: 0 to 256 (the replay memories of 256 DQN seeds take
    about 350 MB)."""
    v = count(text)
    if v > 256:
        raise argparse.ArgumentTypeError(f"invalid seed count {v} (at most 256 at once)")
    return v


MAX_COUNT = 10**9  # steps, iterations, episodes, repeats: more is a typo (and memory the machine lacks)


def count(text):
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid count {text[:40]!r} (an integer >= 0)") from None
    if not 0 <= v <= MAX_COUNT:
        raise argparse.ArgumentTypeError(f"invalid count {v if abs(v) < 10**12 else str(v)[:12] + '...'} "
                                         f"(0 to {MAX_COUNT:.0e})")
    return v


def processes(text):
    """Fresh processes per timing job: 1 to 100."""
    v = positive(text)
    if v > 100:
        raise argparse.ArgumentTypeError(f"invalid process count {v} (1 to 100)")
    return v


def seed_count(text):
    """A number of seeds N (seeds 0..N-1): 1 <= N <= MAX_SEEDS."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid count {text[:40]!r} (an integer >= 1)") from None
    if not 1 <= v <= MAX_SEEDS:
        raise argparse.ArgumentTypeError(f"{str(v)[:20]} seeds: give 1 to {MAX_SEEDS}")
    return v


def seed_count_or_auto(text):
    return "auto" if text == "auto" else seed_count(text)


def seed_range(text):
    """``A..B`` (inclusive) or ``N`` (0..N-1), at most MAX_SEEDS seeds, each < 2**31."""
    m = re.fullmatch(r"(\d+)\.\.(\d+)|(\d+)", text.strip())
    if not m:
        raise argparse.ArgumentTypeError(f"{text!r}: expected A..B or a count N")
    if m.group(3) is not None:
        return list(range(seed_count(m.group(3))))
    a, b = int(m.group(1)), int(m.group(2))
    if b < a:
        raise argparse.ArgumentTypeError(f"{text!r}: empty range")
    if b >= SEED_LIMIT:
        raise argparse.ArgumentTypeError(f"{text!r}: seeds must be below 2**31")
    if b - a + 1 > MAX_SEEDS:
        raise argparse.ArgumentTypeError(f"{text!r}: {b - a + 1} seeds, at most {MAX_SEEDS}")
    return list(range(a, b + 1))


def tf_version(text):
    if not re.fullmatch(r"2\.\d+(\.\d+)?", text):
        raise argparse.ArgumentTypeError(f"{text!r}: expected a TensorFlow 2 version like 2.16")
    return text


def positive(text):
    v = count(text)
    if v == 0:
        raise argparse.ArgumentTypeError("must be >= 1")
    return v


def margin(text):
    """``--margin POINTS`` (every program) or ``--margin PROGRAM=POINTS``: (key, points > 0)."""
    key, _, value = text.rpartition("=")
    try:
        v = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected POINTS or PROGRAM=POINTS") from None
    if not (v > 0 and v < float("inf")):
        raise argparse.ArgumentTypeError(f"{text!r}: the margin must be a positive number of reward points")
    return key or "*", v


def number(lo=0.0, hi=float("inf"), what="a number"):
    """An argparse type: a finite number in [lo, hi] (NaN, infinities and text refused)."""
    def parse(text):
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r}: expected {what}") from None
        if not (lo <= v <= hi and v < float("inf")):
            raise argparse.ArgumentTypeError(f"{text!r}: expected {what} (finite, {lo:g} to {hi:g})")
        return v

    return parse


def alpha(text):
    """A test level in (0, 0.5): the interval shown is 1 - 2 alpha."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a number in (0, 0.5)") from None
    if not 0 < v < 0.5:
        raise argparse.ArgumentTypeError(f"{text!r}: must be in (0, 0.5)")
    return v


def add_backend_arguments(p, what="the runs"):
    """--backend local|ray and --address: where a command's pool runs its jobs."""
    p.add_argument("--backend", choices=("local", "ray"), default="local",
                   help=f"where {what} run: local, worker processes on this machine; ray, Ray tasks on a "
                   "cluster (--address) or on a local Ray started for the command; the same records either "
                   "way, written only here (default: %(default)s; docs/scale.md)")
    p.add_argument("--address", metavar="HOST:PORT", help="--backend ray: the cluster's head (ray start --head), "
                   "or auto (default: start a local Ray)")


def use_backend(args) -> None:
    """The command's --backend and --address, checked (one line if the cluster cannot be
    reached) and set for every pool call of the command."""
    from ..core.errors import UsageError
    from ..infra.pool import use_backend as set_backend

    if getattr(args, "address", None) and getattr(args, "backend", "local") != "ray":
        raise UsageError("--address applies to --backend ray")
    set_backend(getattr(args, "backend", "local"), getattr(args, "address", None))


def add_verdict_arguments(p):
    """--alpha, --margin, --reward-tol, --speed-tol: what compare and matrix judge rows by."""
    p.add_argument("--alpha", type=alpha, default=0.05, help="level of the one-sided tests; the interval "
                   "shown is 1 - 2 ALPHA (default: %(default)s)")
    p.add_argument("--margin", type=margin, action="append", metavar="[PROGRAM=]POINTS",
                   help="equivalence margin in reward points, for every program or one (repeatable); "
                   "default: each program's declared margin (docs/verdicts.md)")
    share = number(0, 10, "a share")
    p.add_argument("--reward-tol", type=share, default=0.05, help="margin for programs with none declared, "
                   "as a share of BASE's median (default: %(default)s)")
    p.add_argument("--speed-tol", type=share, default=0.10, help="speed: equivalent when the whole 95%% "
                   "interval of the steps/s ratio lies inside 1/(1+TOL) .. 1+TOL, worse/better when it "
                   "lies wholly below/above (default: %(default)s)")
    from ..infra.judge import SPEED_RUN_SD, SPEED_RUN_SD_YARDSTICK

    p.add_argument("--speed-run-sd", type=number(0, 5, "a standard deviation of log steps/s"), default=None,
                   help="speed: how much the machine drifts between two benches run apart (sd of log steps/s; "
                   f"default: {SPEED_RUN_SD_YARDSTICK:g} where both files carry the machine's yardstick, "
                   f"{SPEED_RUN_SD:g} where one does not, measured on the 2-core development machine by "
                   "benchmarks/speed_aa.py; measure yours the same way; 0 on a machine that does not drift)")


def thresholds(args):
    """The Thresholds of --alpha, --margin, --reward-tol and --speed-tol."""
    from ..core.errors import UsageError
    from ..tools.compare import Thresholds

    if not 0 <= args.reward_tol < float("inf") or not 0 <= args.speed_tol < float("inf"):
        raise UsageError("--reward-tol and --speed-tol must be finite numbers >= 0")
    return Thresholds(args.alpha, args.reward_tol, args.speed_tol, dict(args.margin or []), args.speed_run_sd)


def check_out(path, force=False, flag="--out"):
    """The output file, checked before any work starts (``records.check_output``); prints which
    directories writing it will create."""
    out, created = check_output(path, flag=flag, force=force)
    if created:
        print(f"{flag} {path}: will create {', '.join(created)}")
    return out


def duration(text):
    """A time budget: 10m, 90s, 1h or seconds."""
    from ..tools.budget import parse_budget

    return parse_budget(text)


def add_settings(p, cls) -> None:
    """One option per command-line field of the settings dataclass ``cls``
    (``tfrepro.core.settings``): its flag, default, help and argparse keywords, its value read
    by this module's parser named ``kind``. A ``store_false`` field's flag turns it off."""
    for name, flag, default, meta in options(cls):
        kw = dict(meta["argparse"])
        if meta["kind"]:
            kw["type"] = globals()[meta["kind"]]
        if kw.get("action") in ("store_true", "store_false"):
            p.add_argument(flag, dest=name, help=meta["help"], **kw)
        else:
            p.add_argument(flag, dest=name, default=default, help=meta["help"], **kw)


def settings_from(args, cls, **given):
    """The settings dataclass ``cls`` from parsed arguments (``add_settings``); ``given``
    sets fields that are not options."""
    values = {name: getattr(args, name) for name, _, _, _ in options(cls)}
    return cls(**values, **given)
