"""Tier 1: The environment layer against the old gym API (gym <= 0.21), as the TF 1.15 image runs it.

Real gym 0.21 does not install on this Python, so these tests put a stand-in ``gym``
module in ``sys.modules`` that speaks the old API the way gym 0.21 does: ``env.seed(n)``
seeding a ``RandomState``, ``reset() -> obs``, ``step -> (obs, reward, done, info)``, the
TimeLimit wrapper's ``info["TimeLimit.truncated"]`` at the cap, ``gym.spec(id)`` and
``gym.vector.SyncVectorEnv`` with its ``seed(n) -> n + i`` and auto-reset. The same code
against real gym 0.21 on TF 1.15 is exercised by test_tf115.py where Python 3.7 exists.
"""
import sys
import types

import numpy as np
import pytest

from tfrepro.core import envs
from tfrepro.core.errors import UsageError

LIMITS = {"CartPole-v0": 200, "CartPole-v1": 500}


class OldCartPole:
    """gym 0.21's CartPole behind its TimeLimit wrapper: the physics of gymnasium's
    CartPoleEnv, the API and the seeding of the old one."""

    def __init__(self, env_id, log):
        from gymnasium.envs.classic_control import CartPoleEnv

        self.inner = CartPoleEnv()
        self.observation_space = self.inner.observation_space
        self.action_space = self.inner.action_space
        self.max_steps = LIMITS[env_id]
        self.rs = np.random.RandomState()
        self.t = 0
        self.log = log
        log.append(("make", env_id))

    @property
    def unwrapped(self):
        return self

    def seed(self, seed=None):
        self.rs = np.random.RandomState(seed)
        self.log.append(("seed", seed))
        return [seed]

    def reset(self):
        self.t = 0
        self.inner.state = self.rs.uniform(low=-0.05, high=0.05, size=(4,))
        self.inner.steps_beyond_terminated = None
        return np.array(self.inner.state, dtype=np.float32)

    def step(self, action):
        assert self.action_space.contains(action), action
        obs, reward, terminated, _, _ = self.inner.step(action)
        self.t += 1
        info = {}
        done = bool(terminated)
        if self.t >= self.max_steps:
            info["TimeLimit.truncated"] = not done
            done = True
        return obs, reward, done, info

    def render(self, mode="human"):
        return ("frame", mode)

    def close(self):
        pass


class SyncVectorEnv:
    """gym 0.21's SyncVectorEnv: seed(n) seeds copy i with n + i; a copy that ends is
    reset at once and its first observation returned."""

    def __init__(self, env_fns):
        self.envs = [fn() for fn in env_fns]

    def seed(self, seed=None):
        for i, env in enumerate(self.envs):
            env.seed(None if seed is None else seed + i)

    def reset(self):
        return np.stack([env.reset() for env in self.envs])

    def step(self, actions):
        obs, rewards, dones, infos = [], [], [], []
        for env, a in zip(self.envs, actions):
            o, r, d, info = env.step(a)
            if d:
                o = env.reset()
            obs.append(o), rewards.append(r), dones.append(d), infos.append(info)
        return np.stack(obs), np.array(rewards), np.array(dones), infos

    def close(self):
        pass


@pytest.fixture
def old_gym(monkeypatch):
    """A stand-in gym 0.21 in sys.modules and the gym back end selected; returns its log."""
    log = []
    gym = types.ModuleType("gym")
    gym.__version__ = "0.21.0"
    gym.make = lambda env_id: OldCartPole(env_id, log)
    gym.spec = lambda env_id: types.SimpleNamespace(max_episode_steps=LIMITS[env_id])
    gym.vector = types.SimpleNamespace(SyncVectorEnv=SyncVectorEnv)
    monkeypatch.setitem(sys.modules, "gym", gym)
    monkeypatch.setenv("TFREPRO_GYM", "gym")
    monkeypatch.setattr(envs, "_backend", None)
    yield log
    monkeypatch.setattr(envs, "_backend", None)


def _lean(obs):
    """Push towards the lean: episodes of a few dozen steps."""
    return 0 if obs[2] < 0 else 1


def _balance(obs):
    """Angle plus angular velocity: balances CartPole to the cap."""
    return int(3 * obs[2] + obs[3] > 0)


def test_backend_choice(monkeypatch):
    monkeypatch.setattr(envs, "_backend", None)
    monkeypatch.delenv("TFREPRO_GYM", raising=False)
    assert envs.backend() == "gymnasium"
    monkeypatch.setattr(envs, "_backend", None)
    monkeypatch.setitem(sys.modules, "gymnasium", None)  # not installed: import fails
    assert envs.backend() == "gym"
    monkeypatch.setattr(envs, "_backend", None)
    monkeypatch.setenv("TFREPRO_GYM", "gym3")
    with pytest.raises(UsageError, match="choose gymnasium or gym"):
        envs.backend()
    monkeypatch.setattr(envs, "_backend", None)


def test_missing_backend_is_a_usage_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "gym", None)
    monkeypatch.setenv("TFREPRO_GYM", "gym")
    monkeypatch.setattr(envs, "_backend", None)
    with pytest.raises(UsageError, match="'gym' is not installed"):
        envs.make_old("CartPole-v0")
    monkeypatch.setattr(envs, "_backend", None)


