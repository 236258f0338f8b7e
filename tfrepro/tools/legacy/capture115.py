"""The TF 1.15 side of ``tfrepro legacy --seeds ... --against tf1.15``: the script, unchanged, on
real TensorFlow 1.15 and gym 0.21 (the ``tfrepro:tf1.15`` image's environment,
``tfrepro.infra.tf115``), or, for Python 2 code, on Python 2.7 with TF 1.15's cp27mu wheel,
gym 0.16.0 and NumPy 1.16.6, with its episodes captured at the environment as on today's side.

Python 2.7 and 3.7 syntax (loaded by path on Python 2.7, where the package cannot be imported),
and nothing of the shims: gym, TensorFlow and NumPy are the era's own. What it
adds, the same as the shims' side does:

* ``--seed k``: Python's and NumPy's generators, every TensorFlow graph's seed, and each
  environment ``gym.make`` gives (the n-th made: ``env.seed(k + n)``, its action space too)
  unless the script seeds it itself;
* the script's own constant seeds (``random.seed``, ``np.random.seed``, ``tf.set_random_seed``,
  ``env.seed``) moved to ``s + 1000003 k``;
* every episode's return and length, at the environment (the one ``gym.make`` returned and the
  one inside it, so ``env.unwrapped`` counts too): an episode ends at ``done`` or at a reset;
* ``--episodes`` / ``--steps`` / ``--seconds``: a clean stop, exit 0;
* ``render()`` draws nothing (there is no display; gym 0.21 drew through pyglet), as the shims'
  side draws nothing without ``--record``.
"""
from __future__ import print_function

import hashlib
import json
import os
import sys
import threading
import time

T0 = time.time()
OPTS = {"seed": None, "vary": False, "capture": None, "episodes": None, "steps": None, "seconds": None}
EPISODES = []  # type: list  # [return, length, env number]
OPEN = {}  # type: dict
COUNT = {"resets": 0, "steps": 0, "envs": 0, "first_step_s": None}
ENV_IDS = []  # type: list
LIMITS = {}  # type: dict  # environment -> the time limit its spec registers (None: none)
STOPPED = []  # type: list


class Stop(BaseException):
    pass


def moved(seed):
    if not OPTS["vary"] or seed is None or OPTS["seed"] is None:
        return seed
    try:
        return (int(seed) + 1000003 * OPTS["seed"]) % (2 ** 31)
    except (TypeError, ValueError):
        return seed


def _stop(reason):
    if not STOPPED:
        STOPPED.append(reason)
    raise Stop(reason)


START = {}  # type: dict


def fingerprint(obs):
    """``state.fingerprint``'s lines (the package cannot be imported on Python 2.7)."""
    import hashlib

    import numpy as np

    try:
        a = np.asarray(obs)
        a = a.astype(np.float32) if a.dtype.kind == "f" else a.astype(np.int64)
        return hashlib.sha1(a.tobytes() + repr(a.shape).encode()).hexdigest()[:12]
    except (TypeError, ValueError):
        return None


def _begin(key):
    acc = OPEN.pop(key, None)
    if acc is not None and acc[1]:
        EPISODES.append([acc[0], acc[1], key, acc[2], acc[3]])
    COUNT["resets"] += 1
    if OPTS["episodes"] is not None and COUNT["resets"] > OPTS["episodes"]:
        _stop("stopped after %d episodes (--episodes %d)" % (OPTS["episodes"], OPTS["episodes"]))


def _step_before():
    if OPTS["steps"] is not None and COUNT["steps"] >= OPTS["steps"]:
        _stop("stopped after %d environment steps (--steps %d)" % (OPTS["steps"], OPTS["steps"]))
    if COUNT["first_step_s"] is None:
        COUNT["first_step_s"] = round(time.time() - T0, 3)
    COUNT["steps"] += 1


