"""The example pair's own tests: tfrepro's migration ladder (rungs 1-4) passes, and both
forms run, book and fast mode drawing the same actions.

Run from examples/a2c: ``python -m pytest -q tests``. With the distribution installed the
program comes from its entry point; without it, from ``--program-file``'s mechanism."""
from __future__ import annotations

import os
from dataclasses import replace

import numpy as np
import pytest

from tfrepro.infra import programs
from tfrepro.tools.ladder import climb

PAIR = os.path.join(os.path.dirname(__file__), os.pardir, "a2c_example", "pair.py")


@pytest.fixture(scope="module")
def spec():
    if "a2c-example" not in programs.names():  # not installed: load the file as --program-file does
        programs.use_program_files([PAIR])
    return programs.get("a2c-example")


def test_ladder_rungs_1_to_4_pass(spec):
    rungs = climb("a2c-example")
    assert [r.number for r in rungs] == [1, 2, 3, 4]
    failed = [f"rung {r.number} {r.name}: {r.max_diff} ({r.detail})" for r in rungs if r.passed is not True]
    assert not failed, failed
    assert rungs[0].detail.count("->") == 6  # trunk, policy and value heads: kernel and bias each


def test_port_optimizer_drifts_but_stays_close(spec):
    """Keras Adam's own epsilon (1e-7) against TF1's (1e-8): rungs 1-3 unchanged, rung 4's
    weights differ beyond its tolerance, by less than the 10 steps can move a weight
    (Adam moves each by at most about learning_rate per step)."""
    rungs = climb("a2c-example", port_optimizer=True)
    assert all(r.passed for r in rungs[:3])
    assert rungs[3].passed is False
    assert 0.0 < rungs[3].max_diff < 10 * spec.config().learning_rate
    assert "1e-7" in rungs[3].detail


@pytest.mark.parametrize("framework", ["tf1", "tf2"])
def test_run_book_and_fast_draw_the_same_actions(spec, framework):
    """Same seed, same weights, same NumPy stream: book mode (a framework call per step) and
    fast mode (NumPy policy) play the same episodes."""
    cfg = replace(spec.config(), updates=15, test_episodes=2)
    module = spec.form(framework)
    book = module.run(cfg, mode="book", seed=5)
    fast = module.run(cfg, mode="fast", seed=5)
    for out in (book, fast):
        assert out.train_env_steps == 15 * cfg.rollout
        assert out.updates == 15
        assert len(out.eval_returns) == 2
        assert len(out.weights) == 6
    assert book.train_returns == fast.train_returns
    for w_book, w_fast in zip(book.weights, fast.weights):
        np.testing.assert_allclose(w_book, w_fast, rtol=1e-4, atol=1e-5)
