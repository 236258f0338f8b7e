"""Environment access for both worlds.

Two back ends, chosen once per process (``backend()``): gymnasium (the default, and the
only one on TF 2.x) or real gym <= 0.21 (the TF 1.15 image, ``TFREPRO_GYM=gym``, or
whenever gymnasium is not installed). Every caller sees the same two APIs whichever runs:

* ``make(env_id)``: the gymnasium API (reset(seed=) -> (obs, info), step -> 5 values);
  over real gym through ``NewGymAPI``.
* ``make_old(env_id)``: the gym <= 0.21 API TF1-era code was written for
  (``env.seed(n)``; ``reset() -> obs``; ``step(a) -> (obs, reward, done, info)``):
  ``OldGymAPI`` over gymnasium, which passes calls straight through when handed an
  environment that already speaks the old API (real gym).
* ``run_episodes`` / ``VecEpisodes``: whole episodes on a vectorised CartPole with a
  batched NumPy policy, the engine of every ``fast`` mode (gymnasium's own vectorised
  CartPole, or gym 0.21's ``SyncVectorEnv``).

The two back ends draw other start states for the same seed (gym 0.21 seeds a
``RandomState`` through a hash, gymnasium a PCG64 ``Generator``): same distribution,
other episodes. Runs compare across them statistically, never per seed.
"""
from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass

import numpy as np

from .errors import UsageError

ENV_IDS = ("CartPole-v0", "CartPole-v1")
BACKENDS = ("gymnasium", "gym")
_backend = None


def backend() -> str:
    """``TFREPRO_GYM`` (gymnasium or gym) when set, else gymnasium when it imports, else gym."""
    global _backend
    if _backend is None:
        want = os.environ.get("TFREPRO_GYM", "").strip().lower()
        if want and want not in BACKENDS:
            raise UsageError(f"TFREPRO_GYM={want!r}: choose gymnasium or gym")
        if not want:
            try:
                import gymnasium  # noqa: F401

                want = "gymnasium"
            except ImportError:
                want = "gym"
        _backend = want
    return _backend


def gym_module():
    """The module of the back end in use (gymnasium or gym)."""
    name = backend()
    try:
        if name == "gym":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                import gym
            return gym
        import gymnasium

        return gymnasium
    except ImportError:
        raise UsageError(f"the environment back end {name!r} is not installed") from None


def _make_raw(env_id: str, **kwargs):
    """The back end's own environment, quiet about CartPole-v0 being 'out of date'."""
    gym = gym_module()  # imported first: its import adds a warnings filter of its own
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return gym.make(env_id, **kwargs)


def make(env_id: str, **kwargs):
    """An environment with the gymnasium API, on either back end."""
    if backend() == "gym":
        render_mode = kwargs.pop("render_mode", None)
        return NewGymAPI(_make_raw(env_id, **kwargs), render_mode)
    return _make_raw(env_id, **kwargs)


def episode_limit(env_id: str, max_steps: int | None = 0) -> int:
    """The episode length cap: the environment's own (200 on v0, 500 on v1), or
    ``max_steps`` when that is set and smaller."""
    gym = gym_module()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        limit = gym.spec(env_id).max_episode_steps
    return min(max_steps, limit) if max_steps else limit


def config_episode_limit(cfg) -> int:
    """``episode_limit`` for a program config (``env_id``, ``max_steps``)."""
    return episode_limit(cfg.env_id, cfg.max_steps)


def as_float_obs(obs) -> np.ndarray:
    """One observation as the (1, 4) float32 batch the networks take."""
    return np.asarray(obs, np.float32).reshape(1, -1)


class _Adapter:
    """What both API adapters pass straight to the environment they wrap."""

    def __init__(self, env):
        self.env = env

    @property
    def observation_space(self):
        return self.env.observation_space

    @property
    def action_space(self):
        return self.env.action_space

    @property
    def unwrapped(self):
        return self.env.unwrapped

    def close(self):
        self.env.close()


class _PassThrough(_Adapter):
    """An environment that already speaks the old API (real gym <= 0.21), unchanged."""

    def seed(self, seed=None):
        return self.env.seed(seed)

    def reset(self):
        return self.env.reset()

    def step(self, action):
        return self.env.step(action)

    def render(self, mode="rgb_array"):
        return self.env.render(mode=mode)


