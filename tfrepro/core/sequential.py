"""Group-sequential verdicts: the equivalence test read at looks of growing seed counts, with
the error rate spent over the looks, so that stopping at the first look that decides is honest.

A fixed design runs N seeds per side and reads the TOST once at alpha. Reading it after every
batch of seeds and stopping at the first ``equivalent`` would call two forms that differ by
the margin ``equivalent`` more often than alpha (every look is another chance). Here each look
k reads the same tests at a smaller nominal level alpha_k, chosen so that the chance of any
wrong ``equivalent`` over all looks stays at alpha:

* the looks are at information fractions t_k = n_k / n_max (seeds per side so far over the
  most the plan allows);
* an alpha-spending function (Lan & DeMets 1983) says how much of alpha may be spent by t:
  O'Brien-Fleming-like ``alpha(t) = 2 - 2 Phi(z_(1-alpha/2) / sqrt(t))`` (little at early looks,
  almost all of alpha at the last; the default) or Pocock-like ``alpha ln(1 + (e - 1) t)``;
* the one-sided boundary c_k at look k is the z whose crossing, having not crossed before,
  has probability alpha(t_k) - alpha(t_(k-1)) under the null: the z statistics of nested
  samples are a Brownian motion in t, and the crossing probabilities are integrated look by
  look on a grid (the recursion of Armitage, McPherson & Rowe 1969, as in gsDesign);
* each of the two one-sided tests of the TOST (and each test beyond the margin) is read at the
  nominal level alpha_k = 1 - Phi(c_k), i.e. the (1 - 2 alpha_k) interval against the margin.
  TOST is an intersection-union test: each one-sided test at level alpha keeps the whole at
  alpha.

Futility (non-binding: it only stops a program without a verdict, which can never add a wrong
``equivalent``): a look where even the last look's interval, centred on today's difference,
could not fit inside the margin stops the program as ``inconclusive``, with the seeds a fixed
design would need.

The spending adapts to looks taken at any seed counts (a budget decides them), as long as the
counts do not depend on the direction of the difference; ``compat_tests/test_sequential.py``
simulates the whole procedure, budget-driven looks included, on runs of known truth.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

ALPHA = 0.05
SPENDING = ("obf", "pocock")


def spent(t: float, alpha: float = ALPHA, kind: str = "obf") -> float:
    """The alpha spent by information fraction ``t`` (0 < t <= 1; 0 before, alpha at 1 and after)."""
    from scipy.stats import norm

    if t <= 0:
        return 0.0
    t = min(t, 1.0)
    if kind == "obf":
        return float(2 - 2 * norm.cdf(norm.ppf(1 - alpha / 2) / math.sqrt(t)))
    if kind == "pocock":
        return float(alpha * math.log(1 + (math.e - 1) * t))
    raise ValueError(f"unknown spending function {kind!r} (one of {', '.join(SPENDING)})")


@lru_cache(maxsize=4096)
def _boundaries(fractions: tuple, alpha: float, kind: str, step: float) -> tuple:
    from scipy.optimize import brentq
    from scipy.special import ndtr, ndtri

    grid = np.arange(-10.0, 10.0, step) + step / 2  # B-values B = Z sqrt(t); sd <= 1
    out, density, prev_t = [], None, 0.0
    for t in fractions:
        target = spent(t, alpha, kind) - spent(prev_t, alpha, kind)
        dt = t - prev_t
        if density is None:  # the first look: B ~ N(0, t)
            c = float(-ndtri(target)) if target > 0 else math.inf
            b = c * math.sqrt(t)
            density = np.where(grid < b, np.exp(-0.5 * grid * grid / t) / math.sqrt(2 * math.pi * t), 0.0)
        else:
            sd = math.sqrt(dt)

            def crossing(bk, density=density, sd=sd):  # P(no crossing so far, B_k >= bk)
                return float(np.dot(density, ndtr((grid - bk) / sd)) * step)

            b = brentq(lambda bk, target=target: crossing(bk) - target, -10.0, 20.0,
                       xtol=1e-10) if target > 0 else math.inf
            c = b / math.sqrt(t)
            half = int(math.ceil(9 * sd / step))
            x = np.arange(-half, half + 1) * step
            kernel = np.exp(-0.5 * (x / sd) ** 2) / (sd * math.sqrt(2 * math.pi))
            density = np.where(grid < b, np.convolve(density, kernel, mode="same") * step, 0.0)
        out.append(c)
        prev_t = t
    return tuple(out)


def boundaries(fractions, alpha: float = ALPHA, kind: str = "obf", step: float = 0.005) -> list[float]:
    """The one-sided z boundaries c_1..c_K for looks at information fractions
    0 < t_1 < ... < t_K <= 1, each look spending ``spent(t_k) - spent(t_(k-1))``."""
    fr = tuple(float(t) for t in fractions)
    if not fr or any(not 0 < t <= 1 for t in fr) or any(b <= a for a, b in zip(fr, fr[1:])):
        raise ValueError("information fractions must increase within (0, 1]")
    return list(_boundaries(fr, float(alpha), kind, float(step)))


def nominal_alphas(fractions, alpha: float = ALPHA, kind: str = "obf") -> list[float]:
    """Each look's nominal one-sided level, 1 - Phi(c_k)."""
    from scipy.stats import norm

    return [float(norm.sf(c)) for c in boundaries(fractions, alpha, kind)]


