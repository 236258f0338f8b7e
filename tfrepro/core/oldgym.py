"""gym 0.21's API over gymnasium: the one adapter that both the TF1 forms of this package's
programs (``tfrepro.core.envs.make_old``) and ``tfrepro legacy``'s ``import gym`` use, so a
ported program and an unchanged script see the same environment.

What gym 0.10-0.21 did, and what ``OldEnv`` does the same way:

* ``gym.make(id)`` gave a ``TimeLimit`` wrapper: ``reset() -> obs``; ``step(a) -> (obs,
  reward, done, info)`` with ``done`` at the time limit and ``info["TimeLimit.truncated"]``
  there; ``seed(n) -> [n]`` (applied at the next reset, as gymnasium seeds); ``spec``;
  ``_max_episode_steps`` (readable and writable); ``env.env`` the environment inside;
* ``env.unwrapped``: the same environment without the time limit, still the old API;
* public attributes of the environment read through the wrapper (``env.x_threshold``);
  private ones raise ``AttributeError`` as gym's ``Wrapper.__getattr__`` did; toy text's
  ``DiscreteEnv`` attributes ``nS``, ``nA``, ``P``, ``isd``, ``s``, ``lastaction``;
* ``render(mode)`` at any time: ``rgb_array`` returns the frame; toy text's ``human`` and
  ``ansi`` modes print / return the map as text, as gym's toy text did;
* a Discrete action may be a NumPy integer or a one-element array;
* the era's environment ids (``Pendulum-v0``, ``FrozenLake-v0``, ``Taxi-v2``,
  ``Blackjack-v0``, ``LunarLander-v2``...) make gymnasium's version of the environment
  (``ERA_IDS``, each with what changed between the two).

Hooks (``Hooks``) let ``tfrepro legacy`` count episodes and steps, note what the script used
and keep rendered frames; the programs use none. Python 3.7 syntax: the TF 1.15 image imports it.
"""
from __future__ import annotations

import hashlib
import struct
import warnings

import numpy as np

# gym 0.10-0.21 id -> (gymnasium id, make() keyword arguments, what changed between the two)
ERA_IDS = {
    "Pendulum-v0": ("Pendulum-v1", {}, "gym's Pendulum-v0 integrated the angle with the velocity before clipping it "
                    "to 8 rad/s (v1 clips first) and wrote the torque term as -sin(th + pi): the same motion until "
                    "the speed limit is reached, then v0's angle runs ahead; the last bits differ throughout"),
    "FrozenLake-v0": ("FrozenLake-v1", {}, "none for the default maps (slip 1/3 to each side, reward 1 at the goal, "
                      "100 steps); gymnasium's transition table holds integer rewards where gym's held floats"),
    "FrozenLake8x8-v0": ("FrozenLake8x8-v1", {}, "none for the default map (200 steps); integer rewards in P"),
    "Taxi-v1": ("Taxi-v4", {}, "v1 -> v2: the taxi no longer starts on the passenger's goal, and the reward "
                "threshold rose; v3: the map corrected; rewards -1 / +20 / -10 and 200 steps throughout"),
    "Taxi-v2": ("Taxi-v4", {}, "v3: the map corrected (gymnasium's changelog); gymnasium adds an action mask to info; "
                "v4 changes only the optional rainy / fickle modes, off by default"),
    "Taxi-v3": ("Taxi-v4", {}, "gymnasium adds an action mask to info; v4 changes only the optional rainy / fickle "
                "modes, off by default"),
    "CliffWalking-v0": ("CliffWalking-v1", {}, "none (v1 adds a slippery variant, off by default); no time limit"),
    "Blackjack-v0": ("Blackjack-v1", {"sab": False, "natural": False},
                     "gym's rules kept (sab=False: gymnasium's registration now defaults to Sutton & Barto's, "
                     "where a natural wins outright); v1 fixed the natural bonus, which is off (natural=False)"),
    "Blackjack-v1": ("Blackjack-v1", {"sab": False, "natural": False},
                     "gym's rules kept (sab=False: gymnasium's registration now defaults to Sutton & Barto's)"),
    "LunarLander-v2": ("LunarLander-v3", {}, "v3 resets wind and turbulence every episode, destroys the world fully "
                       "(deterministic now) and widens the observation bounds; dynamics and rewards as v2"),
    "LunarLanderContinuous-v2": ("LunarLander-v3", {"continuous": True}, "as LunarLander-v2"),
    "BipedalWalker-v2": ("BipedalWalker-v3", {}, "v3 returns the closest lidar trace instead of the furthest"),
    "BipedalWalkerHardcore-v2": ("BipedalWalker-v3", {"hardcore": True},
                                 "v3 returns the closest lidar trace instead of the furthest"),
    "BipedalWalkerHardcore-v3": ("BipedalWalker-v3", {"hardcore": True}, "none"),
    "CarRacing-v0": ("CarRacing-v3", {}, "v1 changed the track-completion logic and added domain randomisation "
                     "(off by default); v2 ends a finished lap as terminated, not truncated"),
}
# ids of gym 0.10-0.21 whose environments gymnasium no longer ships
GONE = {"NChain-v0", "Roulette-v0", "KellyCoinflip-v0", "KellyCoinflipGeneralized-v0", "GuessingGame-v0",
        "HotterColder-v0", "Copy-v0", "RepeatCopy-v0", "ReversedAddition-v0", "ReversedAddition3-v0",
        "DuplicatedInput-v0", "Reverse-v0", "OneRoundDeterministicReward-v0", "TwoRoundDeterministicReward-v0",
        "OneRoundNondeterministicReward-v0", "TwoRoundNondeterministicReward-v0"}

