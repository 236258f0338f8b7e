"""Argument types and checks that several subcommands share (argparse ``type=`` functions
raise ``ArgumentTypeError``, which the parser turns into one line and exit code 2)."""
from __future__ import annotations

import argparse
import re
import sys

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


def count(text):
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid count {text!r} (an integer >= 0)") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"invalid count {v} (must be >= 0)")
    return v


def seed_count(text):
    """A number of seeds N (seeds 0..N-1): 1 <= N <= MAX_SEEDS."""
    v = count(text)
    if not 1 <= v <= MAX_SEEDS:
        raise argparse.ArgumentTypeError(f"{v} seeds: give 1 to {MAX_SEEDS}")
    return v


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


def check_out(path, force=False, flag="--out"):
    """The output file, checked before any work starts (``records.check_output``); prints which
    directories writing it will create."""
    out, created = check_output(path, flag=flag, force=force)
    if created:
        print(f"{flag} {path}: will create {', '.join(created)}", file=sys.stderr)
    return out