def fractions_of(looks, n_max: int) -> list[float]:
    """Information fractions of looks at ``looks`` seeds per side (increasing) with at most
    ``n_max``."""
    return [min(1.0, n / n_max) for n in looks]


def read_look(judge, base, new, looks, n_max: int, alpha: float = ALPHA, kind: str = "obf") -> dict:
    """The sequential verdict at the last of ``looks`` (seeds per side at each look, the last
    being ``min(len(base), len(new))``), through ``judge(base, new, alpha)``, a fixed-design
    verdict function (``judge.judge_rewards`` or ``verdicts.compare_means``) read at the look's
    nominal level. Adds ``look`` (1-based), ``looks``, ``n_max``, ``nominal_alpha``,
    ``boundary_z``, ``spending`` and, when the program should stop without a verdict,
    ``futile`` with its reason."""
    looks = [int(n) for n in looks]
    fr = fractions_of(looks, n_max)
    alphas = nominal_alphas(fr, alpha, kind)
    a_k = alphas[-1]
    out = dict(judge(base, new, a_k))
    out.update(look=len(looks), looks=looks, n_max=int(n_max), nominal_alpha=a_k,
               boundary_z=float(boundaries(fr, alpha, kind)[-1]), spending=kind, overall_alpha=alpha)
    if out["verdict"] == "inconclusive":
        reason = _futility(out, fr, alpha, kind, looks[-1], n_max)
        if reason:
            out["futile"] = reason
    return out


HOPEFUL_Z = 1.959964  # today's difference is taken at the end of its 95% interval nearest 0


def futile(diff, sd, n: int, n_max: int, margin: float, last_alpha: float):
    """Whether no number of seeds the plan allows is likely to decide: even the hopeful end of
    today's difference (its 95% interval's end nearest 0) plus the last look's half-width at
    ``n_max`` seeds per side would not fit inside the margin (no `equivalent`), and even its far
    end minus that half-width would not lie beyond it (no `worse` / `better`). Element-wise
    over arrays of ``diff`` and ``sd`` (``simulate``)."""
    from scipy.stats import t as student

    sd = np.asarray(sd, float)
    now = HOPEFUL_Z * sd * math.sqrt(2 / n)
    half = float(student.isf(last_alpha, 2 * n_max - 2)) * sd * math.sqrt(2 / n_max)
    no_equivalent = np.maximum(0.0, np.abs(diff) - now) + half >= margin
    no_beyond = np.abs(diff) + now - half <= margin
    return no_equivalent & no_beyond


def _futility(out, fr, alpha, kind, n, n_max):
    """Why the plan cannot decide (None if it still may): ``futile`` at today's spread."""
    if n >= n_max:
        return f"the plan's {n_max} seeds per side are spent"
    part = out.get("kept") or out  # bimodal rows: the means of the runs that did not collapse
    sd, diff, margin = part.get("sd"), part.get("diff_mean"), part.get("margin")
    if sd is None or diff is None or margin is None or not math.isfinite(sd) or sd <= 0:
        return None
    last = nominal_alphas(list(fr) + [1.0] if fr[-1] < 1 else fr, alpha, kind)[-1]
    if bool(futile(diff, sd, min(n, max(2, part.get("n_base") or n, part.get("n_new") or n)), n_max, margin, last)):
        return (f"even at {n_max} seeds per side the interval around today's difference "
                f"({diff:+.1f}) would neither fit inside ±{margin:g} nor lie beyond it")
    return None


