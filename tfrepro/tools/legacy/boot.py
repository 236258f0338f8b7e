"""The child side of ``tfrepro legacy SCRIPT.py``: runs a TF1-era script unchanged on today's
TensorFlow, with shims that apply to the script's own files only.

Run as ``python -m tfrepro.tools.legacy_boot [OPTIONS] SCRIPT [ARGS...]`` (the options are
``tfrepro legacy``'s, passed on as JSON in ``--options``) in a fresh process whose
environment has ``TF_USE_LEGACY_KERAS=1`` (``tf.compat.v1.layers`` on tf-keras) and
``MPLBACKEND=Agg``. The script and the modules next to it see, when they import them:

* ``tensorflow``: ``tfshim`` (tf.compat.v1 in graph mode, with ``tf.contrib``'s subset);
* ``keras``: ``keras2`` (Keras 2 in TF1 graphs, ``lr=``, fast ``predict``/``fit``);
* ``gym``: ``gym021`` (gym 0.21's API over gymnasium);
* Python 2 source translated by ``py2`` (fissix) when it loads;
* ``matplotlib``: the Agg backend; ``plt.show()`` returns at once (figures saved to
  ``--figures DIR`` on request); ``pylab`` works.

Modules outside the script's folder (TensorFlow itself, tf-keras, NumPy) see the real
modules. A module the script imports that is not installed ends the run with one line
naming the pip package to install (exit 2), as does a TF1-era name outside the shims.
"""
from __future__ import annotations

import builtins
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
import types

from . import py2
from .report import TRACE, note
from .state import OPTS, EpisodesDone, MissingModule, NotCovered, is_script_file

# import name -> pip package, where they differ (for the missing-module line)
PIP_NAMES = {"cv2": "opencv-python", "sklearn": "scikit-learn", "PIL": "Pillow", "yaml": "PyYAML",
             "skimage": "scikit-image", "bs4": "beautifulsoup4", "Box2D": "box2d-py", "atari_py": "atari-py",
             "tf_slim": "tf-slim", "mujoco_py": "mujoco-py", "dateutil": "python-dateutil",
             "gym_super_mario_bros": "gym-super-mario-bros", "retro": "gym-retro", "tkinter": "python3-tk (Debian)"}


# -- the script's own modules, translated when they load ---------------------------------------
class _ScriptLoader(importlib.abc.SourceLoader):
    def __init__(self, path):
        self.path = path

    def get_filename(self, fullname):
        return self.path

    def get_data(self, path):
        with open(path, "rb") as f:
            return f.read()

    def source_to_code(self, data, path, *, _optimize=-1):
        return py2.compile_script(py2.read_source(path), path)


class _ScriptFinder(importlib.abc.MetaPathFinder):
    """Top-level modules in the script's folder load through ``py2``."""

    def find_spec(self, fullname, path=None, target=None):
        if "." in fullname:
            return None
        candidate = os.path.join(OPTS.script_dir, fullname + ".py")
        if os.path.isfile(candidate):
            return importlib.util.spec_from_file_location(fullname, candidate, loader=_ScriptLoader(candidate))
        return None


# -- the import hook ---------------------------------------------------------------------------
def _checked(module, fromlist):
    """``from M import a, b``: a name outside the shims is one line, not the ImportError
    Python would make of its AttributeError."""
    for name in fromlist:
        if name != "*":
            try:
                getattr(module, name)
            except NotCovered as e:
                raise MissingModule(str(e)) from None
            except AttributeError:
                pass  # Python's own ImportError follows, as it would have
    return module


def install():
    from . import gym021, keras2, tfshim

    real_import = builtins.__import__
    gym_modules: dict = {}

    def shim_import(name, globals=None, locals=None, fromlist=(), level=0):
        if level == 0 and globals and is_script_file(globals.get("__file__") or "") or (
                level == 0 and globals and globals.get("__name__") == "__main__"):
            root = name.split(".")[0]
            if root == "tensorflow" and name in ("tensorflow", "tensorflow.contrib") or name.startswith(
                    "tensorflow.contrib."):
                keras2.short_paths()  # tf.keras is Keras 2 in these graphs too
                return _checked(tfshim.tensorflow_submodule(name), fromlist) if fromlist else tfshim.tensorflow()
            if root == "gym":
                if not gym_modules:
                    gym_modules.update(gym021.module())
                if name not in gym_modules:
                    raise MissingModule(f"{name} is not covered by tfrepro legacy's gym 0.21 shim")
                return gym_modules[name] if fromlist else gym_modules["gym"]
            if root == "keras":
                return _checked(keras2.keras_submodule(name), fromlist) if fromlist else keras2.keras()
            try:
                return real_import(name, globals, locals, fromlist, level)
            except ModuleNotFoundError as e:
                if e.name and e.name.split(".")[0] == root and importlib.util.find_spec(root) is None:
                    pip = PIP_NAMES.get(root, root)
                    raise MissingModule(f"the script imports {root}, which is not installed: "
                                        f"pip install {pip}") from None
                raise
        return real_import(name, globals, locals, fromlist, level)

    builtins.__import__ = shim_import
    sys.meta_path.insert(0, _ScriptFinder())


# -- matplotlib ----------------------------------------------------------------------------------
def _matplotlib():
    """``plt.show()`` never blocks (Agg); with ``--figures DIR`` each open figure is saved
    there when the script shows it."""
    try:
        import matplotlib
    except ImportError:
        return
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [0]

    def show(*args, **kwargs):
        if OPTS.figures:
            from ...infra.records import atomic_save

            os.makedirs(OPTS.figures, exist_ok=True)
            for num in plt.get_fignums():
                shown[0] += 1
                path = os.path.join(OPTS.figures, f"figure-{shown[0]:03d}.png")
                atomic_save(path, lambda tmp, fig=plt.figure(num): fig.savefig(tmp, format="png"))
        return None

    plt.show = show
    import matplotlib.pylab

    matplotlib.pylab.show = show


