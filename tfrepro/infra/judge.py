"""One verdict per compared row, in the four words of ``tfrepro.core.verdicts``, for every
place that sets two sets of runs against each other: ``compare`` and ``matrix`` (bench
files), ``reproduce``'s table and ``diff --seeds`` (TF1 against TF2), the parity tests.

The margin of a reward row is the program's declared one (``ProgramSpec.margin``,
written beside the source's number), or the one given on the command line; a program without
a declared margin (a user's own, a synthetic file) falls back to a share of BASE's median,
and the row says so. Programs with two outcome modes (``collapse_below``) are judged by
``compare_bimodal``: the collapse rate and the runs that did not collapse, apart.
"""
from __future__ import annotations

import math

import numpy as np

from ..core.verdicts import ALPHA, compare_bimodal, compare_means
from . import programs

SPEED_TOL = 0.10


def margin_of(label, margins=None, fallback_share=0.05, base=None) -> tuple[float, str, float | None, float]:
    """(margin, where it comes from, collapse_below, rate_margin) for a row label
    NAME[:VARIANT][ (K it)]. ``margins``: {program name or "*": points} from --margin."""
    name = label.split(" ")[0].split(":")[0]
    declared = programs.margin_for(label)
    collapse, rate_margin = (declared[2], declared[3]) if declared else (None, 0.10)
    margins = margins or {}
    for key in (label.split(" ")[0], name, "*"):
        if key in margins:
            return float(margins[key]), f"--margin {margins[key]:g}", collapse, rate_margin
    if declared:
        return declared[0], declared[1], collapse, rate_margin
    level = abs(float(np.median(base))) if base is not None and len(base) else 0.0
    return (fallback_share * max(level, 1.0), f"{fallback_share:.0%} of BASE's median (no declared margin)",
            None, rate_margin)


def judge_rewards(label, base, new, alpha=ALPHA, margins=None, fallback_share=0.05, seed=0) -> dict:
    """The reward verdict NEW against BASE (per-seed final rewards) for one row."""
    margin, source, collapse, rate_margin = margin_of(label, margins, fallback_share, base)
    means = compare_means(base, new, margin, alpha, seed=seed)
    out = dict(means, margin_source=source)
    if collapse is not None:
        bi = compare_bimodal(base, new, margin, collapse, rate_margin, alpha, seed=seed)
        out.update(verdict=bi["verdict"], all_runs_verdict=means["verdict"], collapse=bi["collapse"],
                   kept=bi["kept"], collapse_below=collapse)
    return out


# Measured by the A/A benches of results/speed-aa (the same build benched 20 times, one after
# another, on the 2-core development machine; docs/verdicts.md "Speed rows"), as standard
# deviations of log steps/s:
# - between fresh processes of one timing job within one bench (each process's median over its
#   repeats): the floor for a file timed once per job, which cannot measure it itself;
SPEED_PROCESS_SD = 0.13
# - between benches run at different times, beyond what their processes explain: the machine's
#   drift (other work on shared cores, frequency). Two files timed apart differ by it however many
#   processes each has; a file compared with itself (two modes of one bench) does not.
SPEED_RUN_SD = 0.12
# - the same drift left once each process's steps/s is divided by the machine's speed measured
#   beside it (``infra/yardstick.py``), where both files carry that yardstick: 0.042 in the A/A of
#   results/speed-aa-yardstick (20 benches on the same machine under heavy, changing load, where
#   the raw drift was 0.21), rounded up:
SPEED_RUN_SD_YARDSTICK = 0.05


def process_logs(timings, machine=None) -> list:
    """log steps/s per process: ``timings`` is a list of repeats (one process) or a list of
    lists (one per process); each process counts by the median of its repeats. With ``machine``
    (the yardstick beside each repeat, shaped as ``timings``: ``infra/yardstick.py``), each
    process's log median less the log median of its yardstick: its speed in the machine's units."""
    procs = timings if timings and isinstance(timings[0], (list, tuple)) else [timings]
    logs = [math.log(float(np.median(p))) for p in procs if len(p)]
    if machine is None:
        return logs
    ms = machine if machine and isinstance(machine[0], (list, tuple)) else [machine]
    return [x - math.log(float(np.median(m))) for x, m in zip(logs, [m for m in ms if len(m)])]


def process_noise(sides, machines=None) -> tuple[float, int]:
    """(sd, degrees of freedom) of log steps/s between processes of one job, pooled over every
    side of every row that was timed in two processes or more (``sides``: per-process
    timings, as ``process_logs`` takes them; ``machines``: their yardsticks, or None);
    (SPEED_PROCESS_SD, 0) when none was."""
    ss, df = 0.0, 0
    for timings, machine in zip(sides, machines or [None] * len(sides)):
        logs = process_logs(timings, machine)
        if len(logs) >= 2:
            ss += float(np.sum((np.asarray(logs) - np.mean(logs)) ** 2))
            df += len(logs) - 1
    return (math.sqrt(ss / df), df) if df else (SPEED_PROCESS_SD, 0)


