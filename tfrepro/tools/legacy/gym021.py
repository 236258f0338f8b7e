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
* ``env.seed(n)`` and ``space.seed(n)`` are gym 0.21's (its hashed RandomState: the same start
  states, slips and samples as gym 0.21, measured against it); CartPole's observations are
  float32, as gym 0.21 returned them (gym 0.10-0.17 returned the float64 state).

Anything else is named in one line (``tfrepro legacy: gym.X is not covered``). Every use
is noted for ``--report`` where it ran.
"""
from __future__ import annotations

import json
import os
import threading
import time
import types
import warnings

import numpy as np

from ...core import oldgym
from .migration import MAP, moved_seed, note
from . import state
from .state import OPTS, MissingModule, NotCovered, OutputFailed, env_stepped, episode_begins

GYM_VERSION = "0.21.0"


# -- recording -----------------------------------------------------------------------
def write_frames(frames, path, fps=50, ours=True):
    """Frames (H, W, 3 uint8) to a GIF or MP4 at ``path`` (by its suffix), atomically. ``ours``:
    ``--record``'s (nothing there of the user's replaced; a failure ends the run in one line);
    else the script's own (gym's ``Monitor`` videos)."""
    import imageio.v3 as iio

    from ...core.errors import UsageError
    from ...infra.records import atomic_save

    def save(tmp):
        if path.endswith(".mp4"):
            iio.imwrite(tmp, np.stack(frames), extension=".mp4", fps=fps)
        else:
            iio.imwrite(tmp, np.stack(frames), extension=".gif", duration=1000 / fps, loop=0)

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    if not ours:
        return atomic_save(path, save, ours=False)
    try:
        return atomic_save(path, save)
    except (OSError, UsageError) as e:
        raise OutputFailed(f"--record: cannot write {path} ({getattr(e, 'strerror', None) or e})") from None


class _Hooks(oldgym.Hooks):
    """What the runner watches in every environment the script makes: ``--episodes``,
    ``--steps``, ``--record`` and the report."""

    @property
    def keep_frames(self):
        return bool(OPTS.record)

    def note(self, construct, detail=None):
        note(construct, "gym", detail=detail)

    def reset(self, env):
        state.episode_reset(env._shared.number)
        episode_begins()

    def started(self, env, obs):
        state.episode_started(env._shared.number, obs)

    def step(self, env):
        env_stepped()

    def stepped(self, env, reward, done):
        state.episode_step(env._shared.number, reward, done)

    def env_seed(self, env, seed):
        return moved_seed(seed, "env.seed")

    def frame(self, env, frame):
        if OPTS.record:
            env._shared.frames.append(np.asarray(frame))

    def flush(self, env):
        sh = env._shared
        if sh.frames and OPTS.record:
            ext = "mp4" if OPTS.record_format == "mp4" else "gif"
            path = os.path.join(OPTS.record, f"env{sh.number}-episode{sh.episode:04d}.{ext}")
            sh.recorded.append(write_frames(sh.frames, path))
        sh.frames = []


HOOKS = _Hooks()


def _wrap(genv, env_id, limited=True):
    number = OPTS.envs_made
    OPTS.envs_made += 1
    OPTS.env_ids.append(str(env_id))
    seed = OPTS.seed + number if OPTS.seed is not None else None
    if seed is not None:
        genv.action_space.seed(seed)
        genv.observation_space.seed(seed)
    for space in (genv.action_space, genv.observation_space):
        _python_ints(space)
    if type(genv.unwrapped).__name__ in ("FrozenLakeEnv", "TaxiEnv", "CliffWalkingEnv"):
        genv.unwrapped.reset()  # gym's DiscreteEnv drew its state when made: render() before reset() worked
    return oldgym.OldEnv(genv, env_id, limited=limited, hooks=HOOKS, shared=oldgym._Shared(number, seed),
                         era=True)  # gym 0.21's seeding and observations


def _python_ints(space):
    """gym's ``Discrete(n).n`` was a Python int (gymnasium's is ``np.int64``, which
    ``tf.contrib.layers.fully_connected(num_outputs=...)`` and friends refuse)."""
    import gymnasium

    if isinstance(space, gymnasium.spaces.Discrete):
        space.n, space.start = int(space.n), int(space.start)
    elif isinstance(space, gymnasium.spaces.Tuple):
        for sub in space.spaces:
            _python_ints(sub)
    return space


def _spaces():
    """``gym.spaces``: gymnasium's, with ``Discrete``'s ``n`` a Python int as in gym (the
    class itself is gymnasium's, so ``isinstance(env.action_space, gym.spaces.Discrete)``
    holds for every environment), and ``space.seed(n)`` gym 0.21's (its hashed RandomState:
    ``sample()`` draws what gym 0.21's drew) for the spaces that are not composites."""
    import gymnasium

    base = gymnasium.spaces.Space
    if not getattr(base.seed, "_tfrepro", False):
        real_seed = base.seed
        leaves = (gymnasium.spaces.Discrete, gymnasium.spaces.Box, gymnasium.spaces.MultiDiscrete,
                  gymnasium.spaces.MultiBinary)

        def seed(self, seed=None):
            if isinstance(self, leaves) and isinstance(seed, (int, np.integer)) and seed >= 0:
                self._np_random, used = oldgym.np_random_021(int(seed))
                return [used]
            return real_seed(self, seed)

        seed._tfrepro = True
        base.seed = seed
    cls = gymnasium.spaces.Discrete
    if not getattr(cls.__init__, "_tfrepro", False):
        init = cls.__init__

        def __init__(self, *args, **kwargs):
            init(self, *args, **kwargs)
            _python_ints(self)

        __init__._tfrepro = True
        cls.__init__ = __init__
    return gymnasium.spaces