def _reward(key, reward):
    acc = OPEN.setdefault(key, [0.0, 0, START.pop(key, None), 0.0])
    acc[0] += float(reward)
    limit = LIMITS.get(key)
    if limit is None or acc[1] < limit:  # the return within the registered time limit (state.episode_step)
        acc[3] += float(reward)
    acc[1] += 1


def _done(key):
    acc = OPEN.pop(key, None)
    if acc is not None and acc[1]:
        EPISODES.append([acc[0], acc[1], key, acc[2], acc[3]])


def _patch_env(env, key):
    """Record the episodes of ``env`` (what gym.make returned) and of the environment inside."""
    inner = env.unwrapped
    inner_step, inner_reset, outer_step = inner.step, inner.reset, env.step
    inner_seed = inner.seed

    def i_step(action):
        _step_before()
        out = inner_step(action)
        _reward(key, out[1])
        if out[2]:
            _done(key)
        return out

    def i_reset(**kwargs):
        _begin(key)
        obs = inner_reset(**kwargs)
        START[key] = fingerprint(obs)
        return obs

    def o_step(action):
        out = outer_step(action)
        if out[2]:
            _done(key)  # the time limit ended it
        return out

    def i_seed(seed=None):
        return inner_seed(moved(seed))

    def render(mode="human", **kwargs):
        # no display here (gym 0.21 draws through pyglet): 'human' draws nothing, as on today's side
        return None if mode != "human" else True

    inner.step, inner.reset, inner.seed = i_step, i_reset, i_seed
    inner.render = render
    if env is not inner:
        env.step = o_step
        env.render = render


def _install(seed):
    import random

    import gym
    import numpy as np

    if seed is not None:
        random.seed(seed)
        np.random.seed(seed)
    real_make = gym.make

    def make(env_id, **kwargs):
        env = real_make(env_id, **kwargs)
        n = COUNT["envs"]
        COUNT["envs"] += 1
        ENV_IDS.append(str(env_id))
        limit = getattr(getattr(env, "spec", None), "max_episode_steps", None)
        LIMITS[n] = limit if isinstance(limit, int) and limit > 0 else None
        if seed is not None:
            env.unwrapped.seed(seed + n)
            env.action_space.seed(seed + n)
        _patch_env(env, n)
        return env

    gym.make = make
    gym.envs.make = make
    if OPTS["vary"]:
        real_random, real_np = random.seed, np.random.seed
        random.seed = lambda a=None, *args, **kw: real_random(moved(a), *args, **kw)
        np.random.seed = lambda s=None: real_np(moved(s))
    try:
        import tensorflow as tf
    except ImportError:
        return
    tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.ERROR)  # 1.15's deprecation notes: noise here

    if seed is not None:
        seed_graphs(seed)
    if OPTS["vary"]:
        real_tf = tf.set_random_seed

        def set_random_seed(s):
            return real_tf(moved(s))

        tf.set_random_seed = tf.random.set_random_seed = tf.compat.v1.set_random_seed = set_random_seed


def seed_graphs(seed):
    """Every TensorFlow graph's seed: the default graph's and any the script makes or resets to
    (both sides use this: TF 1.15's and today's ``tf.compat.v1``)."""
    from tensorflow.python.framework import ops

    init = ops.Graph.__init__

    def seeded_init(self, *args, **kwargs):
        init(self, *args, **kwargs)
        self.seed = seed

    ops.Graph.__init__ = seeded_init
    ops.get_default_graph().seed = seed


def _versions27():
    """``records.versions`` for Python 2.7, where the package itself cannot be imported."""
    import platform

    import pkg_resources

    out = {"python": platform.python_version()}
    for dist in ("tensorflow", "keras", "numpy", "gym"):
        try:
            out[dist] = pkg_resources.get_distribution(dist).version
        except Exception:  # noqa: BLE001 - not installed
            pass
    out["tf_threads"] = "/".join(os.environ.get(v, "default") for v in ("TF_NUM_INTRAOP_THREADS",
                                                                        "TF_NUM_INTEROP_THREADS"))
    return out


