"""Statistics for comparing runs over seeds (scipy.stats underneath)."""
from __future__ import annotations

import numpy as np


def median_iqr(x) -> tuple[float, float, float]:
    x = np.asarray(x, float)
    q1, med, q3 = np.percentile(x, [25, 50, 75])
    return float(med), float(q1), float(q3)


def compare_samples(a, b, n_boot: int = 10_000, seed: int = 0, confidence: float = 0.95) -> dict:
    """Compare two samples of per-seed scores (e.g. TF1 against TF2).

    Returns the difference of means b - a with a bootstrap percentile interval, the
    two-sided Mann-Whitney U p-value, and P(a random b beats a random a) (the common
    language effect size, ties counted half).
    """
    from scipy import stats

    a, b = np.asarray(a, float), np.asarray(b, float)
    rng = np.random.default_rng(seed)
    diffs = (rng.choice(b, (n_boot, b.size)).mean(1) - rng.choice(a, (n_boot, a.size)).mean(1))
    lo, hi = np.percentile(diffs, [50 * (1 - confidence), 50 * (1 + confidence)])
    if np.all(a == a[0]) and np.all(b == b[0]) and a[0] == b[0]:
        p = 1.0  # identical constant samples: scipy would warn and return nan
    else:
        p = float(stats.mannwhitneyu(b, a, alternative="two-sided").pvalue)
    greater = (b[:, None] > a[None, :]).mean() + 0.5 * (b[:, None] == a[None, :]).mean()
    return {"diff_mean": float(b.mean() - a.mean()), "ci_low": float(lo), "ci_high": float(hi),
            "mannwhitney_p": p, "p_b_better": float(greater)}
