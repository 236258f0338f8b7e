"""``import gym`` for a TF1-era script: gym 0.21's API, in full, over gymnasium.

What gym 0.21 did, and what this module does the same way:

* ``gym.make(id)`` gives a ``TimeLimit`` wrapper: ``reset() -> obs``; ``step(a) -> (obs,
  reward, done, info)`` with ``done`` at the time limit and ``info["TimeLimit.truncated"]``
  there; ``seed(n) -> [n]`` (applied at the next reset, as gymnasium seeds);
  ``spec`` (``id``, ``max_episode_steps``, ``reward_threshold``); ``_max_episode_steps``
  (readable and writable: scripts lengthen episodes with it); ``env.env`` the env inside;
* ``env.unwrapped``: the same environment without the time limit, still the old API;
* public attributes of the environment read through the wrapper (``env.x_threshold``);
  private ones raise ``AttributeError`` as gym's ``Wrapper.__getattr__`` did;
* ``render()`` / ``render(mode=...)`` at any time, headless: ``rgb_array`` returns the
  frame; ``human`` draws nothing (no display) unless ``--record`` keeps the frames, one
  GIF or MP4 per episode;
* ``close()``, context manager, ``gym.spec``, ``gym.spaces``, ``gym.Wrapper`` and the
  observation / action / reward wrappers of the old API, ``gym.wrappers.Monitor`` (videos
  of the cubic schedule's episodes, and its stats file), ``gym.logger``,
  ``gym.undo_logger_setup()``, ``gym.utils.seeding.np_random`` (a ``RandomState``, as then),
  ``gym.wrappers.TimeLimit``;
* CartPole's observations are its float64 state, as gym 0.21 returned them (gymnasium
  returns the same numbers cast to float32).

Anything else is named in one line (``tfrepro legacy: gym.X is not covered``). Every use
is noted for ``--report`` where it ran.
"""
from __future__ import annotations

import json
import os
import time
import types
import warnings

import numpy as np

from .report import note
from .state import OPTS, NotCovered, episode_begins

GYM_VERSION = "0.21.0"


# -- recording -----------------------------------------------------------------------
def write_frames(frames, path, fps=50):
    """Frames (H, W, 3 uint8) to a GIF or MP4 at ``path`` (by its suffix), atomically."""
    import imageio.v3 as iio

    from ...infra.records import atomic_save

    def save(tmp):
        if path.endswith(".mp4"):
            iio.imwrite(tmp, np.stack(frames), extension=".mp4", fps=fps)
        else:
            iio.imwrite(tmp, np.stack(frames), extension=".gif", duration=1000 / fps, loop=0)

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    return atomic_save(path, save)


class _Shared:
    """State shared by a made environment and its ``unwrapped`` view."""

    def __init__(self, number):
        self.number = number
        self.pending_seed = OPTS.seed + number if OPTS.seed is not None else None
        self.episode = 0  # episodes begun on this environment
        self.frames = []
        self.recorded = []  # files written

    def flush(self):
        if self.frames and OPTS.record:
            ext = "mp4" if OPTS.record_format == "mp4" else "gif"
            path = os.path.join(OPTS.record, f"env{self.number}-episode{self.episode:04d}.{ext}")
            self.recorded.append(write_frames(self.frames, path))
        self.frames = []


