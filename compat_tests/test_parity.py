"""Tier 5 (slow): learning parity over seeds, fast mode, TF1 graph form against TF2 port.

For each REINFORCE program, 8 seeds per framework (the issue asks for at least 5):
* level: the median over seeds of the evaluation mean reaches the source's level
  (pg-tang >= 190 on CartPole-v0 over 100 test episodes, the source saw ~200;
  pg-geron >= 175 over 100 episodes, the sources saw 199.6 and 190.3 in single runs);
* comparable: the 95% bootstrap interval of the difference of means (TF2 - TF1)
  contains 0, the two-sided Mann-Whitney U test does not reject at 5%, and the medians
  differ by at most 10% of the target level.
Seeds are fixed, so on one machine and one set of versions this test is deterministic;
after an upgrade it is what catches a drift in learning.
"""
import numpy as np
import pytest

from tfrepro import programs
from tfrepro.reproduce import run_grid
from tfrepro.stats import compare_samples

SEEDS = list(range(8))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["pg-tang", "pg-geron"])
def test_learning_parity(name, tmp_path):
    target = programs.get(name).target
    records = run_grid([(name, None)], "fast", SEEDS, tmp_path, workers=2)
    scores = {fw: [r["eval_mean"] for r in sorted(records, key=lambda r: r["seed"])
                   if r["framework"] == fw] for fw in programs.FRAMEWORKS}
    med = {fw: float(np.median(v)) for fw, v in scores.items()}
    cmp_ = compare_samples(scores["tf1"], scores["tf2"])
    msg = f"{name}: {scores} medians {med} comparison {cmp_}"
    assert med["tf1"] >= target and med["tf2"] >= target, msg
    assert cmp_["ci_low"] <= 0 <= cmp_["ci_high"], msg
    assert cmp_["mannwhitney_p"] >= 0.05, msg
    assert abs(med["tf1"] - med["tf2"]) <= 0.1 * target, msg
