"""Verdicts on two sets of runs (BASE against NEW: TF1 against TF2, one TensorFlow release
against another), in four words, at a margin declared in advance:

* ``equivalent``: two one-sided tests (Schuirmann's TOST, Welch's t) put the difference of
  means NEW - BASE inside ``(-margin, +margin)`` at level ``alpha``; equivalently the
  ``1 - 2 alpha`` (90%) interval of the difference lies inside the margin;
* ``worse`` / ``better``: the difference is significantly beyond the margin (the one-sided
  test that it lies beyond ``-margin`` / ``+margin`` rejects at ``alpha``: the whole 90%
  interval lies below ``-margin`` / above ``+margin``);
* ``inconclusive``: neither, with the number of seeds per side that the observed spread
  would need for TOST to show equivalence with 80% power if the two were truly the same
  (the planning assumption of an equivalence study; ``seeds_needed`` also plans for a given
  true difference).

A non-significant difference is never "the same": with few seeds every interval is wide and
the verdict is ``inconclusive``. The tests come from statsmodels (``ttost_ind`` and
``CompareMeans``); a stratified bootstrap interval of the same difference (resampling each
side on its own) is reported beside Welch's, and the aggregate statistics recommended by
Agarwal et al. (2021, "Deep RL at the Edge of the Statistical Precipice") are given with
stratified bootstrap intervals: the interquartile mean (IQM) of each side and the
probability of improvement P(NEW > BASE). rliable, their library, is not used: its
dependency arch 7.2 fails to import beside pandas 3 (this package's stack); scipy's
``stats.bootstrap`` does the resampling.

Outcomes with two modes (a REINFORCE run that collapses to one action and scores ~9) are
not averaged: ``compare_bimodal`` reports the collapse rate of each side with Fisher's exact
test, an interval of the difference of rates and its own equivalence test, and the means
verdict of the runs that did not collapse.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

VERDICTS = ("equivalent", "better", "worse", "inconclusive")
ALPHA = 0.05
POWER = 0.8
MAX_SEEDS_NEEDED = 100_000


def _t_crit(alpha, df):
    from scipy import stats

    return float(stats.t.ppf(1 - alpha, df))


def _norm_cdf(x):
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


def tost_power(n, sd, diff, margin, alpha=ALPHA) -> float:
    """Approximate power of TOST with ``n`` seeds per side, common standard deviation ``sd``
    and true difference ``diff`` (normal approximation with the t critical value)."""
    if n < 2:
        return 0.0
    se = sd * math.sqrt(2 / n)
    if se == 0:
        return 1.0 if abs(diff) < margin else 0.0
    t = _t_crit(alpha, 2 * n - 2)
    return max(0.0, _norm_cdf((margin - diff) / se - t) + _norm_cdf((margin + diff) / se - t) - 1)


def beyond_power(n, sd, diff, margin, alpha=ALPHA) -> float:
    """Approximate power of the one-sided test that |difference| exceeds ``margin``."""
    if n < 2:
        return 0.0
    se = sd * math.sqrt(2 / n)
    if se == 0:
        return 1.0 if abs(diff) > margin else 0.0
    return _norm_cdf((abs(diff) - margin) / se - _t_crit(alpha, 2 * n - 2))


def seeds_needed(sd, diff, margin, alpha=ALPHA, power=POWER):
    """Seeds per side for the verdict to be decided with ``power``: equivalence when the
    observed |diff| is inside the margin, worse/better when beyond. None when no number of
    seeds up to ``MAX_SEEDS_NEEDED`` would do (|diff| equal to the margin, or tiny gaps)."""
    if not (math.isfinite(sd) and math.isfinite(diff)) or margin <= 0:
        return None
    if abs(diff) == margin:
        return None
    pw = tost_power if abs(diff) < margin else beyond_power
    if pw(MAX_SEEDS_NEEDED, sd, diff, margin, alpha) < power:
        return None
    lo, hi = 2, MAX_SEEDS_NEEDED  # power grows with n: bisect for the smallest n
    while lo < hi:
        mid = (lo + hi) // 2
        if pw(mid, sd, diff, margin, alpha) >= power:
            hi = mid
        else:
            lo = mid + 1
    return lo


def iqm(x, axis=-1):
    """Interquartile mean: the mean of the middle 50% of the values (scipy's trim_mean)."""
    from scipy import stats

    return stats.trim_mean(np.asarray(x, float), 0.25, axis=axis)


def prob_improvement(b, a, axis=-1):
    """P(a random NEW beats a random BASE), ties counted half: Mann-Whitney's U / (n m), from
    mid-ranks (U = rank sum of NEW - n(n+1)/2 counts the pairs NEW > BASE and half the ties),
    in O((n+m) log(n+m)) time and memory (all pairs would take n m per bootstrap resample);
    vectorised over leading axes for the bootstrap."""
    from scipy.stats import rankdata

    b, a = np.moveaxis(np.asarray(b, float), axis, -1), np.moveaxis(np.asarray(a, float), axis, -1)
    n, m = b.shape[-1], a.shape[-1]
    ranks = rankdata(np.concatenate([b, np.broadcast_to(a, b.shape[:-1] + (m,))], axis=-1), axis=-1)
    u = ranks[..., :n].sum(axis=-1) - n * (n + 1) / 2
    return u / (n * m)


def _mean_diff(b, a, axis=-1):
    return np.mean(b, axis=axis) - np.mean(a, axis=axis)


def bootstrap_interval(samples, statistic, confidence=0.95, seed=0, n_resamples=2000):
    """Stratified percentile bootstrap (scipy.stats.bootstrap, each sample resampled on its
    own, as Agarwal et al. resample runs within each task); the value itself, twice, when a
    sample is too small or every sample is constant."""
    from scipy import stats

    if any(len(s) < 2 for s in samples) or all(np.ptp(s) == 0 for s in samples):
        value = float(statistic(*samples))
        return value, value
    size = sum(len(s) for s in samples)  # resamples per batch: memory bounded whatever the seeds
    res = stats.bootstrap(samples, statistic, vectorized=True, paired=False, confidence_level=confidence,
                          n_resamples=n_resamples, batch=max(1, min(n_resamples, 4_000_000 // max(size, 1))),
                          method="percentile", rng=np.random.default_rng(seed))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def compare_means(base, new, margin, alpha=ALPHA, power=POWER, seed=0, n_boot=2000) -> dict:
    """The verdict on NEW - BASE at ``margin`` (reward points, > 0), with everything it rests
    on: means, the difference with Welch's and the bootstrap's 1 - 2 alpha interval, the TOST
    p-value, the one-sided p-values beyond the margin, IQMs with 95% stratified bootstrap
    intervals, the probability of improvement with its interval, and the seeds per side that
    would decide an inconclusive verdict."""
    from statsmodels.stats.weightstats import CompareMeans, DescrStatsW, ttost_ind

    a, b = np.asarray(base, float), np.asarray(new, float)
    if not (margin > 0 and math.isfinite(margin)):
        raise ValueError(f"margin must be a positive number, not {margin!r}")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError("rewards must be finite numbers")
    diff = float(b.mean() - a.mean()) if a.size and b.size else float("nan")
    sd = float(np.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2)) if a.size > 1 and b.size > 1 else float("nan")
    out = {"verdict": "inconclusive", "margin": float(margin), "alpha": alpha, "n_base": int(a.size),
           "n_new": int(b.size), "base_mean": float(a.mean()) if a.size else None,
           "new_mean": float(b.mean()) if b.size else None, "diff_mean": diff, "sd": sd,
           "ci_level": 1 - 2 * alpha}
    if a.size < 2 or b.size < 2:
        out.update(ci_low=None, ci_high=None, p_equivalent=None, p_worse=None, p_better=None,
                   seeds_needed=None, reason="fewer than 2 seeds on a side")
        return out
    if np.ptp(a) == 0 and np.ptp(b) == 0:  # both constant: the difference is exact
        lo = hi = diff
        p_eq = 0.0 if abs(diff) < margin else 1.0
        p_worse = 0.0 if diff < -margin else 1.0
        p_better = 0.0 if diff > margin else 1.0
    else:
        cm = CompareMeans(DescrStatsW(b), DescrStatsW(a))
        lo, hi = (float(x) for x in cm.tconfint_diff(alpha=2 * alpha, usevar="unequal"))
        p_eq = float(ttost_ind(b, a, -margin, margin, usevar="unequal")[0])
        p_worse = float(cm.ttest_ind(alternative="smaller", usevar="unequal", value=-margin)[1])
        p_better = float(cm.ttest_ind(alternative="larger", usevar="unequal", value=margin)[1])
    verdict = ("equivalent" if p_eq < alpha else "worse" if p_worse < alpha else
               "better" if p_better < alpha else "inconclusive")
    out.update(verdict=verdict, ci_low=lo, ci_high=hi, p_equivalent=p_eq, p_worse=p_worse,
               p_better=p_better,
               seeds_needed=None if verdict != "inconclusive" else seeds_needed(sd, 0.0, margin, alpha, power))
    if not n_boot:  # simulations: the verdict alone
        return out
    blo, bhi = bootstrap_interval((b, a), _mean_diff, 1 - 2 * alpha, seed, n_boot)
    out.update(boot_ci_low=blo, boot_ci_high=bhi, iqm_base=float(iqm(a)), iqm_new=float(iqm(b)),
               iqm_base_ci=list(bootstrap_interval((a,), iqm, 0.95, seed + 1, n_boot)),
               iqm_new_ci=list(bootstrap_interval((b,), iqm, 0.95, seed + 2, n_boot)),
               prob_improvement=float(prob_improvement(b, a)),
               prob_improvement_ci=list(bootstrap_interval((b, a), prob_improvement, 0.95, seed + 3, n_boot)))
    return out


def compare_paired(base, new, margin, alpha=ALPHA, power=POWER) -> dict:
    """The verdict on NEW - BASE where the runs pair up by seed (``base[i]`` and ``new[i]`` ran with the
    same seed, the same environment starts and, where the two sides are coupled, the same initial values):
    TOST on the per-seed differences (statsmodels' ``ttost_paired``; the one-sided tests beyond the margin
    on the same differences). Pairing never biases the test; where the sides are coupled it removes the
    seed-to-seed spread they share. Differences that are all equal give the difference exactly, as two
    constant sides do in ``compare_means``. The same fields as ``compare_means``, with ``paired``."""
    from statsmodels.stats.weightstats import DescrStatsW, ttost_paired

    a, b = np.asarray(base, float), np.asarray(new, float)
    if a.shape != b.shape:
        raise ValueError("paired runs need one value per seed on each side")
    if not (margin > 0 and math.isfinite(margin)):
        raise ValueError(f"margin must be a positive number, not {margin!r}")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError("rewards must be finite numbers")
    d = b - a
    n = int(d.size)
    sd_d = float(d.std(ddof=1)) if n > 1 else float("nan")
    out = {"verdict": "inconclusive", "paired": True, "margin": float(margin), "alpha": alpha, "n_base": n,
           "n_new": n, "base_mean": float(a.mean()) if n else None, "new_mean": float(b.mean()) if n else None,
           "diff_mean": float(d.mean()) if n else float("nan"), "sd_diff": sd_d, "ci_level": 1 - 2 * alpha}
    if n < 2:
        out.update(ci_low=None, ci_high=None, p_equivalent=None, p_worse=None, p_better=None,
                   seeds_needed=None, reason="fewer than 2 seeds run on both sides")
        return out
    diff = out["diff_mean"]
    if np.ptp(d) == 0:  # the same difference on every seed: exact
        lo = hi = diff
        p_eq = 0.0 if abs(diff) < margin else 1.0
        p_worse = 0.0 if diff < -margin else 1.0
        p_better = 0.0 if diff > margin else 1.0
    else:
        ds = DescrStatsW(d)
        lo, hi = (float(x) for x in ds.tconfint_mean(alpha=2 * alpha))
        p_eq = float(ttost_paired(b, a, -margin, margin)[0])
        p_worse = float(ds.ttest_mean(-margin, alternative="smaller")[1])
        p_better = float(ds.ttest_mean(margin, alternative="larger")[1])
    verdict = ("equivalent" if p_eq < alpha else "worse" if p_worse < alpha else
               "better" if p_better < alpha else "inconclusive")
    # seeds_needed plans two independent sides of spread sd (se = sd sqrt(2/n)); paired, se = sd_d / sqrt(n)
    need = seeds_needed(sd_d / math.sqrt(2), 0.0, margin, alpha, power) if verdict == "inconclusive" else None
    out.update(verdict=verdict, ci_low=lo, ci_high=hi, p_equivalent=p_eq, p_worse=p_worse, p_better=p_better,
               seeds_needed=need, sd=sd_d)
    return out


def compare_rates(k_base, n_base, k_new, n_new, margin, alpha=ALPHA) -> dict:
    """Rates k/n of an event (a collapse) on each side: Fisher's exact test, the 95% Newcombe
    interval of the difference NEW - BASE, and the verdict of TOST on the difference of
    proportions at ``margin`` (a difference of rates, e.g. 0.10) with statsmodels."""

    out = {"base": [int(k_base), int(n_base)], "new": [int(k_new), int(n_new)], "margin": margin,
           "rate_base": k_base / n_base if n_base else None, "rate_new": k_new / n_new if n_new else None}
    if not (n_base and n_new):
        return dict(out, verdict="inconclusive", fisher_p=None, ci_low=None, ci_high=None, p_equivalent=None)
    with warnings.catch_warnings():  # statsmodels divides by a zero rate for its ratio fields
        warnings.simplefilter("ignore", RuntimeWarning)
        return _compare_rates(out, k_base, n_base, k_new, n_new, margin, alpha)


def _compare_rates(out, k_base, n_base, k_new, n_new, margin, alpha):
    from scipy import stats
    from statsmodels.stats.proportion import confint_proportions_2indep, tost_proportions_2indep

    out["fisher_p"] = float(stats.fisher_exact([[k_new, n_new - k_new], [k_base, n_base - k_base]])[1])
    lo, hi = confint_proportions_2indep(k_new, n_new, k_base, n_base, method="newcomb", compare="diff")
    out.update(ci_low=float(lo), ci_high=float(hi))
    p_eq = float(tost_proportions_2indep(k_new, n_new, k_base, n_base, -margin, margin,
                                         method="wald", compare="diff").pvalue) \
        if 0 < k_base + k_new < n_base + n_new else (0.0 if max(n_base, n_new) >= 2 else 1.0)
    out["p_equivalent"] = p_eq
    lo90, hi90 = confint_proportions_2indep(k_new, n_new, k_base, n_base, method="newcomb",
                                            compare="diff", alpha=2 * alpha)
    out["verdict"] = ("equivalent" if p_eq < alpha and -margin < lo90 and hi90 < margin else
                      "worse" if lo90 > margin else "better" if hi90 < -margin else "inconclusive")
    out["seeds_needed"] = None if out["verdict"] != "inconclusive" else \
        rate_seeds_needed((k_base + k_new) / (n_base + n_new), margin, alpha)
    return out


def rate_seeds_needed(rate, margin, alpha=ALPHA, power=POWER):
    """Runs per side for TOST on two proportions with the same true ``rate`` to show
    equivalence at ``margin`` with ``power`` (Chow, Shao & Wang, sec. 4.2: n = (z_(1-alpha) +
    z_(1-beta/2))^2 2 p (1 - p) / margin^2); None when the rate is 0 or 1 (no spread to plan on)."""
    from scipy import stats

    if not 0 < rate < 1 or margin <= 0:
        return None
    z = stats.norm.ppf(1 - alpha) + stats.norm.ppf(1 - (1 - power) / 2)
    return int(math.ceil(z * z * 2 * rate * (1 - rate) / margin ** 2))


def compare_bimodal(base, new, margin, collapse_below, rate_margin=0.10, alpha=ALPHA, seed=0) -> dict:
    """For outcomes with two modes: runs scoring below ``collapse_below`` collapsed. The rate
    of collapse on each side (a higher rate in NEW is ``worse``), and the means verdict of the
    runs that did not collapse; the overall verdict is ``equivalent`` only if both parts are,
    ``worse``/``better`` if either part is and the other does not say the opposite."""
    a, b = np.asarray(base, float), np.asarray(new, float)
    ca, cb = a < collapse_below, b < collapse_below
    rates = compare_rates(int(ca.sum()), a.size, int(cb.sum()), b.size, rate_margin, alpha)
    kept = compare_means(a[~ca], b[~cb], margin, alpha, seed=seed)
    parts = {rates["verdict"], kept["verdict"]}
    if parts == {"equivalent"}:
        verdict = "equivalent"
    elif "worse" in parts and "better" not in parts:
        verdict = "worse"
    elif "better" in parts and "worse" not in parts:
        verdict = "better"
    else:
        verdict = "inconclusive"
    return {"verdict": verdict, "collapse_below": collapse_below, "collapse": rates, "kept": kept}