def _era_note(env_id, change):
    new = oldgym.resolve(env_id)[0]
    if new != env_id or change:
        today = f"gymnasium.make({new!r}{_kwargs(env_id)})"
        if change and change.startswith("none"):
            today, change = f"{today}: {change}", None
        MAP[f"gym.make({env_id})"] = (today, change)
        note(f"gym.make({env_id})", "gym")


def _kwargs(env_id):
    extra = oldgym.ERA_IDS.get(env_id, (None, {}, None))[1]
    return "".join(f", {k}={v!r}" for k, v in extra.items())


def make(env_id, **kwargs):
    """``gym.make``: a registered id of the script's own (``register``), an id of gym's era
    (mapped to gymnasium's version: ``tfrepro.core.oldgym.ERA_IDS``) or any gymnasium id."""
    import gymnasium

    note("gym.make", "gym")
    env_id = getattr(env_id, "id", env_id)  # gym.make(spec) was allowed too
    if env_id in REGISTRY:
        return REGISTRY[env_id].make(**kwargs)
    try:
        genv, change = oldgym.make_gymnasium(env_id, render_mode="rgb_array", **kwargs)
    except gymnasium.error.Error as e:
        raise gymnasium.error.Error(f"gym.make({env_id!r}): {e}") from None
    _era_note(env_id, change)
    return _wrap(genv, env_id)


# -- the script's own environments ---------------------------------------------------------
_DEPTH = threading.local()


class Env:
    """gym 0.21's ``gym.Env``: the base of a script's own environments (old API: ``reset()
    -> obs``, four-value ``step``, ``seed``, ``render(mode)``). A subclass's own ``reset``
    and ``step`` count for ``--episodes`` / ``--steps`` (the outermost call only)."""

    metadata: dict = {"render.modes": []}
    reward_range = (-float("inf"), float("inf"))
    spec = None
    action_space = None
    observation_space = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if any(b.__name__ == "Wrapper" and b.__module__ == __name__ for b in cls.__mro__):
            return
        for name, hook, after in (("reset", _custom_reset, _custom_started), ("step", HOOKS.step, _custom_stepped)):
            fn = cls.__dict__.get(name)
            if fn is not None and not getattr(fn, "_tfrepro_counted", False):
                setattr(cls, name, _counted(fn, hook, after))

    def step(self, action):
        raise NotImplementedError

    def reset(self):
        raise NotImplementedError

    def render(self, mode="human"):
        raise NotImplementedError

    def close(self):
        pass

    def seed(self, seed=None):
        return None

    @property
    def unwrapped(self):
        return self

    def __str__(self):
        if self.spec is None:
            return f"<{type(self).__name__} instance>"
        return f"<{type(self).__name__}<{self.spec.id}>>"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def _custom_reset(env):
    state.episode_reset(f"own{id(env)}")
    episode_begins()