# -- names later Pythons and NumPys removed -------------------------------------------------------
NUMPY_REMOVED = {  # name -> (value, what to write today)
    "float": (float, "float"), "int": (int, "int"), "bool": (bool, "bool"), "object": (object, "object"),
    "str": (str, "str"), "complex": (complex, "complex"), "long": (int, "int"), "unicode": (str, "str"),
    "float_": ("float64", "np.float64"), "complex_": ("complex128", "np.complex128"),
    "NaN": ("nan", "np.nan"), "NAN": ("nan", "np.nan"), "Inf": ("inf", "np.inf"), "Infinity": ("inf", "np.inf"),
    "infty": ("inf", "np.inf"), "PINF": ("inf", "np.inf"), "NINF": (-float("inf"), "-np.inf"),
    "product": ("prod", "np.prod"), "cumproduct": ("cumprod", "np.cumprod"), "alltrue": ("all", "np.all"),
    "sometrue": ("any", "np.any"), "asscalar": (lambda a: a.item(), "a.item()"),
}


def _removed_names():
    """NumPy's aliases removed in 1.24 and 2.0 (``np.float``, ``np.asscalar``, ``np.NaN``...) and
    ``time.clock`` (removed in Python 3.8) answer again, each use noted for the report."""
    import time

    import numpy as np

    from .report import MAP

    props = {}
    for name, (value, today) in NUMPY_REMOVED.items():
        if name in vars(np) or hasattr(type(np), name):
            continue
        if isinstance(value, str) and value != "nan" and value != "inf":
            value = getattr(np, value)
        elif value in ("nan", "inf"):
            value = float(value)
        MAP[f"np.{name}"] = (f"{today} (NumPy removed np.{name})", None)

        def get(self, _v=value, _n=name):
            note(f"np.{_n}", "numpy")
            return _v

        props[name] = property(get)
    if props:
        np.__class__ = type("numpy", (type(np),), props)
    if not hasattr(time, "clock"):
        MAP["time.clock"] = ("time.process_time() (or time.perf_counter() for wall time; "
                             "removed in Python 3.8)", None)

        def clock():
            note("time.clock", "python")
            return time.process_time()  # what time.clock measured on Unix

        time.clock = clock


# -- seeding ---------------------------------------------------------------------------------------
def _seed(seed):
    """``--seed``: Python's and NumPy's global generators, every TensorFlow graph's seed
    (the default graph, and any graph the script makes or resets to), tf-keras's; the
    environments get ``seed + k`` (the k-th made) at their first reset (``gym021``)."""
    import random

    import numpy as np

    random.seed(seed)
    np.random.seed(seed)
    from tensorflow.python.framework import ops

    init = ops.Graph.__init__

    def seeded_init(self, *args, **kwargs):
        init(self, *args, **kwargs)
        self.seed = seed

    ops.Graph.__init__ = seeded_init
    ops.get_default_graph().seed = seed


# -- main ---------------------------------------------------------------------------------------------
def _final_report():
    if not OPTS.report:
        return
    text = TRACE.json() if OPTS.report == "json" else TRACE.markdown()
    if OPTS.report_out:
        from ...infra.records import atomic_write_text

        atomic_write_text(OPTS.report_out, text)
    else:
        sys.stdout.flush()
        print(text, file=sys.stderr, end="")


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    opts = {}
    if argv[:1] == ["--options"]:
        opts, argv = json.loads(argv[1]), argv[2:]
    script, args = argv[0], argv[1:]
    path = os.path.abspath(script)
    OPTS.script_dir = os.path.dirname(path)
    OPTS.extra["script"] = os.path.basename(path)
    for key in ("episodes", "seed", "record", "record_format", "figures", "report", "report_out"):
        if opts.get(key) is not None:
            setattr(OPTS, key, opts[key])
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # rgb_array rendering, no display
    from ...infra.tfquiet import quiet_tensorflow

    quiet_tensorflow()  # TensorFlow's banner and C++ logs; the script's own output stays
    _matplotlib()
    _removed_names()
    if OPTS.seed is not None:
        _seed(OPTS.seed)
    status = 0
    try:
        code = py2.compile_script(py2.read_source(path), path, main=True)
        sys.argv = [script] + args
        sys.path.insert(0, OPTS.script_dir)
        install()
        main_mod = types.ModuleType("__main__")
        main_mod.__file__ = path
        main_mod.__builtins__ = builtins
        sys.modules["__main__"] = main_mod
        exec(code, main_mod.__dict__)
    except EpisodesDone:
        sys.stdout.flush()
        print(f"tfrepro legacy: stopped after {OPTS.episodes} episodes (--episodes {OPTS.episodes})",
              file=sys.stderr)
    except (NotCovered, MissingModule) as e:
        sys.stdout.flush()
        print(f"tfrepro legacy: {e}", file=sys.stderr)
        status = 2
    except SystemExit as e:
        status = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        if not isinstance(e.code, (int, type(None))):
            print(e.code, file=sys.stderr)
    except SyntaxError as e:
        if e.filename != path and not is_script_file(e.filename or ""):
            raise
        print(f"tfrepro legacy: {e.filename}:{e.lineno}: {e.msg}", file=sys.stderr)
        status = 2
    finally:
        _final_report()
    return status


if __name__ == "__main__":
    sys.exit(main())
