"""Tier 11 (known truth, no learning runs): the four verdicts on synthetic samples whose
truth is known, their calibration over a few hundred simulated pairs, the seeds-needed
figure against the textbook formula and against simulation, and the collapse-rate test on
known counts."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from tfrepro.core.verdicts import (ALPHA, compare_bimodal, compare_means, compare_rates, iqm,
                                   prob_improvement, seeds_needed, tost_power)

MARGIN, SD = 10.0, 10.0


def _pair(n, shift, seed):
    rng = np.random.default_rng(seed)
    return rng.normal(100, SD, n), rng.normal(100 + shift, SD, n)


def test_one_distribution_40_per_side_is_equivalent():
    assert compare_means(*_pair(40, 0, 1), MARGIN)["verdict"] == "equivalent"


def test_three_per_side_is_inconclusive_and_says_how_many_would_decide():
    r = compare_means(*_pair(3, 0, 2), MARGIN)
    assert r["verdict"] == "inconclusive"
    assert r["seeds_needed"] is not None and r["seeds_needed"] > 3


@pytest.mark.parametrize("shift, want", [(-2 * MARGIN, "worse"), (2 * MARGIN, "better")])
def test_a_shift_of_twice_the_margin_is_worse_or_better(shift, want):
    assert compare_means(*_pair(40, shift, 3), MARGIN)["verdict"] == want


def test_constant_samples_are_decided_exactly():
    assert compare_means([200.0] * 5, [200.0] * 5, MARGIN)["verdict"] == "equivalent"
    assert compare_means([200.0] * 5, [150.0] * 5, MARGIN)["verdict"] == "worse"
    assert compare_means([200.0], [200.0], MARGIN)["verdict"] == "inconclusive"  # one seed: no spread known


def test_welch_interval_against_the_bootstrap_and_the_tost_duality():
    """The 90% Welch interval (statsmodels) and the stratified bootstrap's agree on normal
    data; TOST passes exactly when the 90% interval lies inside the margin."""
    for seed in range(20):
        r = compare_means(*_pair(30, 3, seed), MARGIN)
        assert abs(r["ci_low"] - r["boot_ci_low"]) < 1.0 and abs(r["ci_high"] - r["boot_ci_high"]) < 1.0
        assert (r["p_equivalent"] < ALPHA) == (-MARGIN < r["ci_low"] and r["ci_high"] < MARGIN)


def test_calibration_false_equivalent_and_false_worse_rates_are_at_most_alpha():
    """300 simulated pairs each: at a true difference of 1.5 x margin, `equivalent` is
    (falsely) said at most alpha of the time; with no difference, `worse` is said at most
    alpha of the time. Allowance: three binomial standard errors of the rate alpha."""
    n_sims, tol = 300, 3 * math.sqrt(ALPHA * (1 - ALPHA) / 300)
    false_eq = sum(compare_means(*_pair(10, 1.5 * MARGIN, 1000 + i), MARGIN, n_boot=0)["verdict"]
                   == "equivalent" for i in range(n_sims)) / n_sims
    assert false_eq <= ALPHA + tol
    # at the margin itself the equivalence test is at its size: close to alpha, not far below
    at_margin = sum(compare_means(*_pair(200, MARGIN, 3000 + i), MARGIN, n_boot=0)["verdict"]
                    == "equivalent" for i in range(n_sims)) / n_sims
    assert at_margin <= ALPHA + tol
    false_worse = sum(compare_means(*_pair(10, 0, 2000 + i), MARGIN, n_boot=0)["verdict"] == "worse"
                      for i in range(n_sims)) / n_sims
    assert false_worse <= ALPHA + tol


@pytest.mark.parametrize("ratio", [0.25, 0.5, 1.0])
def test_seeds_needed_against_the_textbook_formula(ratio):
    """Chow, Shao & Wang, Sample Size Calculations in Clinical Research (2nd ed., sec. 3.2):
    for equivalence with a true difference 0, n per side = 2 (z_(1-alpha) + z_(1-beta/2))^2
    sigma^2 / margin^2. Ours uses the t distribution, so it may exceed the normal formula by
    a seed or two, never fall below it."""
    z = stats.norm.ppf(1 - ALPHA) + stats.norm.ppf(1 - 0.2 / 2)
    textbook = math.ceil(2 * z * z / ratio ** 2)
    ours = seeds_needed(1.0, 0.0, ratio)
    assert textbook <= ours <= textbook + 2, (textbook, ours)


def test_seeds_needed_delivers_its_power_in_simulation():
    """At the computed n, TOST decides `equivalent` about 80% of the time (400 simulations)."""
    n = seeds_needed(SD, 0.0, MARGIN)
    rate = np.mean([compare_means(*_pair(n, 0, 5000 + i), MARGIN, n_boot=0)["verdict"] == "equivalent"
                    for i in range(400)])
    assert abs(rate - 0.8) < 0.07, (n, rate)
    assert abs(tost_power(n, SD, 0.0, MARGIN) - 0.8) < 0.05


def test_seeds_needed_for_a_difference_beyond_the_margin_and_at_it():
    assert seeds_needed(SD, 2 * MARGIN, MARGIN) < seeds_needed(SD, 1.2 * MARGIN, MARGIN)
    assert seeds_needed(SD, MARGIN, MARGIN) is None  # exactly at the margin: never decided


def test_iqm_and_probability_of_improvement_on_known_values():
    assert iqm([1, 2, 3, 4, 5, 6, 7, 100]) == pytest.approx(np.mean([3, 4, 5, 6]))
    assert prob_improvement([2, 3], [1, 1]) == 1.0
    assert prob_improvement([1, 1], [1, 1]) == 0.5
    assert prob_improvement([0, 3], [1, 2]) == 0.5


def test_collapse_rates_on_known_counts():
    """Fisher's exact p against scipy directly; equal rates over many runs are equivalent at
    10 points; 1 of 30 against 20 of 30 is worse; 2 of 8 against 3 of 8 is inconclusive."""
    r = compare_rates(2, 8, 3, 8, 0.10)
    assert r["fisher_p"] == pytest.approx(stats.fisher_exact([[3, 5], [2, 6]])[1])
    assert r["verdict"] == "inconclusive" and r["ci_low"] < 0 < r["ci_high"]
    assert compare_rates(10, 400, 10, 400, 0.10)["verdict"] == "equivalent"
    assert compare_rates(1, 30, 20, 30, 0.10)["verdict"] == "worse"
    assert compare_rates(20, 30, 1, 30, 0.10)["verdict"] == "better"


def test_bimodal_outcomes_are_split_not_averaged():
    rng = np.random.default_rng(7)
    base = np.where(rng.random(60) < 0.2, 9.3, rng.normal(199, 1, 60))
    new = np.where(rng.random(60) < 0.2, 9.3, rng.normal(199, 1, 60))
    r = compare_bimodal(base, new, MARGIN, collapse_below=50)
    assert r["kept"]["verdict"] == "equivalent" and r["kept"]["n_base"] < 60
    assert r["collapse"]["base"][1] == r["collapse"]["new"][1] == 60
    assert r["verdict"] in ("equivalent", "inconclusive")  # 20% against 20% at 60 runs: rates not yet decided
    worse = np.where(rng.random(60) < 0.9, 9.3, 199.0)
    assert compare_bimodal(base, worse, MARGIN, collapse_below=50)["verdict"] == "worse"


def test_bad_margins_and_values_are_refused():
    with pytest.raises(ValueError):
        compare_means([1, 2], [1, 2], 0)
    with pytest.raises(ValueError):
        compare_means([1, float("nan")], [1, 2], 1)


def test_full_reproduction_plans_its_seeds_from_the_verdicts(tmp_path):
    """``reproduce --full``: an inconclusive row gets the seeds its power calculation asks for
    (a collapse rate's included), a decided row keeps its seeds, within --seeds..--max-seeds."""
    import json

    from tfrepro.core.errors import UsageError
    from tfrepro.tools.reproduce import planned_seeds

    def row(program, verdict, n=8, **more):
        return {"program": program, "tf1": {"seeds": list(range(n))}, "tf2": {"seeds": list(range(n))},
                "tf2_vs_tf1": dict(verdict=verdict, **more)}

    rows = [row("pg-geron", "inconclusive", seeds_needed=57), row("basic-policy", "equivalent", seeds_needed=None),
            row("random-policy", "inconclusive", seeds_needed=5000),
            row("pg-tang", "inconclusive", seeds_needed=40, kept={"seeds_needed": 56},
                collapse={"seeds_needed": 261}),
            row("imitation-policy", "equivalent", n=45)]
    path = tmp_path / "summary.json"
    path.write_text(json.dumps({"rows": rows}))
    entries = [("pg-geron", None), ("basic-policy", None), ("random-policy", None), ("pg-tang", None),
               ("imitation-policy", None)]
    plan = planned_seeds(path, entries, 30, 300)
    assert plan == {("pg-geron", None): 57, ("basic-policy", None): 30, ("random-policy", None): 300,
                    ("pg-tang", None): 261, ("imitation-policy", None): 45}
    with pytest.raises(UsageError, match="no verdict for dqn-pylessons"):
        planned_seeds(path, [("dqn-pylessons", None)], 30, 300)
