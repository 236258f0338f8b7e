"""Framework-free policies: the hard-coded basic policy and a NumPy forward pass of the
small policy networks, used by every ``fast`` mode to act without a framework call."""
from __future__ import annotations

import numpy as np


def basic_policy(obs) -> int:
    """Géron: 'if the pole is tilting to the left, then push the cart to the left'."""
    angle = obs[2]
    return 0 if angle < 0 else 1


def basic_policy_batch(obs, rng=None) -> np.ndarray:
    return (np.asarray(obs)[:, 2] >= 0).astype(np.int64)


def _elu(x):
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0)))


ACTIVATIONS = {"relu": lambda x: np.maximum(x, 0), "elu": _elu}


def mlp_proba_left(weights, obs, activation: str) -> np.ndarray:
    """P(action 0 = left) of a one-hidden-layer sigmoid policy. ``weights`` is the
    canonical list [hidden kernel, hidden bias, output kernel, output bias]."""
    w1, b1, w2, b2 = weights
    h = ACTIVATIONS[activation](obs @ w1 + b1)
    logits = (h @ w2 + b2)[:, 0]
    return 1.0 / (1.0 + np.exp(-logits))


def sampling_policy(weights, activation: str):
    """Act like ``multinomial(log([p, 1 - p]))`` / ``uniform() > p``: action 0 with
    probability p. Same distribution as the graph ops, a NumPy random stream."""
    weights = [np.asarray(w, np.float64) for w in weights]

    def policy(obs, rng):
        p = mlp_proba_left(weights, np.asarray(obs, np.float64), activation)
        return (rng.random(p.shape[0]) >= p).astype(np.int64)

    return policy


def mlp_q(weights, obs) -> np.ndarray:
    """Q values of a ReLU network with a linear output layer; ``weights`` is
    [W1, b1, W2, b2, ...] as both DQN forms exchange them."""
    x = np.asarray(obs, np.float32)
    for i in range(0, len(weights) - 2, 2):
        x = np.maximum(x @ weights[i] + weights[i + 1], 0)
    return x @ weights[-2] + weights[-1]


def greedy_q_policy(weights):
    """Act like the DQN test play: argmax of the predicted Q values."""
    weights = [np.asarray(w, np.float32) for w in weights]
    return lambda obs, rng=None: np.argmax(mlp_q(weights, obs), axis=1).astype(np.int64)


def relu_sampling(weights):
    """``sampling_policy`` of a ReLU policy network (the programs' ``numpy_policy`` hook)."""
    return sampling_policy(weights, "relu")


def elu_sampling(weights):
    """``sampling_policy`` of an ELU policy network (Géron's)."""
    return sampling_policy(weights, "elu")