def simulate(delta: float, margin: float, look_size: int, n_max: int, trials: int = 4000, sd: float = 1.0,
             alpha: float = ALPHA, kind: str = "obf", skip: float = 0.0, seed: int = 0,
             adjusted: bool = True, futility: bool = True) -> dict:
    """The whole procedure on runs of known truth: ``trials`` pairs of sides drawn N(0, sd) and
    N(delta, sd), read at looks every ``look_size`` seeds per side up to ``n_max`` (each look
    but the last skipped with probability ``skip``, as a budget may), stopping at the first
    verdict. The decision rule is ``compare_means``'s (Welch's 1 - 2 alpha_k interval inside the
    margin: ``equivalent``; wholly beyond it: ``worse``/``better``), vectorised over trials;
    ``adjusted=False`` reads every look at alpha itself (the naive procedure); ``futility``
    stops a trial as ``read_look`` does (``futile``), never with a verdict. Returns the rate
    of each verdict, the mean seeds per side used, and the fixed design's seeds per side
    (``verdicts.seeds_needed`` at alpha, 80% power, true difference 0)."""
    from scipy.stats import t as student

    from .verdicts import seeds_needed

    rng = np.random.default_rng(seed)
    grid = list(range(look_size, n_max + 1, look_size))
    if grid[-1] != n_max:
        grid.append(n_max)
    a = rng.normal(0.0, sd, (trials, n_max))
    b = rng.normal(delta, sd, (trials, n_max))
    patterns = rng.random((8, len(grid))) >= skip  # eight schedules of looks, as budgets might take them
    patterns[:, -1] = True
    keep = patterns[rng.integers(0, len(patterns), trials)]
    verdict = np.full(trials, "inconclusive", dtype=object)
    used = np.full(trials, n_max)
    open_ = np.ones(trials, bool)
    for j in np.unique(keep, axis=0):  # trials sharing one pattern of looks share their boundaries
        rows = np.all(keep == j, axis=1)
        looks = [n for n, k in zip(grid, j) if k]
        alphas = nominal_alphas(fractions_of(looks, n_max), alpha, kind) if adjusted else [alpha] * len(looks)
        last = nominal_alphas(fractions_of(looks, n_max) + ([1.0] if looks[-1] < n_max else []), alpha,
                              kind)[-1] if adjusted else alpha
        for n, a_k in zip(looks, alphas):
            live = rows & open_
            if not live.any():
                break
            x, y = a[live, :n], b[live, :n]
            va, vb = x.var(axis=1, ddof=1) / n, y.var(axis=1, ddof=1) / n
            se = np.sqrt(va + vb)
            df = (va + vb) ** 2 / (va ** 2 / (n - 1) + vb ** 2 / (n - 1))
            d = y.mean(axis=1) - x.mean(axis=1)
            q = student.isf(a_k, df)
            lo, hi = d - q * se, d + q * se
            v = np.where((lo > -margin) & (hi < margin), "equivalent",
                         np.where(hi < -margin, "worse", np.where(lo > margin, "better", "")))
            idx = np.flatnonzero(live)
            done = v != ""
            verdict[idx[done]] = v[done]
            used[idx[done]] = n
            open_[idx[done]] = False
            if futility and n < n_max:  # the same rule as read_look's, trial by trial
                pooled = np.sqrt((x.var(axis=1, ddof=1) + y.var(axis=1, ddof=1)) / 2)
                stop = ~done & futile(d, pooled, n, n_max, margin, last)
                used[idx[stop]] = n
                open_[idx[stop]] = False
    rates = {k: float(np.mean(verdict == k)) for k in ("equivalent", "worse", "better", "inconclusive")}
    return {"delta": delta, "margin": margin, "trials": trials, "look_size": look_size, "n_max": n_max,
            "kind": kind if adjusted else "unadjusted", "skip": skip, "rates": rates,
            "mean_seeds": float(used.mean()), "fixed_design_seeds": seeds_needed(sd, 0.0, margin, alpha)}
