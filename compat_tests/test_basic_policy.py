"""Tier 1: The hard-coded policy under both protocols, and the old-gym adapter."""
import numpy as np
import pytest

from legacy_tf1 import basic_policy as old
from modern_tf2 import basic_policy as new
from tfrepro.core.configs import BasicPolicyConfig
from tfrepro.core.envs import OldGymAPI, make


def _stats(x):
    return (float(np.mean(x)), float(np.std(x)), float(np.min(x)), float(np.max(x)))


def test_third_edition_protocol_exact():
    """Géron 3rd-ed. notebook: env.reset(seed=episode), 500 episodes, <= 200 steps, v1."""
    returns = new.play_book(BasicPolicyConfig(), seed=0)
    assert _stats(returns) == (41.698, 8.389445512070509, 24.0, 63.0)


def test_second_edition_protocol_through_the_adapter():
    """One env.seed(42) then 500 resets, through the old-API adapter. gym 0.21 had its own
    seeding (RandomState), gone from gymnasium, so this is not the 41.718 / 42.0 of gym;
    it pins what gymnasium gives, so a change in gymnasium's streams shows up here."""
    returns = old.play_book(BasicPolicyConfig(), seed=42)
    assert _stats(returns) == (42.212, 9.032998173364147, 24.0, 72.0)


def test_adapter_equals_the_gymnasium_loop():
    """OldGymAPI's seed() + reset() is reset(seed=...) then reset(): same episodes."""
    env = OldGymAPI(make("CartPole-v1"))
    ref = make("CartPole-v1")
    env.seed(7)
    for episode in range(5):
        obs = env.reset()
        ref_obs, _ = ref.reset(seed=7 if episode == 0 else None)
        np.testing.assert_array_equal(obs, ref_obs)
        done = False
        while not done:
            a = 0 if obs[2] < 0 else 1
            obs, reward, done, info = env.step(np.int64(a))
            ref_obs, r2, term, trunc, _ = ref.step(a)
            np.testing.assert_array_equal(obs, ref_obs)
            assert reward == r2 and done == (term or trunc) and isinstance(done, bool)


class _OldStyleEnv:
    """A stand-in for a real gym <= 0.21 environment (4-tuple step, env.seed)."""

    def __init__(self):
        self.seeded = None
        self.observation_space = self.action_space = None

    def seed(self, s):
        self.seeded = s
        return [s]

    def reset(self):
        return np.zeros(4)

    def step(self, a):
        return np.ones(4), 1.0, True, {"a": a}


def test_adapter_passes_old_api_through():
    inner = _OldStyleEnv()
    env = OldGymAPI(inner)
    assert env.seed(3) == [3] and inner.seeded == 3
    assert env.reset().tolist() == [0, 0, 0, 0]
    obs, r, done, info = env.step(1)
    assert done is True and info == {"a": 1}


@pytest.mark.slow
def test_fast_mode_is_an_equivalent_policy():
    """2000 fast-mode episodes against the book's 500: equivalent (TOST) at basic-policy's
    declared margin of 2.1 (5% of the source's 41.698), episodes as the samples."""
    from tfrepro.core.verdicts import compare_means
    from tfrepro.infra import programs

    fast = np.concatenate([new.run(BasicPolicyConfig(), mode="fast", seed=s).eval_returns for s in range(4)])
    book = new.play_book(BasicPolicyConfig(), seed=0)
    r = compare_means(book, fast, programs.get("basic-policy").margin)
    assert r["verdict"] == "equivalent", r


def test_vector_cartpole_has_the_same_dynamics():
    """fast modes use gymnasium's vector CartPole, book modes the single one: same reset
    for the same seed, same physics (to float32 rounding), same episode end."""
    import gymnasium as gym

    from tfrepro.core.envs import VecEpisodes

    venv = VecEpisodes("CartPole-v0", 1, seed=0)
    single = make("CartPole-v0")
    v_obs, _ = venv.envs.reset(seed=0)
    s_obs, _ = single.reset(seed=0)
    np.testing.assert_array_equal(v_obs[0], s_obs)
    rng = np.random.default_rng(0)
    for t in range(200):
        a = int(rng.integers(0, 2)) if t % 3 else (0 if s_obs[2] < 0 else 1)
        v_obs, _, v_term, v_trunc, _ = venv.envs.step(np.array([a]))
        s_obs, _, s_term, s_trunc, _ = single.step(a)
        assert (bool(v_term[0]), bool(v_trunc[0])) == (s_term, s_trunc)
        if s_term or s_trunc:
            break
        np.testing.assert_allclose(v_obs[0], s_obs, atol=1e-6)
    assert isinstance(venv.envs, gym.vector.VectorEnv)