def OldGymAPI(env):  # noqa: N802 - the adapter's name since the first release
    """The gym <= 0.21 API over a gymnasium environment: ``tfrepro.core.oldgym.OldEnv``, the
    one adapter ``tfrepro legacy``'s ``import gym`` uses too (``done`` is ``terminated or
    truncated``: old gym's TimeLimit also ended an episode with ``done=True`` at 200 (v0) or
    500 (v1) steps). An environment that already speaks the old API (real gym) passes
    straight through. Observations stay gymnasium's float32 (the TF2 twins read the same
    bytes; ``tfrepro legacy`` gives scripts gym 0.21's float64 CartPole state)."""
    if hasattr(env, "seed") and not hasattr(env, "np_random_seed"):
        return _PassThrough(env)
    from .oldgym import OldEnv

    return OldEnv(env)


class NewGymAPI(_Adapter):
    """The gymnasium API over an environment that speaks the old one (real gym <= 0.21).

    ``reset(seed=n)`` seeds through ``env.seed(n)``; old gym's single ``done`` splits into
    ``terminated`` and ``truncated`` by the ``TimeLimit.truncated`` flag its TimeLimit
    wrapper puts in ``info`` at the step cap.
    """

    def __init__(self, env, render_mode=None):
        super().__init__(env)
        self.render_mode = render_mode

    def reset(self, seed=None, options=None):
        if seed is not None:
            self.env.seed(seed)
        return self.env.reset(), {}

    def step(self, action):
        obs, reward, done, info = self.env.step(action)
        truncated = bool(done and info.get("TimeLimit.truncated", False))
        return obs, reward, bool(done and not truncated), truncated, info

    def render(self):
        return self.env.render(mode=self.render_mode or "human")


def make_old(env_id: str, **kwargs):
    """An environment with the gym <= 0.21 API: real gym's own when that back end runs,
    else ``OldGymAPI`` over gymnasium."""
    if backend() == "gym":
        return OldGymAPI(_make_raw(env_id, **kwargs))  # passes straight through
    return OldGymAPI(make(env_id, **kwargs))


@dataclass
class EpisodeBatch:
    """Whole episodes played side by side. Arrays are time-major, (T, N, ...);
    ``alive[t, i]`` says whether step t belongs to episode i."""

    obs: np.ndarray  # (T, N, 4) float32, observation the action was chosen from
    actions: np.ndarray  # (T, N) int64
    rewards: np.ndarray  # (T, N) float64
    alive: np.ndarray  # (T, N) bool

    @property
    def lengths(self) -> np.ndarray:
        return self.alive.sum(axis=0)

    @property
    def returns(self) -> np.ndarray:
        return (self.rewards * self.alive).sum(axis=0)

    def episode_rewards(self) -> list[list[float]]:
        return [list(self.rewards[: n, i]) for i, n in enumerate(self.lengths)]

    def flat(self):
        """Episode-major flattening (episode 0's steps, then episode 1's ...), the order of
        the books' list comprehensions over ``all_grads[episode][step]``."""
        obs, act = [], []
        for i, n in enumerate(self.lengths):
            obs.append(self.obs[:n, i])
            act.append(self.actions[:n, i])
        return np.concatenate(obs).astype(np.float32), np.concatenate(act)