def judge_speed(base, new, tol=SPEED_TOL, noise=None, run_sd=SPEED_RUN_SD, machine=None) -> dict:
    """NEW's steps/s over BASE's with a 95% interval, in the same four words: ``equivalent``
    when the whole interval lies inside [1/(1+tol), 1+tol], ``worse`` / ``better`` when it lies
    wholly below / above, else ``inconclusive``.

    The unit is the process: each side is its processes' log medians (``process_logs``), the
    ratio the exponent of the difference of their means, and its interval Student's t with the
    between-process spread ``noise`` = (sd, df) pooled over the compared files
    (``process_noise``); with no process to pool (files timed once per job), the spread is
    the measured floor ``SPEED_PROCESS_SD`` and the interval normal. Two files timed at
    different times also differ by the machine's drift, ``run_sd`` each (default
    ``SPEED_RUN_SD``; 0 for two rows of one bench). Repeats inside one process share its state (its
    allocator, its caches, the machine's moment), so they are not independent measurements and
    never narrow the interval on their own.

    ``machine`` = (BASE's yardsticks, NEW's yardsticks), shaped as the timings: each process's
    speed is then divided by the machine's speed measured beside it (``infra/yardstick.py``),
    the ratio and its interval are in the machine's units, and ``run_sd`` is what drift is left
    after that division (the caller passes ``SPEED_RUN_SD_YARDSTICK``)."""
    from scipy import stats

    mb, mn = machine if machine is not None else (None, None)
    sd, df = noise if noise is not None else process_noise([base, new], [mb, mn])
    if not df:
        sd = SPEED_PROCESS_SD
    lb, ln = process_logs(base, mb), process_logs(new, mn)
    est = float(np.mean(ln) - np.mean(lb))
    run = float(run_sd)
    half = (float(stats.t.ppf(0.975, df)) if df else 1.959964) * math.sqrt(
        sd * sd * (1 / len(lb) + 1 / len(ln)) + 2 * run * run)
    lo, hi = math.exp(est - half), math.exp(est + half)
    band = (1 / (1 + tol), 1 + tol)
    verdict = ("worse" if hi < band[0] else "better" if lo > band[1] else
               "equivalent" if band[0] <= lo and hi <= band[1] else "inconclusive")
    flat = lambda t: [float(x) for p in (t if t and isinstance(t[0], (list, tuple)) else [t]) for x in p]  # noqa: E731
    b, n = flat(base), flat(new)
    out = {"base": b, "new": n, "base_median": float(np.median(b)), "new_median": float(np.median(n)),
           "ratio": math.exp(est), "ci_low": lo, "ci_high": hi, "band": list(band), "verdict": verdict,
           "processes": [len(lb), len(ln)], "noise_sd": sd, "noise_df": df, "run_sd": run,
           "noise_source": f"pooled over {df} degrees of freedom between processes" if df
           else f"the measured floor {SPEED_PROCESS_SD:g} (one process per job)"}
    if machine is not None:
        out.update(yardstick=True, machine_ratio=math.exp(float(np.mean(process_logs(mn)) - np.mean(process_logs(mb)))),
                   raw_ratio=math.exp(float(np.mean(process_logs(new)) - np.mean(process_logs(base)))))
    return out


def combine(verdicts) -> str:
    """A row's verdict from its parts: worse if any part is, better if one is and none is
    worse, equivalent only if every part is, else inconclusive."""
    verdicts = [v for v in verdicts if v]
    if not verdicts:
        return "not compared"
    if "worse" in verdicts:
        return "worse"
    if "better" in verdicts:
        return "better"
    return "equivalent" if all(v == "equivalent" for v in verdicts) else "inconclusive"


def seeds_to_decide(r: dict):
    """The seeds per side an inconclusive reward verdict asks for (None if it says none);
    with a collapse rate apart, both parts must decide: the larger need."""
    need = r.get("seeds_needed")
    if r.get("collapse") is not None:
        need = max(x for x in (r["kept"].get("seeds_needed"), r["collapse"].get("seeds_needed"), 0)
                   if x is not None) or need
    return need


def verdict_cell(r: dict) -> str:
    """Short text of a reward verdict: the word, and for inconclusive the seeds that would
    decide it."""
    v = r["verdict"]
    if v == "inconclusive":
        need = seeds_to_decide(r)
        n = max(r.get("n_base") or 0, r.get("n_new") or 0)
        at = f"inconclusive at {n} seed{'s' if n != 1 else ''}"
        return f"{at}, needs ~{need} per side" if need else at
    return v


def finite(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)
