"""Tier 5 (slow): learning parity over seeds, fast mode, TF1 graph form against TF2 port.

REINFORCE, 8 seeds per framework (the issues ask for at least 5):
* level: the median over seeds of the evaluation mean reaches the source's level
  (pg-tang >= 190 on CartPole-v0 over 100 test episodes, the source saw ~200;
  pg-geron >= 175 over 100 episodes, the sources saw 199.6 and 190.3 in single runs);
DQN, 5 seeds per framework:
* dqn-meertens with the source's exercises (epsilon-greedy, target network), shortened for
  CI to 60,000 frames (epsilon reaches 0.05 at 50,000): median of the 20-episode greedy
  test mean >= 175 on CartPole-v0 (the source states no number; random play scores 22);
* dqn-pylessons, the source's protocol (train until an episode scores 500, at most 1000
  episodes; test that model on 20 greedy episodes): every seed reaches 500. The test mean
  of that snapshot is not held to a level: over 16 runs it spreads from 213 to 500 (median
  ~400; README), so a 5-seed median moves by 100 from chance alone;
* dqn-pylessons, ``evaluated`` (the source's advice to train on, until 10 greedy episodes
  average >= 475): median 20-episode test mean >= 400 (the issue's target);
and for all:
* comparable: the 95% bootstrap interval of the difference of means (TF2 - TF1)
  contains 0 and the two-sided Mann-Whitney U test does not reject at 5%; where a level
  is set, the medians also differ by at most 10% of it.
Seeds are fixed, so on one machine and one set of versions this test is deterministic;
after an upgrade it is what catches a drift in learning.
"""
import numpy as np
import pytest

from tfrepro.core.stats import compare_samples
from tfrepro.infra import programs
from tfrepro.tools.reproduce import run_grid

CASES = {  # entry: (seeds, iterations override, level)
    "pg-tang": (8, None, programs.get("pg-tang").target),
    "pg-geron": (8, None, programs.get("pg-geron").target),
    "dqn-meertens:exercises": (5, 60_000, 175.0),
    "dqn-pylessons": (5, None, None),
    "dqn-pylessons:evaluated": (5, None, programs.get("dqn-pylessons").target),
}


@pytest.mark.slow
@pytest.mark.parametrize("entry", list(CASES))
def test_learning_parity(entry, tmp_path):
    n_seeds, iterations, level = CASES[entry]
    prog, variant = programs.parse_entry(entry)
    records = run_grid([(prog.name, variant)], "fast", list(range(n_seeds)), tmp_path, workers=2,
                       iterations=iterations)
    by_seed = sorted(records, key=lambda r: r["seed"])
    scores = {fw: [r["eval_mean"] for r in by_seed if r["framework"] == fw] for fw in programs.FRAMEWORKS}
    med = {fw: float(np.median(v)) for fw, v in scores.items()}
    cmp_ = compare_samples(scores["tf1"], scores["tf2"])
    msg = f"{entry}: {scores} medians {med} comparison {cmp_}"
    if prog.name == "dqn-pylessons":  # every seed meets its stopping rule within 1000 episodes
        assert all(r["solved_episode"] is not None for r in records), \
            (msg, [(r["framework"], r["seed"], r["solved_episode"]) for r in records])
    assert cmp_["ci_low"] <= 0 <= cmp_["ci_high"], msg
    assert cmp_["mannwhitney_p"] >= 0.05, msg
    if level is not None:
        assert med["tf1"] >= level and med["tf2"] >= level, msg
        assert abs(med["tf1"] - med["tf2"]) <= 0.1 * level, msg