def test_make_old_is_real_old_gym_passed_through(old_gym):
    """make_old on the gym back end: the old environment's own seed/reset/step, unchanged."""
    env = envs.make_old("CartPole-v0")
    ref = OldCartPole("CartPole-v0", [])
    assert env.seed(5) == [5] and ref.seed(5) == [5]
    for _ in range(3):
        obs, ref_obs, done = env.reset(), ref.reset(), False
        np.testing.assert_array_equal(obs, ref_obs)
        while not done:
            obs, r, done, info = env.step(_lean(obs))
            ref_obs, r2, done2, info2 = ref.step(_lean(ref_obs))
            np.testing.assert_array_equal(obs, ref_obs)
            assert (r, done, info) == (r2, done2, info2)
    assert env.render(mode="rgb_array") == ("frame", "rgb_array")
    assert ("make", "CartPole-v0") in old_gym and ("seed", 5) in old_gym


def test_make_gives_the_gymnasium_api_over_old_gym(old_gym):
    """make() on the gym back end: reset(seed=) -> (obs, info); done split into terminated
    (the pole fell) and truncated (the 200-step cap, from TimeLimit.truncated)."""
    env = envs.make("CartPole-v0")
    obs, info = env.reset(seed=3)
    assert info == {} and ("seed", 3) in old_gym and obs.shape == (4,)
    obs, _ = env.reset(seed=3)
    ref = OldCartPole("CartPole-v0", [])
    ref.seed(3)
    np.testing.assert_array_equal(obs, ref.reset())
    # a policy that balances: the episode ends by the cap
    for t in range(200):  # noqa: B007 (t read after the loop)
        obs, reward, terminated, truncated, _ = env.step(_balance(obs))
        if terminated or truncated:
            break
    assert (t, terminated, truncated, reward) == (199, False, True, 1.0)
    # always push left: the pole falls long before the cap
    env.reset(seed=3)
    for t in range(200):  # noqa: B007 (t read after the loop)
        _, _, terminated, truncated, _ = env.step(0)
        if terminated or truncated:
            break
    assert terminated and not truncated and t < 50


def test_vector_episodes_over_old_gym(old_gym):
    """VecEpisodes on gym 0.21's SyncVectorEnv: slot i plays exactly the episode the single
    environment seeded with seed + i plays; steps after an episode's end are masked out."""
    venv = envs.VecEpisodes("CartPole-v0", 6, seed=10)
    assert isinstance(venv.envs, SyncVectorEnv)
    batch = venv.play(lambda obs, rng: (obs[:, 2] >= 0).astype(np.int64), np.random.default_rng(0))
    for i in range(6):
        env = OldCartPole("CartPole-v0", [])
        env.seed(10 + i)
        obs, done, total = env.reset(), False, 0.0
        while not done:
            obs, r, done, _ = env.step(_lean(obs))
            total += r
        assert batch.returns[i] == total
    assert venv.env_steps == int(batch.lengths.sum())
    returns, steps = envs.run_episodes(lambda obs, rng: rng.integers(0, 2, len(obs)), "CartPole-v1",
                                       300, seed=0)
    assert len(returns) == 300 and steps == returns.sum()
    assert 18 < returns.mean() < 26  # a random policy lasts about 22 steps
    assert envs.episode_limit("CartPole-v1") == 500 and envs.episode_limit("CartPole-v0", 50) == 50


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["book", "fast"])
def test_legacy_programs_run_unchanged_on_old_gym(old_gym, mode):
    """Whole legacy_tf1 programs on the stand-in gym: they run, use it, and score like
    CartPole (the random policy ~22; pg-tang after 3 updates still ~random)."""
    from tfrepro.infra.runner import RunSettings, run_program

    rec = run_program(RunSettings("random-policy", "tf1", mode, 0))
    assert 18 < rec["eval_mean"] < 26 and len(rec["eval_returns"]) == 1000
    rec = run_program(RunSettings("pg-tang", "tf1", mode, 0, iterations=3))
    assert len(rec["train_returns"]) == 3 and 8 <= rec["eval_mean"] <= 200
    assert sum(1 for e in old_gym if e[0] == "make") >= 2


@pytest.mark.parametrize("which", ["gymnasium", "gym"])
def test_env_speed_on_both_back_ends(which, request, monkeypatch):
    """python -m tfrepro.core.envs: steps/s of the vector environment alone, per size."""
    if which == "gym":
        request.getfixturevalue("old_gym")
    else:
        monkeypatch.setattr(envs, "_backend", "gymnasium")
    rates = envs.env_speed("CartPole-v0", sizes=(1, 3), seconds=0.05, repeats=2)
    assert sorted(rates) == [1, 3] and all(r > 100 for r in rates.values())


@pytest.mark.slow
def test_backend_errors_through_the_cli(cli, tmp_path, monkeypatch):
    """A bad TFREPRO_GYM, or a back end that is not installed (no gym in requirements.txt):
    one line, exit 2, nothing written."""
    for value, needle in (("bogus", "choose gymnasium or gym"), ("gym", "'gym' is not installed")):
        monkeypatch.setenv("TFREPRO_GYM", value)
        proc = cli("run", "pg-tang", "--iterations", "1", "--out", "r.json")
        assert proc.returncode == 2 and needle in proc.stderr and len(proc.stderr.splitlines()) == 1
        assert not (tmp_path / "r.json").exists()