TOY_TEXT = ("FrozenLake", "Taxi", "CliffWalking", "Blackjack")


def resolve(env_id: str):
    """(gymnasium id, make kwargs, what changed or None) for an id of gym's era."""
    if env_id in ERA_IDS:
        new, kwargs, change = ERA_IDS[env_id]
        return new, dict(kwargs), change
    return env_id, {}, None


# observations whose type gym 0.21 gave otherwise (same values)
ERA_OBS = {
    # gym's Blackjack: (player sum, dealer card, usable ace) with the ace a bool; gymnasium's is an int
    "BlackjackEnv": lambda o: (int(o[0]), int(o[1]), bool(o[2])),
}


class EraSpec:
    """``env.spec`` as gym 0.10-0.21 gave it: the id the script asked for (``FrozenLake-v0``,
    not gymnasium's ``FrozenLake-v1``), ``max_episode_steps``, ``timestep_limit`` (its gym
    0.10 name), ``tags``, ``trials``, ``reward_threshold``, ``nondeterministic``, ``kwargs``;
    anything else from gymnasium's spec."""

    def __init__(self, spec, env_id=None):
        self._spec = spec
        self.id = env_id or spec.id
        self.max_episode_steps = spec.max_episode_steps
        self.timestep_limit = spec.max_episode_steps
        self.reward_threshold = spec.reward_threshold
        self.nondeterministic = spec.nondeterministic
        self.kwargs = dict(spec.kwargs)
        self._kwargs = self.kwargs
        self.entry_point = spec.entry_point
        self.trials = 100
        self.max_episode_seconds = None
        self.tags = {"wrapper_config.TimeLimit.max_episode_steps": spec.max_episode_steps}

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self._spec, name)

    def __repr__(self):
        return "EnvSpec(%s)" % self.id


# -- gym 0.21's seeding ------------------------------------------------------------------------
class Gym021Random(np.random.RandomState):
    """gym 0.21's generator (a ``RandomState`` seeded through ``hash_seed``), also answering the
    ``Generator`` methods gymnasium's environments and spaces call (``integers``), so that a
    gymnasium environment given it draws what gym 0.21's drew: the same start states, the same
    slips, the same ``action_space.sample()``."""

    def integers(self, low, high=None, size=None, dtype=np.int64, endpoint=False):
        if high is None:
            low, high = 0, low
        return self.randint(low, high + 1 if endpoint else high, size=size, dtype=dtype)


