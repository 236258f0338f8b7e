"""What one ``tfrepro legacy`` run shares between its shims: the options it was started
with, the counters behind ``--episodes`` / ``--steps`` / ``--seconds``, and which files are
the script's own (every module it runs that is not the standard library, an installed
package or this package: they get the shims and the Python 2 reading)."""
from __future__ import annotations

import os
import signal
import site
import sys
import sysconfig
import threading
import types
from dataclasses import dataclass, field


class Stop(BaseException):
    """``--episodes``, ``--steps`` or ``--seconds`` reached: unwinds the script (a
    BaseException, so that the script's own ``except Exception`` does not catch it) and ends
    the run with exit 0 and one line saying why."""


EpisodesDone = Stop  # the name of the first stop this runner had


class NotCovered(AttributeError):
    """A name of the TF1 era this runner does not provide: if the script does not catch it,
    the run ends with one line naming it, exit 2."""


class OutputFailed(BaseException):
    """An output of the runner's own (``--figures``, ``--record``) cannot be written (a full disk, a
    file of the user's there): the run ends with one line, exit 2 (a BaseException: the script's
    ``except Exception`` does not swallow it)."""


class MissingModule(ImportError):
    """A third-party module the script imports that is not installed (one line, exit 2)."""


@dataclass
class Options:
    script_dir: str = ""
    episodes: int | None = None  # stop after this many episodes (counted at reset)
    steps: int | None = None  # stop after this many environment steps (over all environments)
    seconds: float | None = None  # stop after this many seconds of the script's run
    seed: int | None = None  # seed Python, NumPy, TensorFlow and every environment
    record: str | None = None  # write rendered frames here, one file per episode
    record_format: str = "gif"
    figures: str | None = None  # save each figure here when the script calls plt.show()
    report: str | None = None  # "md" or "json": the migration report, at the end
    report_out: str | None = None  # write the report here instead of standard error
    resets: int = 0  # episodes begun, over every environment
    env_steps: int = 0  # environment steps, over every environment
    first_step_s: float | None = None  # seconds from the run's start to its first environment step
    envs_made: int = 0
    stopped: str | None = None  # why the run was stopped (the one line), once it was
    capture: str | None = None  # write every episode's return and length here at the end (--seeds)
    vary: bool = False  # --seeds: the script's own constant seeds are moved by the run's seed
    finished: list = field(default_factory=list)  # [return, length, environment] of each finished episode
    env_ids: list = field(default_factory=list)  # the ids of the environments made, in order
    extra: dict = field(default_factory=dict)


OPTS = Options()


# -- the script's own files --------------------------------------------------------------------
def _library_roots() -> tuple[str, ...]:
    """Folders whose files are never the script's: the standard library, every
    site-packages folder, and this package's own code."""
    roots = set()
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        p = sysconfig.get_paths().get(key)
        if p:
            roots.add(p)
    try:
        roots.update(site.getsitepackages())
    except AttributeError:  # a virtualenv's old site.py
        pass
    roots.add(site.getusersitepackages())
    here = os.path.dirname(os.path.abspath(__file__))  # tfrepro/tools/legacy
    package = os.path.dirname(os.path.dirname(here))  # tfrepro
    roots.add(package)
    top = os.path.dirname(package)
    for name in ("legacy_tf1", "modern_tf2"):  # the project's own forms, when run from a checkout
        roots.add(os.path.join(top, name))
    return tuple(sorted(os.path.realpath(r) + os.sep for r in roots if r))


_ROOTS: list = []
_MEMO: dict = {}


def is_script_file(filename: str) -> bool:
    """True for the script and every module it runs that is its author's: anything with a
    real path outside the standard library, site-packages and this package (modules beside
    it, its subpackages, folders it adds to ``sys.path``, files it loads by path)."""
    if not filename or filename.startswith("<"):
        return False
    hit = _MEMO.get(filename)
    if hit is None:
        if not _ROOTS:
            _ROOTS.extend(_library_roots())
        real = os.path.realpath(os.path.abspath(filename))
        hit = not real.startswith(tuple(_ROOTS))
        _MEMO[filename] = hit
    return hit


def caller(depth: int = 2):
    """(file, line) of the nearest frame in the script's own files, or None."""
    f: types.FrameType | None = sys._getframe(depth)
    while f is not None:
        if is_script_file(f.f_code.co_filename):
            return f.f_code.co_filename, f.f_lineno
        f = f.f_back
    return None


def give_back_shadowed(folder: str) -> list[str]:
    """Before the script runs: a module of the script's folder (``imp.py``, ``signal/``) named
    like one the boot imported for itself is taken out of ``sys.modules``, so that the script's
    ``import imp`` finds its own file, as under ``python script.py`` (where only the modules the
    interpreter loads at its start, recorded by the boot's ``-c`` program as ``STARTUP``, win
    over the script's folder). Returns the names given back."""
    startup = getattr(sys.modules.get("__main__"), "STARTUP", None)
    if startup is None:
        return []
    given = []
    for name in [m for m in sys.modules if "." not in m and m not in startup]:
        if (os.path.isfile(os.path.join(folder, name + ".py"))
                or os.path.isfile(os.path.join(folder, name, "__init__.py"))):
            given.append(name)
            for sub in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
                del sys.modules[sub]
    return given


# -- stopping ------------------------------------------------------------------------------------
_MAIN = threading.main_thread()
T0 = __import__("time").time()  # the run's start (the boot imports this module first)


def _on_signal(signum, frame):
    if OPTS.stopped:
        raise Stop(OPTS.stopped)


