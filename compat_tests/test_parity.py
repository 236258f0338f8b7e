"""Tier 10 (slow): learning parity over seeds, TF1 graph form against TF2 port.

pg-tang, pg-geron and dqn-meertens run 30 seeds per framework in ``lockstep`` mode (every
seed of a framework in one process, each seed drawing what its lone ``fast`` run draws:
``compat_tests/test_lockstep.py``); dqn-pylessons, which has no lockstep mode, 5 seeds in
``fast`` mode.

REINFORCE:
* level: the median over seeds of the evaluation mean reaches the source's level
  (pg-tang >= 190 on CartPole-v0 over 100 test episodes, the source saw ~200;
  pg-geron >= 175 over 100 episodes, the sources saw 199.6 and 190.3 in single runs);
DQN:
* dqn-meertens with the source's exercises (epsilon-greedy, target network), shortened for
  CI to 60,000 frames (epsilon reaches 0.05 at 50,000): median of the 20-episode greedy
  test mean >= 175 on CartPole-v0 (the source states no number; random play scores 22);
* dqn-pylessons, the source's protocol (train until an episode scores 500, at most 1000
  episodes; test that model on 20 greedy episodes): every seed reaches 500. The test mean
  of that snapshot is not held to a level: over 16 runs it spreads from 213 to 500 (median
  ~400; docs/reproduce.md), so a 5-seed median moves by 100 from chance alone;
* dqn-pylessons, ``evaluated`` (the source's advice to train on, until 10 greedy episodes
  average >= 475): median 20-episode test mean >= 400 (80% of the 500 the source reaches);
and for all, in the four words of ``tfrepro.core.verdicts`` at each program's declared
margin (``tfrepro.infra.programs``; pg-tang's collapsed runs as a rate, apart):
* parity: TF2 is neither ``worse`` nor ``better`` than TF1 (no difference significantly
  beyond the margin), and where a level is set the medians reach it;
* then equivalence: TF2 is ``equivalent`` to TF1. Where the seeds CI affords today leave a
  case ``inconclusive`` (``TOO_FEW``, with the seeds per side the committed runs' spread asks
  for) the test ends as an expected failure once parity has passed; the day more seeds
  decide it, it fails for real, and the case must leave ``TOO_FEW``.
Both in one test per group of entries, ``test_learning_parity``, on one set of runs: the
two dqn-pylessons entries differ in their stopping rule alone, and one training run per
seed gives both their records.
Seeds are fixed, so on one machine and one set of versions this test is deterministic;
after an upgrade it is what catches a drift in learning.
"""

import numpy as np
import pytest

from tfrepro.infra import programs
from tfrepro.infra.grid import run_grid
from tfrepro.infra.judge import judge_rewards, verdict_cell

CASES = {  # entry: (seeds, iterations override, level)
    "pg-tang": (30, None, programs.get("pg-tang").target),
    "pg-geron": (30, None, programs.get("pg-geron").target),
    "dqn-meertens:exercises": (30, 60_000, 175.0),
    "dqn-pylessons": (5, None, None),
    "dqn-pylessons:evaluated": (5, None, programs.get("dqn-pylessons").target),
}
# Cases the CI seeds cannot decide, with the seeds per side that equivalence at the declared
# margin needs by the spread of the committed runs with these seeds and settings
# (results/reproduce-fixed at 30 lockstep seeds for pg-tang; its 6 fast seeds for dqn-pylessons,
# whose CI runs keep 5). pg-geron (results/reproduce-fixed),
# dqn-meertens:exercises at 60,000 frames (results/meertens-60k) and dqn-pylessons:evaluated
# (results/pylessons-evaluated) are equivalent at their margins.
TOO_FEW = {
    "pg-tang": "collapsed 4/30 (TF1) and 1/30 (TF2); the rest need ~130 seeds per side at ±10",
    "dqn-pylessons": "needs ~84 seeds per side at ±50",
}


# Entries judged on one set of runs: dqn-pylessons's two variants differ in their stopping
# rule alone, so one training run per seed gives both records (``ProgramSpec.shared_runs``;
# each the record of that variant's own run, bit for bit: test_pylessons.py).
GROUPS = [("pg-tang",), ("pg-geron",), ("dqn-meertens:exercises",), ("dqn-pylessons:evaluated", "dqn-pylessons")]
assert sorted(e for g in GROUPS for e in g) == sorted(CASES)


def _runs(group, out):
    """The group's runs (fresh processes, two at a time); per entry, its records, its scores
    per framework and the verdict of TF2 against TF1."""
    n_seeds, iterations, _ = CASES[group[0]]
    assert all(CASES[e][:2] == (n_seeds, iterations) for e in group)
    entries = [programs.parse_entry(e) for e in group]
    # lockstep where the program has it (grid.mode_for), fast for the others
    records = run_grid([(prog.name, variant) for prog, variant in entries], "lockstep", list(range(n_seeds)),
                       out, workers=2, iterations=iterations)
    result = {}
    for entry, (prog, variant) in zip(group, entries):
        recs = sorted((r for r in records if r["program"] == prog.name and r["variant"] == (variant or "book")),
                      key=lambda r: (r["framework"], r["seed"]))
        assert len(recs) == 2 * n_seeds, (entry, len(recs))
        scores = {fw: [r["eval_mean"] for r in recs if r["framework"] == fw] for fw in programs.FRAMEWORKS}
        result[entry] = recs, scores, judge_rewards(entry, scores["tf1"], scores["tf2"])
    return result


@pytest.mark.slow
@pytest.mark.parametrize("group", GROUPS, ids="+".join)
def test_learning_parity(group, tmp_path):
    """Parity, then equivalence, on one set of runs per group (one test per group: two tests
    sharing runs landed on both xdist workers, one idling minutes for the other's runs).
    Entries that CI's seeds cannot decide (``TOO_FEW``) are judged last."""
    results = _runs(group, tmp_path)
    for entry in sorted(group, key=lambda e: e in TOO_FEW):
        records, scores, verdict = results[entry]
        level = CASES[entry][2]
        med = {fw: float(np.median(v)) for fw, v in scores.items()}
        msg = f"{entry}: {scores} medians {med}; {verdict_cell(verdict)} ({verdict['margin_source']})"
        if entry.startswith("dqn-pylessons"):  # every seed meets its stopping rule within 1000 episodes
            assert all(r["solved_episode"] is not None for r in records), \
                (msg, [(r["framework"], r["seed"], r["solved_episode"]) for r in records])
        assert verdict["verdict"] not in ("worse", "better"), msg
        if level is not None:
            assert med["tf1"] >= level and med["tf2"] >= level, msg
        # equivalence: where the seeds CI affords cannot decide (TOO_FEW), the case is reported
        # as an expected failure, and fails for real the day it is decided: then it must leave TOO_FEW
        if entry in TOO_FEW:
            assert verdict["verdict"] != "equivalent", f"{entry} is now equivalent: remove it from TOO_FEW ({msg})"
            pytest.xfail(f"inconclusive at {CASES[entry][0]} seeds: {TOO_FEW[entry]}")
        assert verdict["verdict"] == "equivalent", msg
