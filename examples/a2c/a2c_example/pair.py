"""The pair: a one-step advantage actor-critic on CartPole, as a TF1 graph program
(``a2c_tf1``) and its TF2 port (``a2c_tf2``), described to tfrepro by ``PROGRAM``.

Framework-free (no TensorFlow import here): tfrepro reads this file to list programs, and
imports a form only when it is run.

How tfrepro finds it, either way:

* installed (``pip install -e examples/a2c``): the entry point
  ``a2c-example = "a2c_example.pair:PROGRAM"`` in the group ``tfrepro.programs``; this
  module is then ``a2c_example.pair`` and the forms are ``a2c_example.a2c_tf1`` / ``..a2c_tf2``;
* not installed (``tfrepro ... --program-file examples/a2c/a2c_example/pair.py``): tfrepro
  imports this file as the top-level module ``pair`` with its folder first on ``sys.path``,
  so the forms beside it are the top-level modules ``a2c_tf1`` / ``a2c_tf2``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tfrepro.core.protocol import ProgramSpec, Timing

# "a2c_example." when imported from the installed package, "" when loaded as a lone file
_PREFIX = f"{__package__}." if __package__ else ""


@dataclass
class A2CConfig:
    """One environment, rollouts of ``rollout`` steps, one update per rollout on the mean
    over its steps of ``advantage * cross-entropy + value_coef * (target - V)^2`` with one-step
    TD targets ``r + gamma * (1 - done) * V(s')``."""

    env_id: str = "CartPole-v1"
    hidden: int = 64  # one ReLU trunk, two heads: 2 logits and V(s)
    learning_rate: float = 0.003  # one tf.train.AdamOptimizer on the summed loss
    gamma: float = 0.95  # V(s) up to ~20: the value loss does not swamp the shared trunk
    value_coef: float = 0.5
    rollout: int = 32  # env steps per update
    updates: int = 2000  # the --iterations field; 64k env steps, a few seconds in fast mode
    test_episodes: int = 20
    max_steps: int = 0  # 0: the environment's own cap (500 on v1)


def policy_probs(weights, obs) -> np.ndarray:
    """P(a | s) (B, 2) of the network [trunk kernel, trunk bias, policy kernel, policy bias,
    value kernel, value bias] in NumPy (float64)."""
    w1, b1, wp, bp = (np.asarray(w, np.float64) for w in weights[:4])
    logits = np.maximum(np.asarray(obs, np.float64) @ w1 + b1, 0.0) @ wp + bp
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def numpy_policy(weights):
    """weights -> policy(obs (B, 4), rng) -> actions (B,): samples action 1 when a uniform
    draw is at least P(left), one draw per observation, as book mode draws from the graph's
    probabilities (so that book and fast mode, TF1 and TF2, read one NumPy stream alike).
    Used by fast mode, evaluation and ``tfrepro run --gif``."""
    weights = [np.asarray(w, np.float64) for w in weights]

    def policy(obs, rng):
        p_left = policy_probs(weights, obs)[:, 0]
        return (rng.random(len(p_left)) >= p_left).astype(np.int64)

    return policy


PROGRAM = ProgramSpec(
    name="a2c-example",
    config=A2CConfig,
    forms={"tf1": f"{_PREFIX}a2c_tf1", "tf2": f"{_PREFIX}a2c_tf2"},
    agent="ActorCritic",
    source="examples/a2c: a TF1-era one-step advantage actor-critic (a user's own program)",
    source_number="none (not from a book)",
    iterations_field="updates",
    modes=("book", "fast"),
    numpy_policy=numpy_policy,  # a callable works as well as a "module:attribute" string
    tf2_optimizer="modern_tf2.common:adam_tf1_epsilon",
    pairing="tf.train.AdamOptimizer (epsilon 1e-8) against Keras Adam with TF1's epsilon 1e-8",
    port_pairing="tf.train.AdamOptimizer (epsilon 1e-8) against the port's Keras Adam (Keras's "
                 "default epsilon 1e-7)",
    outputs_label="action probabilities and V(s)",
    curve_unit="episode",
    margin=50.0,
    margin_note="no source number: 10% of CartPole-v1's 500-step cap, as for dqn-pylessons; "
                "one-step actor-critic ends anywhere from ~100 to 500 by seed, so a tighter "
                "margin would ask for hundreds of seeds per side",
    # fast_seconds measured: 3.5 s (tf1), 5.1 s (tf2) per run record, 2000 updates. bench times
    # each loop for about a second or more: the TF2 book loop (one eager call per step) runs
    # ~250 steps/s, 20 updates of 32 steps ~2.6 s; the fast loops ~9,000-18,000 steps/s
    timing=Timing(fast_seconds=5.0, bench_iterations={("quick", "book"): 20, ("quick", "fast"): 1000,
                                                      ("full", "book"): 60, ("full", "fast"): 2000}),
)
