"""Tier 1: known answers for the return math, computed independently."""
import numpy as np
import pytest

from tfrepro.core.returns import (
    discount_and_normalize_rewards,
    discount_rewards,
    normalized_discounted_rewards,
)


def test_discount_rewards_book_answer():
    out = discount_rewards([10, 0, -50], 0.8)
    assert out.tolist() == [-22, -40, -50]


def test_discount_and_normalize_book_answer():
    a, b = discount_and_normalize_rewards([[10, 0, -50], [10, 20]], 0.8)
    np.testing.assert_allclose(a, [-0.28435071, -0.86597718, -1.18910299], atol=1e-8)
    np.testing.assert_allclose(b, [1.26665318, 1.0727777], atol=1e-8)


def test_geron_normalises_across_the_batch():
    eps = discount_and_normalize_rewards([[1.0] * 5, [1.0] * 20], 0.95)
    flat = np.concatenate(eps)
    assert abs(flat.mean()) < 1e-12 and abs(flat.std() - 1) < 1e-12
    assert abs(eps[0].mean()) > 0.1  # the short episode sits below the shared mean


def _tang_reference(rewards, gamma):
    # independent: G_t = sum_k gamma^k r_{t+k}, then z-score within the episode
    r = np.asarray(rewards, float)
    g = np.array([sum(gamma ** k * x for k, x in enumerate(r[t:])) for t in range(len(r))])
    return (g - g.mean()) / g.std()


@pytest.mark.parametrize("rewards", [[1.0] * 10, [1.0] * 200, [3, -1, 0, 2, 5.5]])
def test_tang_normalises_within_the_episode(rewards):
    out = normalized_discounted_rewards(rewards, 0.95)
    np.testing.assert_allclose(out, _tang_reference(rewards, 0.95), atol=1e-12)
    assert abs(out.mean()) < 1e-12 and abs(out.std() - 1) < 1e-12


def test_tang_known_answer_three_steps():
    # G = [1 + .95 + .9025, 1 + .95, 1] = [2.8525, 1.95, 1]; mean 1.934167, std 0.756363
    out = normalized_discounted_rewards([1, 1, 1], 0.95)
    np.testing.assert_allclose(out, [1.21414393, 0.02093352, -1.23507745], atol=1e-7)


def test_tang_one_step_episode_gives_no_update():
    assert normalized_discounted_rewards([1.0], 0.95).tolist() == [0.0]