# -- the environment -------------------------------------------------------------------
class Env:
    """A gym 0.21 environment over a gymnasium one (``limited``: the TimeLimit wrapper
    ``gym.make`` returned; else the bare environment, as ``env.unwrapped`` was)."""

    def __init__(self, genv, shared, env_id, limited=True):
        object.__setattr__(self, "_genv", genv)
        object.__setattr__(self, "_shared", shared)
        object.__setattr__(self, "_env_id", env_id)
        object.__setattr__(self, "_limited", limited)
        object.__setattr__(self, "_inner", None)
        # gym 0.21's CartPole returned its float64 state; gymnasium casts it to float32
        object.__setattr__(self, "_float64", str(env_id).startswith("CartPole"))

    # gym.Env's attributes
    @property
    def action_space(self):
        return self._genv.action_space

    @property
    def observation_space(self):
        return self._genv.observation_space

    @property
    def reward_range(self):
        return getattr(self._genv.unwrapped, "reward_range", (-float("inf"), float("inf")))

    @property
    def metadata(self):
        modes = list(self._genv.metadata.get("render_modes", []))
        return {"render.modes": modes, "video.frames_per_second": self._genv.metadata.get("render_fps", 50)}

    @property
    def spec(self):
        note("env.spec", "gym")
        return self._genv.spec

    @property
    def np_random(self):
        return self._genv.unwrapped.np_random

    @property
    def unwrapped(self):
        if not self._limited:
            return self
        note("env.unwrapped", "gym")
        if self._inner is None:
            object.__setattr__(self, "_inner", Env(self._genv.unwrapped, self._shared, self._env_id, limited=False))
        return self._inner

    @property
    def env(self):  # gym 0.21: the TimeLimit's inner env was the environment itself
        if not self._limited:
            raise AttributeError(f"'{type(self._genv.unwrapped).__name__}' object has no attribute 'env'")
        return self.unwrapped

    def _time_limit(self):
        w = self._genv
        while w is not None and not hasattr(w, "_max_episode_steps"):
            w = getattr(w, "env", None)
        return w

    @property
    def _max_episode_steps(self):
        if not self._limited:
            raise AttributeError("attempted to get missing private attribute '_max_episode_steps'")
        note("env._max_episode_steps", "gym")
        return self._time_limit()._max_episode_steps

    @_max_episode_steps.setter
    def _max_episode_steps(self, value):
        note("env._max_episode_steps", "gym")
        if not self._limited:
            object.__setattr__(self, "_own_max_episode_steps", value)  # no effect, as in gym
            return
        self._time_limit()._max_episode_steps = value

    # the API
    def seed(self, seed=None):
        note("env.seed", "gym")
        if seed is None:
            seed = int(np.random.SeedSequence().entropy % (2**31))  # gym drew one from the OS
        self._shared.pending_seed = int(seed)
        return [int(seed)]

    def reset(self, **kwargs):
        note("env.reset", "gym")
        sh = self._shared
        sh.flush()
        episode_begins()
        seed, sh.pending_seed = sh.pending_seed, None
        target = self._genv if self._limited else self._genv.unwrapped
        obs, _info = target.reset(seed=seed, **kwargs)
        sh.episode += 1
        return self._obs(obs)

    def _obs(self, obs):
        return np.array(self._genv.unwrapped.state, dtype=np.float64) if self._float64 else obs

    def step(self, action):
        note("env.step", "gym")
        target = self._genv if self._limited else self._genv.unwrapped
        obs, reward, terminated, truncated, info = target.step(_action(self.action_space, action))
        info = dict(info)
        if truncated and not terminated:
            info["TimeLimit.truncated"] = True
        return self._obs(obs), reward, bool(terminated or truncated), info

    def render(self, mode="human", **kwargs):
        note("env.render", "gym", detail=mode)
        if mode == "rgb_array" or OPTS.record:
            frame = self._genv.render()
            if OPTS.record and frame is not None:
                self._shared.frames.append(np.asarray(frame))
            if mode == "rgb_array":
                return frame
        return True  # gym's viewer.render() for 'human': the window is open

    def close(self):
        self._shared.flush()
        self._genv.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(f"attempted to get missing private attribute '{name}'")
        value = getattr(self._genv.unwrapped, name)  # AttributeError if the env has none
        if self._limited:
            note("env.<attribute>", "gym", detail=name)
        return value

    def __setattr__(self, name, value):
        prop = getattr(type(self), name, None)
        if isinstance(prop, property) and prop.fset is not None:
            prop.fset(self, value)
        elif not self._limited:  # the environment itself: env.unwrapped.state = ... sets its state
            setattr(self._genv.unwrapped, name, value)
        else:  # a wrapper's own attribute, as gym's Wrapper kept it
            object.__setattr__(self, name, value)

    def __str__(self):
        inner = f"<{type(self._genv.unwrapped).__name__}<{self._env_id}>>"
        return f"<TimeLimit{inner}>" if self._limited else inner

    __repr__ = __str__


def _action(space, action):
    """gym 0.21 took NumPy integers and 0-d or one-element arrays for a Discrete action."""
    import gymnasium

    if isinstance(space, gymnasium.spaces.Discrete):
        return int(np.asarray(action).reshape(-1)[0]) if np.ndim(action) else int(action)
    return action