def arm():
    """Called once in the main thread before the script runs: a stop decided in another
    thread (a worker's ``reset``, the ``--seconds`` timer) reaches the main thread as
    SIGUSR1, which wakes it from a blocking wait (``thread.join``, ``coord.join``)."""
    signal.signal(signal.SIGUSR1, _on_signal)
    if OPTS.seconds is not None:
        timer = threading.Timer(OPTS.seconds, stop, (f"stopped after {OPTS.seconds:g} s (--seconds {OPTS.seconds:g})",))
        timer.daemon = True
        timer.start()


def stop(reason: str):
    """End the script cleanly: in the main thread, unwind it now; in another thread, wake
    the main thread to unwind and end this thread (its ``Stop`` is not an error)."""
    if OPTS.stopped is None:
        OPTS.stopped = reason
    if threading.current_thread() is _MAIN:
        raise Stop(OPTS.stopped)
    os.kill(os.getpid(), signal.SIGUSR1)
    raise Stop(OPTS.stopped)  # ends this thread; the thread hook knows it is no error


def episode_begins():
    """Called at every ``reset``: counts episodes for ``--episodes``."""
    if OPTS.stopped:
        raise Stop(OPTS.stopped)
    OPTS.resets += 1
    if OPTS.episodes is not None and OPTS.resets > OPTS.episodes:
        stop(f"stopped after {OPTS.episodes} episodes (--episodes {OPTS.episodes})")


_OPEN: dict = {}  # environment -> [return, length, start fingerprint, return within limit] of its episode
_LIMITS: dict = {}  # environment -> the time limit its id is registered with (None: none)
_START: dict = {}  # environment -> the fingerprint of the state its last reset returned


def fingerprint(obs):
    """A short hash of an observation, the same on both sides of a comparison (float32 for floats, int64
    for integers and booleans: gym 0.16 returned float64 states, 0.21 float32). Python 2.7 and 3.7 safe:
    the TF 1.15 side (capture115) has its own copy of these lines."""
    import hashlib

    import numpy as np

    try:
        a = np.asarray(obs)
        a = a.astype(np.float32) if a.dtype.kind == "f" else a.astype(np.int64)
        return hashlib.sha1(a.tobytes() + repr(a.shape).encode()).hexdigest()[:12]
    except (TypeError, ValueError):  # an observation NumPy cannot hold as numbers
        return None


def episode_started(env_key, obs):
    """After every ``reset``: the state the episode starts from."""
    _START[env_key] = fingerprint(obs)


def registered_limit(env_id):
    """The time limit ``env_id`` is registered with in gymnasium (gym's ids are registered there
    too; a script's own ``gym.register`` reaches it through the shim), or None."""
    try:
        import gymnasium

        from ...core.oldgym import resolve

        spec = gymnasium.envs.registry.get(str(env_id)) or gymnasium.envs.registry.get(resolve(str(env_id))[0])
    except Exception:  # noqa: BLE001 - no registry, no limit
        return None
    limit = getattr(spec, "max_episode_steps", None)
    return limit if isinstance(limit, int) and limit > 0 else None


def _limit(env_key):
    if env_key not in _LIMITS:
        ids = OPTS.env_ids
        _LIMITS[env_key] = (registered_limit(ids[env_key]) if isinstance(env_key, int) and 0 <= env_key < len(ids)
                            else None)
    return _LIMITS[env_key]


def episode_step(env_key, reward, done):
    """After every ``step``: the reward adds to the episode in progress (and, within the time limit its
    environment is registered with, to its return within that limit: the same on an environment
    played without its limit, ``env.unwrapped``, as on the limited one); ``done`` ends it."""
    acc = _OPEN.setdefault(env_key, [0.0, 0, _START.pop(env_key, None), 0.0])
    try:
        r = float(reward)
    except (TypeError, ValueError):  # a reward that is no number: the episode's return is unknown
        r = float("nan")
    acc[0] += r
    limit = _limit(env_key)
    if limit is None or acc[1] < limit:
        acc[3] += r
    acc[1] += 1
    if done:
        OPTS.finished.append([acc[0], acc[1], env_key, acc[2], acc[3]])
        del _OPEN[env_key]


def episode_reset(env_key):
    """At every ``reset``: an episode the script ended itself (stepped, never done) ends here."""
    acc = _OPEN.pop(env_key, None)
    if acc is not None and acc[1]:
        OPTS.finished.append([acc[0], acc[1], env_key, acc[2], acc[3]])


def derived_seed(seed, kind: str):
    """``--seeds``: a seed the script chose itself (``np.random.seed(1)``, ``env.seed(1)``),
    moved by the run's seed so that runs vary: ``seed + 1000003 * run`` (run 0 keeps the
    script's own). None stays None (the script asked for entropy)."""
    if not OPTS.vary or seed is None or OPTS.seed is None:
        return seed
    try:
        s = int(seed)
    except (TypeError, ValueError):
        return seed
    return (s + 1_000_003 * OPTS.seed) % (2 ** 31)


def env_stepped():
    """Called before every ``step``: counts environment steps for ``--steps``."""
    if OPTS.stopped:
        raise Stop(OPTS.stopped)
    if OPTS.steps is not None and OPTS.env_steps >= OPTS.steps:
        stop(f"stopped after {OPTS.steps} environment steps (--steps {OPTS.steps})")
    if OPTS.first_step_s is None:
        OPTS.first_step_s = round(__import__("time").time() - T0, 3)
    OPTS.env_steps += 1