class VecEpisodes:
    """Plays batches of complete episodes on gymnasium's vectorised CartPole.

    Each of the N slots plays exactly one episode per call; slots that finish early
    keep stepping (auto-reset) but their steps are masked out and not counted.
    """

    def __init__(self, env_id: str, num_envs: int, seed: int, max_steps: int | None = None):
        gym = gym_module()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            if backend() == "gym":  # gym 0.21: N copies stepped in one process
                self.envs = gym.vector.SyncVectorEnv([lambda: gym.make(env_id)] * num_envs)
            else:  # gymnasium: CartPole's own vectorised implementation
                self.envs = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point")
        self.num_envs = num_envs
        self.max_steps = episode_limit(env_id, max_steps)
        self._seed: int | None = seed
        self.env_steps = 0

    def play(self, policy, rng: np.random.Generator) -> EpisodeBatch:
        """``policy(obs (N, 4) float32, rng) -> actions (N,) int``."""
        obs = self._reset()
        self._seed = None  # later batches continue the seeded streams
        n, T = self.num_envs, self.max_steps
        obs_buf = np.zeros((T, n, obs.shape[1]), np.float32)
        act_buf = np.zeros((T, n), np.int64)
        rew_buf = np.zeros((T, n), np.float64)
        alive = np.zeros((T, n), bool)
        running = np.ones(n, bool)
        for t in range(T):
            actions = policy(obs, rng)
            obs_buf[t], act_buf[t], alive[t] = obs, actions, running
            obs, reward, done = self._step(actions)
            rew_buf[t] = reward
            running = running & ~done
            if not running.any():
                break
        t_end = t + 1
        batch = EpisodeBatch(obs_buf[:t_end], act_buf[:t_end], rew_buf[:t_end], alive[:t_end])
        self.env_steps += int(batch.alive.sum())
        return batch

    def _reset(self):
        if backend() == "gym":
            if self._seed is not None:
                self.envs.seed(self._seed)  # slot i gets seed + i
            return self.envs.reset()
        return self.envs.reset(seed=self._seed)[0]

    def _step(self, actions):
        """Step every slot; a slot that ends is reset by the vector env itself."""
        if backend() == "gym":
            obs, reward, done, _ = self.envs.step(actions)
            return obs, reward, done
        obs, reward, terminated, truncated, _ = self.envs.step(actions)
        return obs, reward, terminated | truncated

    def close(self):
        self.envs.close()


def run_episodes(policy, env_id: str, n_episodes: int, seed: int, max_steps: int | None = None,
                 rng: np.random.Generator | None = None, chunk: int = 500) -> tuple[np.ndarray, int]:
    """Evaluate ``policy`` on ``n_episodes`` episodes, vectorised in chunks.
    Returns (episode returns, env steps)."""
    rng = rng if rng is not None else np.random.default_rng(seed)
    returns, steps = [], 0
    done = 0
    while done < n_episodes:
        n = min(chunk, n_episodes - done)
        venv = VecEpisodes(env_id, n, seed=seed + done, max_steps=max_steps)
        batch = venv.play(policy, rng)
        returns.append(batch.returns)
        steps += venv.env_steps
        venv.close()
        done += n
    return np.concatenate(returns), steps


def q_trace_episode(q_values, env_id: str, seed: int, max_steps: int | None = 0):
    """One greedy episode on ``argmax q_values(obs (1, 4))``; returns (its return, the
    predicted Q values of both actions per frame), for the "predicted Q(s, a)" plot."""
    env = make(env_id)
    limit = episode_limit(env_id, max_steps)
    (obs, _), done, total, trace = env.reset(seed=seed), False, 0.0, []
    while not done and total < limit:
        q = np.asarray(q_values(as_float_obs(obs)))[0]
        trace.append([float(x) for x in q])
        obs, reward, terminated, truncated, _ = env.step(int(np.argmax(q)))
        done = terminated or truncated
        total += reward
    env.close()
    return total, trace


def env_speed(env_id="CartPole-v1", sizes=(1, 10), seconds=1.0, repeats=5) -> dict:
    """Environment steps per second of ``VecEpisodes`` alone (a random policy, no network),
    per vector size: the median of ``repeats`` timings of >= ``seconds`` each, after a
    warm-up batch. Tells how much of a fast mode's speed is the environment's."""
    out = {}
    for n in sizes:
        venv = VecEpisodes(env_id, n, seed=0)
        rng = np.random.default_rng(0)

        def policy(obs, rng):
            return rng.integers(0, 2, len(obs))

        venv.play(policy, rng)
        rates = []
        for _ in range(repeats):
            venv.env_steps, start = 0, time.perf_counter()
            while time.perf_counter() - start < seconds:
                venv.play(policy, rng)
            rates.append(venv.env_steps / (time.perf_counter() - start))
        venv.close()
        out[n] = float(np.median(rates))
    return out


if __name__ == "__main__":  # python -m tfrepro.core.envs: the environment's own speed here
    import platform

    lib = gym_module()
    print(f"{backend()} {lib.__version__}, Python {platform.python_version()}: "
          + ", ".join(f"{n} env{'s' if n > 1 else ''} {s:,.0f} steps/s" for n, s in env_speed().items()))
