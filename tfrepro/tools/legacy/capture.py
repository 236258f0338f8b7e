"""What one run of a script leaves for ``tfrepro legacy --seeds``: every episode's return and
length, captured at the environment (never parsed from what the script prints), with the run's
seed, versions, wall time and the script's hash.

Two sides write it: ``boot`` (the TF1-era script under the shims: its episodes come from the
gym 0.21 adapter's hooks) and ``port_main`` here (a TF2 / gymnasium script, the user's own port,
run as it is: ``gymnasium.make`` hands it environments that record their episodes). An episode
ends where the environment says so (``done`` / ``terminated or truncated``) or where the script
resets it first.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import time

from .state import OPTS, T0

CAPTURE_SCHEMA = "tfrepro.script-run/1"


def script_hash(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write(path, script, side, status, versions=None):
    """The run's capture file (atomic): episodes, steps, seed, versions, wall time, hash."""
    from ...infra.records import atomic_write_text, dumps
    from ...infra.records import versions as current_versions

    episodes = [e for e in OPTS.finished if isinstance(e[0], (int, float))]
    starts = [e[3] if len(e) > 3 else None for e in episodes]
    doc = {"schema": CAPTURE_SCHEMA, "side": side, "script": os.path.basename(script),
           "script_sha256": script_hash(script), "seed": OPTS.seed, "status": status,
           "stopped": OPTS.stopped, "returns": [e[0] for e in episodes], "lengths": [e[1] for e in episodes],
           "returns_within_limit": [e[4] if len(e) > 4 else e[0] for e in episodes],
           "env_of_episode": [str(e[2]) for e in episodes], "starts": starts, "env_ids": list(OPTS.env_ids),
           "env_steps": int(sum(e[1] for e in episodes)), "wall_s": round(time.time() - T0, 3),
           "first_step_s": OPTS.first_step_s,
           "versions": versions or current_versions(), "argv": sys.argv[1:]}
    atomic_write_text(path, dumps(doc, indent=1) + "\n")


# -- the port's side: a TF2 / gymnasium script run as it is ----------------------------------------
def _recording_make(real_make):
    import gymnasium

    from . import state
    from .migration import moved_seed

    class Recorder(gymnasium.Wrapper):
        def __init__(self, env, key):
            super().__init__(env)
            self._key = key

        def reset(self, *, seed=None, options=None):
            state.episode_reset(self._key)
            state.episode_begins()
            obs, info = self.env.reset(seed=moved_seed(seed, "reset(seed=)"), options=options)
            state.episode_started(self._key, obs)
            return obs, info

        def step(self, action):
            state.env_stepped()
            obs, reward, terminated, truncated, info = self.env.step(action)
            state.episode_step(self._key, reward, bool(terminated or truncated))
            return obs, reward, terminated, truncated, info

    def make(env_id, *args, **kwargs):
        env = real_make(env_id, *args, **kwargs)
        if _IN_VECTOR:  # a copy inside a vector environment: recorded at the vector
            _IN_VECTOR[-1].append(str(getattr(env_id, "id", env_id)))
            return env
        number = OPTS.envs_made
        OPTS.envs_made += 1
        OPTS.env_ids.append(str(getattr(env_id, "id", env_id)))
        return Recorder(env, number)

    return make


_IN_VECTOR: list = []  # while a vector environment builds its copies: the ids they are made with