def _custom_started(env, out):
    state.episode_started(f"own{id(env)}", out[0] if isinstance(out, tuple) and len(out) == 2 else out)


def _custom_stepped(env, out):
    if isinstance(out, tuple) and len(out) >= 3:
        state.episode_step(f"own{id(env)}", out[1], bool(out[2]))


def _counted(fn, hook, after=None):
    def counted(self, *args, **kwargs):
        depth = getattr(_DEPTH, "n", 0)
        if depth == 0:
            hook(self)
        _DEPTH.n = depth + 1
        try:
            out = fn(self, *args, **kwargs)
        finally:
            _DEPTH.n = depth
        if depth == 0 and after is not None:
            after(self, out)
        return out

    counted._tfrepro_counted = True
    counted.__name__, counted.__qualname__, counted.__doc__ = fn.__name__, fn.__qualname__, fn.__doc__
    return counted


def categorical_sample(prob_n, np_random):
    """gym's toy_text ``categorical_sample``: an index drawn from the probabilities."""
    csprob_n = np.cumsum(np.asarray(prob_n))
    return (csprob_n > np_random.rand()).argmax()


class DiscreteEnv(Env):
    """gym 0.21's ``gym.envs.toy_text.discrete.DiscreteEnv``: ``P[s][a] == [(probability,
    nextstate, reward, done), ...]``, ``isd`` the initial state distribution."""

    def __init__(self, nS, nA, P, isd):
        import gymnasium

        self.P, self.isd, self.lastaction, self.nS, self.nA = P, isd, None, nS, nA
        self.action_space = _python_ints(gymnasium.spaces.Discrete(self.nA))
        self.observation_space = _python_ints(gymnasium.spaces.Discrete(self.nS))
        self.seed()
        self.s = categorical_sample(self.isd, self.np_random)

    def seed(self, seed=None):
        self.np_random, seed = _np_random(seed)
        return [seed]

    def reset(self):
        self.s = categorical_sample(self.isd, self.np_random)
        self.lastaction = None
        return int(self.s)

    def step(self, a):
        transitions = self.P[self.s][a]
        i = categorical_sample([t[0] for t in transitions], self.np_random)
        p, s, r, d = transitions[i]
        self.s = s
        self.lastaction = a
        return int(s), r, d, {"prob": p}


class EnvSpec:
    """gym 0.21's ``EnvSpec`` for an environment the script registers."""

    def __init__(self, id, entry_point=None, reward_threshold=None, nondeterministic=False,  # noqa: A002
                 max_episode_steps=None, kwargs=None, **other):
        self.id, self.entry_point, self.reward_threshold = id, entry_point, reward_threshold
        self.nondeterministic, self.max_episode_steps = nondeterministic, max_episode_steps
        self._kwargs = dict(kwargs or {})
        self.kwargs = self._kwargs

    def make(self, **kwargs):
        import importlib

        import gymnasium

        kw = dict(self._kwargs, **kwargs)
        ep = self.entry_point
        if isinstance(ep, str) and ep.startswith("gym.envs"):  # one of gym's own classes, with other arguments
            gid = f"tfrepro-{self.id}"
            if gid not in gymnasium.registry:
                gymnasium.register(id=gid, entry_point="gymnasium" + ep[3:], max_episode_steps=self.max_episode_steps,
                                   reward_threshold=self.reward_threshold, kwargs=self._kwargs)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                genv = gymnasium.make(gid, render_mode="rgb_array", **kwargs)
            return _wrap(genv, self.id)
        if isinstance(ep, str):
            mod, _, attr = ep.partition(":")
            ep = getattr(importlib.import_module(mod), attr)
        env = ep(**kw)
        if not isinstance(env, (Env, Wrapper, oldgym.OldEnv)):
            raise NotCovered(f"gym.make({self.id!r}): its entry point made a {type(env).__name__}, "
                             "not a gym 0.21 environment")
        try:
            env.spec = self
        except AttributeError:
            pass
        if self.max_episode_steps is not None:
            env = TimeLimit(env, self.max_episode_steps)
        return env

    def __repr__(self):
        return f"EnvSpec({self.id})"


REGISTRY: dict = {}


def register(id, **kwargs):  # noqa: A002 - gym's signature
    note("gym.envs.registration.register", "gym")
    if id in REGISTRY:
        raise gym_error().Error(f"Cannot re-register id: {id}")
    REGISTRY[id] = EnvSpec(id, **kwargs)