def _atomic_write27(path, text):
    import tempfile

    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path) or ".", prefix="." + os.path.basename(path) + ".")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.rename(tmp, path)


def _write(path, script, status):
    if sys.version_info[0] < 3:  # Python 2.7's TF 1.15: the package's own modules are Python 3
        versions = _versions27

        def plain(x):  # non-finite numbers as null, as the package's own dumps writes them
            if isinstance(x, dict):
                return dict((k, plain(v)) for k, v in x.items())
            if isinstance(x, (list, tuple)):
                return [plain(v) for v in x]
            return None if isinstance(x, float) and (x != x or x in (float("inf"), float("-inf"))) else x

        def dumps(doc, indent=None):
            return json.dumps(plain(doc), indent=indent, sort_keys=True, allow_nan=False)

        atomic_write_text = _atomic_write27
    else:
        from tfrepro.infra.records import atomic_write_text, dumps, versions

    h = hashlib.sha256()
    with open(script, "rb") as f:
        h.update(f.read())
    eps = [e for e in EPISODES]
    doc = {"schema": "tfrepro.script-run/1", "side": "tf1.15", "script": os.path.basename(script),
           "script_sha256": h.hexdigest(), "seed": OPTS["seed"], "status": status,
           "stopped": STOPPED[0] if STOPPED else None, "returns": [e[0] for e in eps],
           "lengths": [e[1] for e in eps], "returns_within_limit": [e[4] for e in eps],
           "env_of_episode": [str(e[2]) for e in eps],
           "starts": [e[3] for e in eps], "env_ids": ENV_IDS,
           "env_steps": int(sum(e[1] for e in eps)), "wall_s": round(time.time() - T0, 3),
           "first_step_s": COUNT["first_step_s"],
           "versions": versions(), "argv": sys.argv[1:]}
    atomic_write_text(path, dumps(doc, indent=1) + "\n")


def _give_back_shadowed(folder):
    """``state.give_back_shadowed`` (this file runs where the package cannot be imported): a
    module of the script's folder named like one this boot imported is the script's."""
    startup = getattr(sys.modules.get("__main__"), "STARTUP", None)
    if startup is None:
        return
    for name in [m for m in list(sys.modules) if "." not in m and m not in startup]:
        if (os.path.isfile(os.path.join(folder, name + ".py"))
                or os.path.isfile(os.path.join(folder, name, "__init__.py"))):
            for sub in [m for m in list(sys.modules) if m == name or m.startswith(name + ".")]:
                del sys.modules[sub]


def main(argv=None):
    import runpy
    import signal

    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--options"]:
        OPTS.update(json.loads(argv[1]))
        argv = argv[2:]
    script, args = os.path.abspath(argv[0]), argv[1:]
    if OPTS["seconds"] is not None:
        main_thread = threading.current_thread()

        def on_alarm(signum, frame):
            if threading.current_thread() is main_thread:
                _stop("stopped after %g s (--seconds %g)" % (OPTS["seconds"], OPTS["seconds"]))

        signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, OPTS["seconds"])
    import warnings

    warnings.filterwarnings("ignore")
    _install(OPTS["seed"])
    sys.argv = [script] + args
    _give_back_shadowed(os.path.dirname(os.path.abspath(script)))
    sys.path.insert(0, os.path.dirname(script))
    status = 0
    try:
        runpy.run_path(script, run_name="__main__")
    except Stop:
        sys.stdout.flush()
        print("tfrepro legacy: %s" % STOPPED[0], file=sys.stderr)
    except SystemExit as e:
        status = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except Exception:  # noqa: BLE001 - the script's own failure: its traceback, exit 1, its episodes kept
        import traceback

        traceback.print_exc()
        status = 1
    finally:
        if OPTS["capture"]:
            _write(OPTS["capture"], script, status)
    return status