def make(env_id, **kwargs):
    import gymnasium

    note("gym.make", "gym")
    with warnings.catch_warnings():  # gymnasium's "CartPole-v0 is out of date": gym 0.21 had no such word
        warnings.simplefilter("ignore", DeprecationWarning)
        genv = gymnasium.make(env_id, render_mode="rgb_array", **kwargs)
    number = OPTS.envs_made
    OPTS.envs_made += 1
    if OPTS.seed is not None:
        genv.action_space.seed(OPTS.seed + number)
        genv.observation_space.seed(OPTS.seed + number)
    return Env(genv, _Shared(number), env_id)


# -- the old wrappers ------------------------------------------------------------------
class Wrapper:
    """gym 0.21's ``gym.Wrapper``: forwards the old API and public attributes."""

    def __init__(self, env):
        self.env = env
        self._action_space = self._observation_space = None
        self._reward_range = self._metadata = None

    action_space = property(lambda self: self._action_space or self.env.action_space,
                            lambda self, v: setattr(self, "_action_space", v))
    observation_space = property(lambda self: self._observation_space or self.env.observation_space,
                                 lambda self, v: setattr(self, "_observation_space", v))
    reward_range = property(lambda self: self._reward_range or self.env.reward_range,
                            lambda self, v: setattr(self, "_reward_range", v))
    metadata = property(lambda self: self._metadata or self.env.metadata,
                        lambda self, v: setattr(self, "_metadata", v))
    spec = property(lambda self: self.env.spec)
    unwrapped = property(lambda self: self.env.unwrapped)

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(f"attempted to get missing private attribute '{name}'")
        return getattr(self.env, name)

    def step(self, action):
        return self.env.step(action)

    def reset(self, **kwargs):
        return self.env.reset(**kwargs)

    def render(self, mode="human", **kwargs):
        return self.env.render(mode, **kwargs)

    def close(self):
        return self.env.close()

    def seed(self, seed=None):
        return self.env.seed(seed)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __str__(self):
        return f"<{type(self).__name__}{self.env}>"

    __repr__ = __str__


class ObservationWrapper(Wrapper):
    def reset(self, **kwargs):
        return self.observation(self.env.reset(**kwargs))

    def step(self, action):
        obs, reward, done, info = self.env.step(action)
        return self.observation(obs), reward, done, info


class RewardWrapper(Wrapper):
    def step(self, action):
        obs, reward, done, info = self.env.step(action)
        return obs, self.reward(reward), done, info


class ActionWrapper(Wrapper):
    def step(self, action):
        return self.env.step(self.action(action))


class TimeLimit(Wrapper):
    """gym 0.21's ``gym.wrappers.TimeLimit`` (what ``gym.make`` put around every registered env)."""

    def __init__(self, env, max_episode_steps=None):
        super().__init__(env)
        if max_episode_steps is None and env.spec is not None:
            max_episode_steps = env.spec.max_episode_steps
        self._max_episode_steps = max_episode_steps
        self._elapsed_steps = None

    def step(self, action):
        assert self._elapsed_steps is not None, "Cannot call env.step() before calling reset()"
        obs, reward, done, info = self.env.step(action)
        self._elapsed_steps += 1
        if self._elapsed_steps >= self._max_episode_steps:
            info["TimeLimit.truncated"] = not done
            done = True
        return obs, reward, done, info

    def reset(self, **kwargs):
        self._elapsed_steps = 0
        return self.env.reset(**kwargs)


def capped_cubic_video_schedule(episode_id):
    if episode_id < 1000:
        return int(round(episode_id ** (1.0 / 3))) ** 3 == episode_id
    return episode_id % 1000 == 0