def gym_error():
    import gymnasium

    return gymnasium.error


class _Registry:
    """``gym.envs.registry``: ``env_specs``, ``all()``, ``spec(id)``, ``make(id)``."""

    @property
    def env_specs(self):
        import gymnasium

        specs = dict(gymnasium.registry)
        specs.update({old: gymnasium.registry[new] for old, (new, _, _) in oldgym.ERA_IDS.items()
                      if new in gymnasium.registry})
        specs.update(REGISTRY)
        return specs

    def all(self):
        return list(self.env_specs.values())

    def spec(self, env_id):
        return self.env_specs[env_id]

    def make(self, env_id, **kwargs):
        return make(env_id, **kwargs)

    def register(self, id, **kwargs):  # noqa: A002
        register(id, **kwargs)


def _spec(env_id):
    import gymnasium

    if env_id in REGISTRY:
        return REGISTRY[env_id]
    return gymnasium.spec(oldgym.resolve(env_id)[0])


# gym's classes of its own environments: calling one gives that environment, old API, no time limit
ENV_CLASSES = {
    "classic_control": {"cartpole": ("CartPoleEnv",), "mountain_car": ("MountainCarEnv",),
                        "continuous_mountain_car": ("Continuous_MountainCarEnv",), "pendulum": ("PendulumEnv",),
                        "acrobot": ("AcrobotEnv",)},
    "toy_text": {"frozen_lake": ("FrozenLakeEnv",), "taxi": ("TaxiEnv",), "cliffwalking": ("CliffWalkingEnv",),
                 "blackjack": ("BlackjackEnv",)},
    "box2d": {"lunar_lander": ("LunarLander", "LunarLanderContinuous"), "bipedal_walker":
              ("BipedalWalker", "BipedalWalkerHardcore"), "car_racing": ("CarRacing",)},
}


def _env_factory(cls, name):
    def factory(*args, **kwargs):
        note(f"gym.envs.{name}", "gym")
        kwargs.setdefault("render_mode", "rgb_array")
        if cls.__name__ == "BlackjackEnv":
            kwargs.setdefault("sab", False)  # gym's rules, as gym.make('Blackjack-v0') gets them
        return _wrap(cls(*args, **kwargs), name, limited=False)

    factory.__name__ = factory.__qualname__ = name
    factory.__doc__ = cls.__doc__
    return factory


def _envs_family(family, parent):
    """``gym.envs.<family>`` and its submodules, each with gymnasium's public names and gym's
    environment classes as factories of old-API environments."""
    import importlib

    mods = {}
    top = types.ModuleType(f"gym.envs.{family}")
    top.__getattr__ = _not_covered(f"gym.envs.{family}")
    for sub, classes in ENV_CLASSES[family].items():
        mod = types.ModuleType(f"gym.envs.{family}.{sub}")
        try:
            real = importlib.import_module(f"gymnasium.envs.{family}.{sub}")
        except Exception as e:  # noqa: BLE001 - Box2D not installed: named where it is used
            err = str(e)

            def missing(name, _sub=sub, _err=err):
                if name.startswith("__"):
                    raise AttributeError(name)
                raise MissingModule(f"gym.envs.{family}.{_sub}: {_err} (Box2D: pip install box2d-py)")

            mod.__getattr__ = missing
            for cname in classes:
                setattr(top, cname, (lambda *a, _m=mod, _c=cname, **k: _m.__getattr__(_c)))
        else:
            mod.__dict__.update({k: v for k, v in vars(real).items() if not k.startswith("_")})
            for cname in classes:
                cls = getattr(real, cname, None)
                if cls is None and cname.endswith(("Continuous", "Hardcore")):
                    base = getattr(real, cname.replace("Continuous", "").replace("Hardcore", ""))
                    flag = "continuous" if cname.endswith("Continuous") else "hardcore"
                    f = _env_factory(base, cname)
                    fac = (lambda *a, _f=f, _flag=flag, **k: _f(*a, **{_flag: True, **k}))  # noqa: E731
                else:
                    fac = _env_factory(cls, cname)
                setattr(mod, cname, fac)
                setattr(top, cname, fac)
        setattr(top, sub, mod)
        mods[f"gym.envs.{family}.{sub}"] = mod
    if family == "toy_text":
        discrete = types.ModuleType("gym.envs.toy_text.discrete")
        discrete.DiscreteEnv, discrete.categorical_sample = DiscreteEnv, categorical_sample
        top.discrete, top.DiscreteEnv = discrete, DiscreteEnv
        mods["gym.envs.toy_text.discrete"] = discrete
    setattr(parent, family, top)
    mods[f"gym.envs.{family}"] = top
    return mods