def _recording_vectors(gymnasium):
    """A port's vector environments (``gymnasium.make_vec`` in any vectorization mode,
    ``gymnasium.vector.SyncVectorEnv`` / ``AsyncVectorEnv``): each copy's episodes are recorded from
    the vector's own ``step`` (its copies may live in other processes), one environment per copy; in
    gymnasium's default NEXT_STEP autoreset the step after an episode's end resets that copy (its reward
    is no episode's), in SAME_STEP the episode ends and restarts in one step. The copies' own
    ``gymnasium.make`` calls are not recorded twice."""
    import numpy as np

    from . import state

    class VectorRecorder(gymnasium.vector.VectorWrapper):
        def __init__(self, env, env_id):
            super().__init__(env)
            self._keys = []
            for _ in range(env.num_envs):
                self._keys.append(OPTS.envs_made)
                OPTS.envs_made += 1
                OPTS.env_ids.append(str(env_id))
            mode = str(env.metadata.get("autoreset_mode", "NextStep"))
            self._next_step = "Next" in mode
            self._resetting = np.zeros(env.num_envs, bool)

        def reset(self, *, seed=None, options=None):
            from .migration import moved_seed

            for key in self._keys:
                state.episode_reset(key)
                state.episode_begins()
            obs, info = self.env.reset(seed=moved_seed(seed, "reset(seed=)"), options=options)
            for i, key in enumerate(self._keys):
                state.episode_started(key, obs[i])
            self._resetting[:] = False
            return obs, info

        def step(self, actions):
            for i in range(len(self._keys)):
                if not self._resetting[i]:
                    state.env_stepped()
            obs, rewards, terminated, truncated, info = self.env.step(actions)
            for i, key in enumerate(self._keys):
                done = bool(terminated[i] or truncated[i])
                if self._next_step and self._resetting[i]:  # this step reset copy i
                    state.episode_begins()
                    state.episode_started(key, obs[i])
                    self._resetting[i] = False
                    continue
                state.episode_step(key, rewards[i], done)
                if done:
                    if self._next_step:
                        self._resetting[i] = True
                    else:  # SAME_STEP: the copy is already in its next episode
                        state.episode_begins()
            return obs, rewards, terminated, truncated, info

    real_make_vec = gymnasium.make_vec

    def make_vec(env_id, *args, **kwargs):
        _IN_VECTOR.append([])
        try:
            env = real_make_vec(env_id, *args, **kwargs)
        finally:
            _IN_VECTOR.pop()
        return VectorRecorder(env, getattr(env_id, "id", env_id))

    def vector_class(cls):
        class Recorded(cls):
            def __new__(klass, *args, **kwargs):
                _IN_VECTOR.append([])
                try:
                    env = cls(*args, **kwargs)
                finally:
                    made = _IN_VECTOR.pop()  # the ids its copies (or its dummy copy) were made with
                spec = getattr(env, "spec", None)
                return VectorRecorder(env, getattr(spec, "id", None) or (made[0] if made else cls.__name__))

        Recorded.__name__ = Recorded.__qualname__ = cls.__name__
        return Recorded

    gymnasium.make_vec = make_vec
    for name in ("SyncVectorEnv", "AsyncVectorEnv"):
        setattr(gymnasium.vector, name, vector_class(getattr(gymnasium.vector, name)))


def _seed_port(seed, text):
    import random

    import numpy as np

    random.seed(seed)
    np.random.seed(seed)
    if "tensorflow" in text or "keras" in text:
        from ...infra.tfquiet import quiet_tensorflow

        quiet_tensorflow()
        import tensorflow as tf

        tf.random.set_seed(seed)


def _vary_port_seeds():
    """The port's own constant seeds move by the run's seed (``state.derived_seed``)."""
    import random

    import numpy as np

    from .migration import moved_seed

    real_random, real_np = random.seed, np.random.seed
    random.seed = lambda a=None, *args, **kw: real_random(moved_seed(a, "random.seed"), *args, **kw)
    np.random.seed = lambda s=None: real_np(moved_seed(s, "np.random.seed"))
    try:
        import tensorflow as tf
    except ImportError:
        return
    real_tf = tf.random.set_seed
    tf.random.set_seed = lambda s: real_tf(moved_seed(s, "tf.random.set_seed"))


def port_main(argv=None):
    """``python -c '...port_main()' --options JSON PORT.py ARGS``: runs the port as ``__main__``
    with its episodes recorded, and writes the capture file."""
    import runpy

    import gymnasium

    from .state import Stop

    argv = list(sys.argv[1:] if argv is None else argv)
    opts = json.loads(argv[1]) if argv[:1] == ["--options"] else {}
    argv = argv[2:] if argv[:1] == ["--options"] else argv
    script, args = os.path.abspath(argv[0]), argv[1:]
    for key in ("episodes", "steps", "seconds", "seed", "capture", "vary"):
        if opts.get(key) is not None:
            setattr(OPTS, key, opts[key])
    OPTS.script_dir = os.path.dirname(script)
    from . import state

    state.arm()
    with open(script, encoding="utf-8", errors="replace") as f:
        text = f.read()
    if OPTS.seed is not None:
        _seed_port(OPTS.seed, text)
    if OPTS.vary:
        _vary_port_seeds()
    gymnasium.make = _recording_make(gymnasium.make)
    _recording_vectors(gymnasium)
    sys.argv = [script] + args
    state.give_back_shadowed(OPTS.script_dir)
    sys.path.insert(0, OPTS.script_dir)
    status = 0
    try:
        runpy.run_path(script, run_name="__main__")
    except Stop:
        sys.stdout.flush()
        print(f"tfrepro legacy: {OPTS.stopped}", file=sys.stderr)
    except SystemExit as e:
        status = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except Exception:  # noqa: BLE001 - the port's own failure: its traceback, exit 1, the episodes kept
        import traceback

        traceback.print_exc()
        status = 1
    finally:
        if OPTS.capture:
            write(OPTS.capture, script, "port", status)
    return status
