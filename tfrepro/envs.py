"""Environment access for both worlds.

* ``make(env_id)``: a gymnasium environment (reset -> (obs, info), step -> 5 values).
* ``OldGymAPI``: the one small adapter that gives TF1-era code the gym <= 0.21 API
  (``env.seed(n)``; ``reset() -> obs``; ``step(a) -> (obs, reward, done, info)``)
  over a gymnasium environment. If it is handed an environment that already speaks
  the old API (real gym 0.10-0.21), it passes calls straight through.
* ``run_episodes``: play whole episodes on gymnasium's vectorised CartPole with a
  batched NumPy policy; the engine of every ``fast`` mode.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

ENV_IDS = ("CartPole-v0", "CartPole-v1")


def _gym():
    import gymnasium

    return gymnasium


def make(env_id: str, **kwargs):
    """gymnasium.make, quiet about CartPole-v0 being 'out of date' (the books use it)."""
    gym = _gym()  # imported first: its import adds a warnings filter of its own
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return gym.make(env_id, **kwargs)


def episode_limit(env_id: str, max_steps: int | None = 0) -> int:
    """The episode length cap: the environment's own (200 on v0, 500 on v1), or
    ``max_steps`` when that is set and smaller."""
    gym = _gym()
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


class OldGymAPI:
    """The gym <= 0.21 API over a gymnasium environment.

    ``done`` is ``terminated or truncated``: old gym's TimeLimit also ended an episode
    with ``done=True`` at 200 (v0) or 500 (v1) steps.
    """

    def __init__(self, env):
        self.env = env
        self._pending_seed = None
        # An environment that already speaks the old API (real gym <= 0.21).
        self._native_old = hasattr(env, "seed") and not hasattr(env, "np_random_seed")

    @property
    def observation_space(self):
        return self.env.observation_space

    @property
    def action_space(self):
        return self.env.action_space

    @property
    def unwrapped(self):
        return self.env.unwrapped

    def seed(self, seed=None):
        if self._native_old:
            return self.env.seed(seed)
        self._pending_seed = seed  # gymnasium seeds at the next reset
        return [seed]

    def reset(self):
        if self._native_old:
            return self.env.reset()
        obs, _info = self.env.reset(seed=self._pending_seed)
        self._pending_seed = None
        return obs

    def step(self, action):
        if self._native_old:
            return self.env.step(action)
        # NumPy 2: a np.int64 or a (1,) array is fine, np.bool_ fails Discrete checks.
        obs, reward, terminated, truncated, info = self.env.step(int(action))
        return obs, reward, bool(terminated or truncated), info

    def render(self, mode="rgb_array"):
        if self._native_old:
            return self.env.render(mode=mode)
        return self.env.render()

    def close(self):
        self.env.close()


def make_old(env_id: str, **kwargs) -> OldGymAPI:
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
        gym = _gym()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            self.envs = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point")
        self.num_envs = num_envs
        self.max_steps = episode_limit(env_id, max_steps)
        self._seed = seed
        self.env_steps = 0

    def play(self, policy, rng: np.random.Generator) -> EpisodeBatch:
        """``policy(obs (N, 4) float32, rng) -> actions (N,) int``."""
        obs, _ = self.envs.reset(seed=self._seed)
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
            obs, reward, terminated, truncated, _ = self.envs.step(actions)
            rew_buf[t] = reward
            running = running & ~(terminated | truncated)
            if not running.any():
                break
        t_end = t + 1
        batch = EpisodeBatch(obs_buf[:t_end], act_buf[:t_end], rew_buf[:t_end], alive[:t_end])
        self.env_steps += int(batch.alive.sum())
        return batch

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