# -- the old wrappers ------------------------------------------------------------------
class Wrapper(Env):
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
                    self.directory, f"openaigym.video.0.{os.getpid()}.video{self.episode_id:06d}.{ext}"), ours=False)
            from ...infra.records import atomic_write_text

            atomic_write_text(self._stats_path, json.dumps(self._stats), note=False, guarded=False)
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
    """gym 0.21's ``seeding.np_random``: (its hashed RandomState, seed)."""
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (2**63))
    if not (isinstance(seed, (int, np.integer)) and seed >= 0):
        import gymnasium

        raise gymnasium.error.Error(f"Seed must be a non-negative integer or omitted, not {seed}")
    return oldgym.np_random_021(int(seed))


def _not_covered(prefix):
    def __getattr__(name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise NotCovered(f"{prefix}.{name} is not covered by tfrepro legacy's gym 0.21 shim")

    return __getattr__


def _logger():
    """``gym.logger`` of gym 0.21: gymnasium's, with ``set_level`` (and ``setLevel``, from
    the days it was a ``logging.Logger``) setting the level below which nothing is said."""
    import gymnasium.logger as real

    mod = types.ModuleType("gym.logger")
    mod.__dict__.update({k: v for k, v in vars(real).items() if not k.startswith("__")})

    def set_level(level):
        real.min_level = level

    mod.set_level = mod.setLevel = set_level
    mod.DEBUG, mod.INFO, mod.WARN, mod.ERROR, mod.DISABLED = 10, 20, 30, 40, 50
    return mod


def _forward(label, real):
    """A module forwarding to gymnasium's ``real``, naming what it lacks in one line."""
    def __getattr__(name):
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return getattr(real, name)
        except AttributeError:
            raise NotCovered(f"{label}.{name} is not covered by tfrepro legacy's gym 0.21 shim") from None

    return __getattr__


def module():
    """The ``gym`` module a script imports, with its ``wrappers``, ``spaces``, ``utils``
    and ``envs`` submodules (keys of the returned dict are module names)."""
    import gymnasium
    import gymnasium.utils

    gym = types.ModuleType("gym")
    gym.__version__ = GYM_VERSION
    gym.__file__ = __file__
    gym.make = make
    gym.spec = _spec
    gym.register = register
    gym.Env, gym.Space = Env, gymnasium.Space
    gym.Wrapper, gym.ObservationWrapper = Wrapper, ObservationWrapper
    gym.RewardWrapper, gym.ActionWrapper = RewardWrapper, ActionWrapper
    gym.spaces = _spaces()
    gym.logger = _logger()
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
    utils.__getattr__ = _forward("gym.utils", gymnasium.utils)
    envs = types.ModuleType("gym.envs")
    registration = types.ModuleType("gym.envs.registration")
    registry = _Registry()
    registration.register, registration.registry, registration.EnvSpec = register, registry, EnvSpec
    registration.make, registration.spec = make, _spec
    envs.make, envs.spec, envs.register = make, _spec, register
    envs.registry, envs.registration = registry, registration
    envs.__getattr__ = _not_covered("gym.envs")
    gym.envs = envs
    mods = {"gym": gym, "gym.wrappers": wrappers, "gym.wrappers.monitoring": monitoring,
            "gym.utils": utils, "gym.utils.seeding": seeding, "gym.envs": envs,
            "gym.envs.registration": registration, "gym.spaces": gym.spaces}
    for family in ENV_CLASSES:
        mods.update(_envs_family(family, envs))
    for name in list(vars(gymnasium.spaces)):  # gym.spaces.box, gym.spaces.discrete...
        sub = getattr(gymnasium.spaces, name)
        if isinstance(sub, types.ModuleType) and sub.__name__.startswith("gymnasium.spaces."):
            mods[f"gym.spaces.{name}"] = sub
    gym.wrappers, gym.utils = wrappers, utils
    gym.__getattr__ = _not_covered("gym")
    return mods