def _bigint_from_bytes(data):
    data = data + b"\0" * (4 - len(data) % 4)
    accum = 0
    for i, val in enumerate(struct.unpack("{}I".format(len(data) // 4), data)):
        accum += 2 ** (32 * i) * val
    return accum


def np_random_021(seed):
    """``gym.utils.seeding.np_random(seed)`` of gym 0.21 for a non-negative int: (rng, seed)."""
    seed = int(seed) % 2 ** 64
    bigint = _bigint_from_bytes(hashlib.sha512(str(seed).encode("utf8")).digest()[:8])
    ints = []
    while bigint > 0:
        bigint, mod = divmod(bigint, 2 ** 32)
        ints.append(mod)
    rng = Gym021Random()
    rng.seed(ints or [0])
    return rng, seed


class Hooks:
    """What ``tfrepro legacy`` watches; the programs use these no-ops."""

    keep_frames = False  # render 'human' frames too (for a recording)

    def note(self, construct: str, detail=None):
        pass

    def reset(self, env):  # before an episode begins (may stop the run)
        pass

    def started(self, env, obs):  # after a reset, with the state it returned
        pass

    def step(self, env):  # before a step (may stop the run)
        pass

    def stepped(self, env, reward, done):  # after a step
        pass

    def env_seed(self, env, seed):  # the seed a script gave env.seed(): the one to use
        return seed

    def frame(self, env, frame):  # a frame the script rendered
        pass

    def flush(self, env):  # an episode ended or the environment closed
        pass


class _Shared:
    """State shared by a made environment and its ``unwrapped`` view."""

    def __init__(self, number: int, seed=None):
        self.number = number
        self.pending_seed = seed
        self.episode = 0  # episodes begun on this environment
        self.frames: list = []
        self.recorded: list = []


_DISCRETE: list = []  # gymnasium's Discrete, once imported


def _action(space, action):
    """gym 0.21 took NumPy integers and 0-d or one-element arrays for a Discrete action."""
    if not _DISCRETE:
        import gymnasium

        _DISCRETE.append(gymnasium.spaces.Discrete)
    if isinstance(space, _DISCRETE[0]):
        if type(action) is int:  # the usual case, as it is
            return action
        return int(np.asarray(action).reshape(-1)[0]) if np.ndim(action) else int(action)
    return action


class OldEnv:
    """A gym 0.21 environment over a gymnasium one (``limited``: the TimeLimit wrapper
    ``gym.make`` returned; else the bare environment, as ``env.unwrapped`` was).
    ``era``: as gym 0.21 was, measured against it: ``env.seed(n)`` its hashed ``RandomState``
    (the same start states, slips and samples: ``np_random_021``), Blackjack's usable ace a
    bool (``ERA_OBS``). CartPole's observation is float32 in both (gym 0.21 cast its float64
    state, as gymnasium does; gym 0.10-0.17 returned the float64 state itself)."""

    def __init__(self, genv, env_id=None, limited=True, hooks=None, shared=None, era=False):
        env_id = env_id or (genv.spec.id if genv.spec is not None else type(genv.unwrapped).__name__)
        object.__setattr__(self, "_genv", genv)
        object.__setattr__(self, "_env_id", env_id)
        object.__setattr__(self, "_limited", limited)
        object.__setattr__(self, "_hooks", hooks or Hooks())
        object.__setattr__(self, "_shared", shared or _Shared(0))
        object.__setattr__(self, "_inner", None)
        object.__setattr__(self, "_era", era)  # the legacy runner: gym 0.21's observations and seeding
        object.__setattr__(self, "_toy_text", str(env_id).startswith(TOY_TEXT)
                           or type(genv.unwrapped).__module__.startswith("gymnasium.envs.toy_text"))

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
        meta = self._genv.metadata
        modes = list(meta.get("render_modes", []))
        if self._toy_text:
            modes = sorted(set(modes) | {"human", "ansi"})
        return {"render.modes": modes, "video.frames_per_second": meta.get("render_fps", 50)}

    @property
    def spec(self):
        self._hooks.note("env.spec")
        return EraSpec(self._genv.spec, self._env_id) if self._genv.spec is not None else None

    @property
    def np_random(self):
        return self._genv.unwrapped.np_random

    @property
    def unwrapped(self):
        if not self._limited:
            return self
        self._hooks.note("env.unwrapped")
        if self._inner is None:
            inner = OldEnv(self._genv, self._env_id, limited=False, hooks=self._hooks, shared=self._shared,
                           era=self._era)
            object.__setattr__(self, "_inner", inner)
        return self._inner

    @property
    def env(self):  # gym 0.21: the TimeLimit's inner env was the environment itself
        if not self._limited:
            raise AttributeError("'%s' object has no attribute 'env'" % type(self._genv.unwrapped).__name__)
        return self.unwrapped

    def _time_limit(self):
        w = self._genv
        while w is not None and not hasattr(w, "_max_episode_steps"):
            w = getattr(w, "env", None)
        return w

    @property
    def _max_episode_steps(self):
        limit = self._time_limit() if self._limited else None
        if limit is None:
            raise AttributeError("attempted to get missing private attribute '_max_episode_steps'")
        self._hooks.note("env._max_episode_steps")
        return limit._max_episode_steps

    @_max_episode_steps.setter
    def _max_episode_steps(self, value):
        self._hooks.note("env._max_episode_steps")
        limit = self._time_limit() if self._limited else None
        if limit is None:
            object.__setattr__(self, "_own_max_episode_steps", value)  # no effect, as in gym
            return
        limit._max_episode_steps = value

    # DiscreteEnv's attributes (gym's toy text), from gymnasium's toy text
    @property
    def nS(self):
        return int(self._genv.observation_space.n)

    @property
    def nA(self):
        return int(self._genv.action_space.n)

    @property
    def isd(self):
        return self._genv.unwrapped.initial_state_distrib

    @property
    def lastaction(self):
        return getattr(self._genv.unwrapped, "lastaction", None)

    # the API
    def seed(self, seed=None):
        self._hooks.note("env.seed")
        if seed is None:
            seed = int(np.random.SeedSequence().entropy % (2**31))  # gym drew one from the OS
        seed = int(self._hooks.env_seed(self, seed))
        self._shared.pending_seed = seed
        return [seed]

    def reset(self, **kwargs):
        self._hooks.note("env.reset")
        sh = self._shared
        self._hooks.flush(self)
        self._hooks.reset(self)
        seed, sh.pending_seed = sh.pending_seed, None
        target = self._genv if self._limited else self._genv.unwrapped
        obs, _info = target.reset(seed=seed, **kwargs)
        if seed is not None and self._era:
            # gym 0.21's env.seed(n): its hashed RandomState, then the reset drawn from it
            self._genv.unwrapped.np_random = np_random_021(seed)[0]
            obs, _info = target.reset(**kwargs)
        sh.episode += 1
        obs = self._obs(obs)
        self._hooks.started(self, obs)
        return obs

    def _obs(self, obs):
        if not self._era:
            return obs
        era = self.__dict__.get("_era_obs", False)
        if era is False:  # looked up once: the environment under the wrappers stays the same
            era = ERA_OBS.get(type(self._genv.unwrapped).__name__)
            object.__setattr__(self, "_era_obs", era)
        return era(obs) if era is not None else obs

    def step(self, action):
        self._hooks.note("env.step")
        self._hooks.step(self)
        target = self._genv if self._limited else self._genv.unwrapped
        obs, reward, terminated, truncated, info = target.step(_action(self.action_space, action))
        info = dict(info)
        if truncated and not terminated:
            info["TimeLimit.truncated"] = True
        done = bool(terminated or truncated)
        self._hooks.stepped(self, reward, done)
        return self._obs(obs), reward, done, info

    def render(self, mode="human", **kwargs):
        self._hooks.note("env.render", mode)
        genv = self._genv.unwrapped
        if self._toy_text and mode in ("human", "ansi") and "ansi" in genv.metadata.get("render_modes", ()):
            text = _text_frame(genv)
            if mode == "ansi":
                return text
            print(text, end="" if text.endswith("\n") else "\n")
            return None
        frame = None
        if (mode == "rgb_array" or self._hooks.keep_frames) and getattr(genv, "render_mode", None) == "rgb_array":
            frame = self._genv.render()
        if frame is not None:
            self._hooks.frame(self, frame)
        if mode == "rgb_array":
            return frame
        return True  # gym's viewer.render() for 'human': the window is open (there is no display)

    def close(self):
        self._hooks.flush(self)
        self._genv.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError("attempted to get missing private attribute '%s'" % name)
        value = getattr(self._genv.unwrapped, name)  # AttributeError if the env has none
        if self._limited:
            self._hooks.note("env.<attribute>", name)
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
        inner = "<%s<%s>>" % (type(self._genv.unwrapped).__name__, self._env_id)
        return "<TimeLimit%s>" % inner if self._limited else inner

    __repr__ = __str__


def _text_frame(genv) -> str:
    """Toy text's map as gym printed it (gymnasium's ``ansi`` rendering of the same state)."""
    old = genv.render_mode
    try:
        genv.render_mode = "ansi"
        text = genv.render()
    finally:
        genv.render_mode = old
    return text if isinstance(text, str) else str(text)


def make_gymnasium(env_id: str, render_mode=None, **kwargs):
    """gymnasium's environment for an id of gym's era (``ERA_IDS``), quiet about ids it
    calls out of date; returns (env, what changed or None)."""
    import gymnasium

    if env_id in GONE:
        raise gymnasium.error.Error("%s was removed from gym before gymnasium; gymnasium does not ship it" % env_id)
    new, extra, change = resolve(env_id)
    extra.update(kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return gymnasium.make(new, render_mode=render_mode, **extra), change