class Monitor(Wrapper):
    """gym 0.21's ``gym.wrappers.Monitor``: videos of the episodes ``video_callable``
    picks (the capped cubic schedule by default) and a stats file in ``directory``;
    frames rendered headless, videos as GIF (MP4 with ``--record-format mp4``)."""

    def __init__(self, env, directory, video_callable=None, force=False, resume=False,
                 write_upon_reset=False, uid=None, mode=None):
        super().__init__(env)
        note("gym.wrappers.Monitor", "gym")
        self.directory = os.path.abspath(directory)
        os.makedirs(self.directory, exist_ok=True)
        old = [f for f in os.listdir(self.directory) if f.startswith("openaigym.")]
        if old and force:
            for f in old:
                os.unlink(os.path.join(self.directory, f))
        elif old and not resume:
            raise RuntimeError(f"Trying to write to monitor directory {self.directory} with existing "
                               "monitor files. You should use a unique directory for each training run, "
                               "or use 'force=True' to automatically clear previous monitor files.")
        if video_callable is None:
            video_callable = capped_cubic_video_schedule
        elif video_callable is False:
            video_callable = lambda episode_id: False  # noqa: E731
        self.video_callable = video_callable
        self.episode_id = -1
        self._frames, self._stats = [], {"initial_reset_timestamp": None, "timestamps": [],
                                         "episode_lengths": [], "episode_rewards": [], "episode_types": []}
        self._length = self._reward = 0
        self._stats_path = os.path.join(self.directory, f"openaigym.episode_batch.0.{os.getpid()}.stats.json")

    def _capture(self):
        if self.video_callable(self.episode_id):
            frame = self.env.render("rgb_array")
            if frame is not None:
                self._frames.append(np.asarray(frame))

    def _end_episode(self):
        if self.episode_id >= 0:
            self._stats["episode_lengths"].append(self._length)
            self._stats["episode_rewards"].append(float(self._reward))
            self._stats["episode_types"].append("t")
            self._stats["timestamps"].append(time.time())
            ext = "mp4" if OPTS.record_format == "mp4" else "gif"
            if self._frames:
                write_frames(self._frames, os.path.join(
                    self.directory, f"openaigym.video.0.{os.getpid()}.video{self.episode_id:06d}.{ext}"))
            from ...infra.records import atomic_write_text

            atomic_write_text(self._stats_path, json.dumps(self._stats))
        self._frames, self._length, self._reward = [], 0, 0

    def reset(self, **kwargs):
        self._end_episode()
        obs = self.env.reset(**kwargs)
        self.episode_id += 1
        if self._stats["initial_reset_timestamp"] is None:
            self._stats["initial_reset_timestamp"] = time.time()
        self._capture()
        return obs

    def step(self, action):
        obs, reward, done, info = self.env.step(action)
        self._length += 1
        self._reward += reward
        self._capture()
        return obs, reward, done, info

    def close(self):
        self._end_episode()
        self.episode_id = -1
        return self.env.close()


# -- the module ------------------------------------------------------------------------
def _np_random(seed=None):
    """gym 0.21's ``seeding.np_random``: (RandomState, seed)."""
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (2**31))
    return np.random.RandomState(seed), seed


def _not_covered(prefix):
    def __getattr__(name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise NotCovered(f"{prefix}.{name} is not covered by tfrepro legacy's gym 0.21 shim")

    return __getattr__


def module():
    """The ``gym`` module a script imports, with its ``wrappers``, ``spaces``, ``utils``
    and ``envs`` submodules (keys of the returned dict are module names)."""
    import gymnasium

    gym = types.ModuleType("gym")
    gym.__version__ = GYM_VERSION
    gym.__file__ = __file__
    gym.make = make
    gym.spec = lambda env_id: gymnasium.spec(env_id)
    gym.Env, gym.Space = gymnasium.Env, gymnasium.Space
    gym.Wrapper, gym.ObservationWrapper = Wrapper, ObservationWrapper
    gym.RewardWrapper, gym.ActionWrapper = RewardWrapper, ActionWrapper
    gym.spaces = gymnasium.spaces
    gym.logger = gymnasium.logger
    gym.error = gymnasium.error
    gym.undo_logger_setup = lambda: None  # gym < 0.10's call; a no-op since
    wrappers = types.ModuleType("gym.wrappers")
    wrappers.Monitor, wrappers.TimeLimit = Monitor, TimeLimit
    wrappers.__getattr__ = _not_covered("gym.wrappers")
    monitoring = types.ModuleType("gym.wrappers.monitoring")
    wrappers.monitoring = monitoring
    utils = types.ModuleType("gym.utils")
    seeding = types.ModuleType("gym.utils.seeding")
    seeding.np_random = _np_random
    utils.seeding = seeding
    utils.__getattr__ = _not_covered("gym.utils")
    envs = types.ModuleType("gym.envs")
    envs.make, envs.spec = gym.make, gym.spec
    envs.__getattr__ = _not_covered("gym.envs")
    gym.wrappers, gym.utils, gym.envs = wrappers, utils, envs
    gym.__getattr__ = _not_covered("gym")
    return {"gym": gym, "gym.wrappers": wrappers, "gym.wrappers.monitoring": monitoring,
            "gym.utils": utils, "gym.utils.seeding": seeding, "gym.envs": envs,
            "gym.spaces": gymnasium.spaces}
