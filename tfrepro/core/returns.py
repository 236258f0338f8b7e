"""Return math shared by every policy-gradient program (framework-free).

Both books compute discounted returns in NumPy outside the graph; the functions
here are those computations, once, with known-answer tests in
``compat_tests/test_returns.py``.
"""
from __future__ import annotations

import numpy as np


def discount_rewards(rewards, discount_rate: float) -> np.ndarray:
    """Géron, HOML 2nd ed. ch. 18: G_t = r_t + gamma * G_{t+1}, computed backwards.

    Keeps the book's dtype behaviour: ``np.array(rewards)`` of ints stays int, so
    ``discount_rewards([10, 0, -50], 0.8)`` is ``[-22, -40, -50]`` exactly.
    """
    discounted = np.array(rewards)
    for step in range(len(rewards) - 2, -1, -1):
        discounted[step] += discounted[step + 1] * discount_rate
    return discounted


def discount_and_normalize_rewards(all_rewards, discount_rate: float) -> list[np.ndarray]:
    """Géron: discount each episode, then normalise with the mean and std of *all* steps
    of the batch (one mean and one std shared across the episodes of an update)."""
    all_discounted = [discount_rewards(r, discount_rate) for r in all_rewards]
    flat = np.concatenate(all_discounted)
    mean, std = flat.mean(), flat.std()
    return [(d - mean) / std for d in all_discounted]


def normalized_discounted_rewards(rewards, discount_rate: float) -> np.ndarray:
    """Tang, *Intelligent Mobile Projects with TensorFlow*: discount one episode in float
    and normalise it *within the episode* (its own mean and std).

    A one-step episode has std 0; the source then divides by zero (NaN gradients).
    We return zeros there, which applies no update: the only safe reading.
    """
    dr = np.zeros(len(rewards))
    dr[-1] = rewards[-1]
    for n in range(2, len(rewards) + 1):
        dr[-n] = rewards[-n] + dr[-n + 1] * discount_rate
    std = dr.std()
    if std == 0:
        return np.zeros_like(dr)
    return (dr - dr.mean()) / std
