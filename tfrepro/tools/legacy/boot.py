"""The child side of ``tfrepro legacy SCRIPT.py``: runs a TF1-era script unchanged on today's
TensorFlow, with shims that apply to the script's own files only.

Run as ``main(["--options", JSON, SCRIPT, *ARGS])`` by ``runs.LEGACY_BOOT``'s ``python -c``
program (the options are ``tfrepro legacy``'s, passed on as JSON) in a fresh process whose
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
import threading
import types
import warnings

from . import numpy1, py2, python37
from .migration import TRACE, moved_seed
from . import state
from ...core.errors import UsageError
from .state import OPTS, MissingModule, NotCovered, OutputFailed, Stop, is_script_file

# import name -> pip package, where they differ (for the missing-module line)
PIP_NAMES = {"cv2": "opencv-python", "sklearn": "scikit-learn", "PIL": "Pillow", "yaml": "PyYAML",
             "skimage": "scikit-image", "bs4": "beautifulsoup4", "Box2D": "box2d", "atari_py": "atari-py",
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
        return py2.compile_script(_script_text(path), path)


class _ScriptFinder(importlib.abc.MetaPathFinder):
    """Every module of the script's own (beside it, in its subpackages, in folders it adds
    to ``sys.path``; ``state.is_script_file``) loads through ``py2`` and sees the shims; the
    standard library and installed packages load as they always do."""

    def find_spec(self, fullname, path=None, target=None):
        parent = fullname.rpartition(".")[0]
        if parent:
            mod = sys.modules.get(parent)
            if mod is None or not is_script_file(getattr(mod, "__file__", None) or ""):
                return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is None or not spec.origin or not spec.origin.endswith(".py") or not is_script_file(spec.origin):
            return None
        return importlib.util.spec_from_file_location(
            fullname, spec.origin, loader=_ScriptLoader(spec.origin),
            submodule_search_locations=spec.submodule_search_locations)


def _by_path():
    """Modules the script loads by file path (``importlib.util.spec_from_file_location``,
    ``imp.load_source``) are its own too."""
    real = importlib.util.spec_from_file_location

    def spec_from_file_location(name, location=None, *, loader=None, submodule_search_locations=None):
        path = os.fspath(location) if location is not None else None
        if loader is None and path and path.endswith(".py") and is_script_file(path):
            loader = _ScriptLoader(os.path.abspath(path))
        if submodule_search_locations is None:
            return real(name, location, loader=loader)
        return real(name, location, loader=loader, submodule_search_locations=submodule_search_locations)

    importlib.util.spec_from_file_location = spec_from_file_location
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            import imp
        except ImportError:  # Python 3.12 dropped it
            return
    real_load_source = imp.load_source

    def load_source(name, pathname, file=None):
        if not is_script_file(pathname):
            return real_load_source(name, pathname, file)
        spec = spec_from_file_location(name, pathname)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return module

    imp.load_source = load_source


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


def _missing(e: ImportError):
    """A ModuleNotFoundError for a third-party module that is not installed, as one line
    with the pip package to install (None for anything else)."""
    name = getattr(e, "name", None)
    if not name:
        return None
    root = name.split(".")[0]
    try:
        installed = importlib.util.find_spec(root) is not None
    except (ImportError, ValueError):
        installed = True
    if installed or root in sys.builtin_module_names:
        return None
    return MissingModule(f"the script imports {root}, which is not installed: pip install {PIP_NAMES.get(root, root)}")


def install():
    from . import gym021, keras2, numpy1, scipy1, tfshim

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
            if name == "numpy":
                return numpy1.view()
            if root == "scipy":
                scipy1.install()
            try:
                return real_import(name, globals, locals, fromlist, level)
            except ModuleNotFoundError as e:
                missing = _missing(e)
                if missing:
                    raise missing from None
                raise
        return real_import(name, globals, locals, fromlist, level)

    builtins.__import__ = shim_import
    sys.meta_path.insert(0, _ScriptFinder())
    _by_path()


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
                try:
                    atomic_save(path, lambda tmp, fig=plt.figure(num): fig.savefig(tmp, format="png"))  # noqa: B008
                except (OSError, UsageError) as e:
                    why = getattr(e, "strerror", None) or e
                    raise OutputFailed(f"--figures: cannot write {path} ({why})") from None
        return None

    plt.show = show
    import matplotlib.pylab

    matplotlib.pylab.show = show


# -- seeding ---------------------------------------------------------------------------------------
def _seed(seed):
    """``--seed``: Python's and NumPy's global generators, every TensorFlow graph's seed
    (the default graph, and any graph the script makes or resets to), tf-keras's; the
    environments get ``seed + k`` (the k-th made) at their first reset (``gym021``)."""
    import random

    import numpy as np

    from .capture115 import seed_graphs

    random.seed(seed)
    np.random.seed(seed)
    seed_graphs(seed)


def _vary_seeds():
    """``--seeds``: the script's own constant seeds (``random.seed(1)``, ``np.random.seed(1)``,
    ``tf.set_random_seed(1)``; ``env.seed(1)`` in ``gym021``) move by the run's seed
    (``state.derived_seed``), so that its runs differ; the report lists each."""
    import random

    import numpy as np

    real_random, real_np = random.seed, np.random.seed
    random.seed = lambda a=None, *args, **kw: real_random(moved_seed(a, "random.seed"), *args, **kw)
    np.random.seed = lambda s=None: real_np(moved_seed(s, "np.random.seed"))  # tf's: in tfshim


# -- main ---------------------------------------------------------------------------------------------
def _final_report():
    if not OPTS.report:
        return
    text = TRACE.json() if OPTS.report == "json" else TRACE.markdown()
    if OPTS.report_out:
        from ...infra.records import atomic_write_text

        try:
            atomic_write_text(OPTS.report_out, text)
        except (OSError, UsageError) as e:  # a full disk, a file of the user's appeared there
            return f"--report-out: cannot write {OPTS.report_out} ({getattr(e, 'strerror', None) or e})"
    else:
        sys.stdout.flush()
        print(text, file=sys.stderr, end="")


def _script_text(path):
    """A file of the script's as Python reads it: IPython lines (``%matplotlib inline``,
    ``!pip ...``) translated by IPython's own transformers where the file has any."""
    text = py2.read_source(path)
    try:
        from . import ipython
    except ImportError:  # IPython not installed: the text as it is
        return text
    return ipython.translate(text, path)


_THREAD_FAILURES: list = []


def _thread_hook(args):
    """An uncaught exception in any thread of the script is printed, as Python prints it,
    and makes the run's exit code non-zero; a thread ended by ``--episodes`` / ``--steps`` /
    ``--seconds`` is no failure."""
    if isinstance(args.exc_value, Stop) or args.exc_type is Stop:
        return
    _THREAD_FAILURES.append(f"{args.thread.name if args.thread else 'a thread'}: "
                            f"{args.exc_type.__name__}: {args.exc_value}")
    _default_thread_hook(args)


def print_script_error(file=None):
    """The exception being handled, printed as Python prints it, without the frames of the
    runner's pass-through rewrites (functions holding ``__tracebackhide__``: ``float(x)``,
    ``obj[k] = v``, Python 2's ``/``): an error they re-raise is the script's own, and its
    traceback ends at the script's line, as it would without the runner. A traceback with no
    frame left is printed whole."""
    import traceback

    etype, value, tb = sys.exc_info()
    seen = set()

    def trim(exc, te):
        if exc is None or id(exc) in seen:
            return
        seen.add(id(exc))
        frames = [(f, n) for f, n in traceback.walk_tb(exc.__traceback__)
                  if not f.f_locals.get("__tracebackhide__")]
        if frames:
            te.stack = traceback.StackSummary.extract(iter(frames))
        trim(exc.__cause__, te.__cause__)
        trim(exc.__context__, te.__context__)

    te = traceback.TracebackException(etype, value, tb)
    trim(value, te)
    print("".join(te.format()), end="", file=file or sys.stderr)


_default_thread_hook = threading.excepthook
_PROCESSES: list = []


def _processes():
    """The script's ``multiprocessing`` children: a child's uncaught exception is a failure
    of the run, as a thread's is; a child that reaches a stop ends cleanly (exit 0, one line)."""
    import multiprocessing.process as mp

    start, run = mp.BaseProcess.start, mp.BaseProcess.run

    def started(self):
        _PROCESSES.append(self)
        return start(self)

    def stoppable(self):
        try:
            return run(self)
        except Stop:
            sys.stdout.flush()
            print(f"tfrepro legacy: {OPTS.stopped} in {self.name}", file=sys.stderr)
            raise SystemExit(0) from None

    mp.BaseProcess.start, mp.BaseProcess.run = started, stoppable


def _failed_children():
    out = []
    for proc in _PROCESSES:
        code = proc.exitcode
        if code is not None and code != 0:
            out.append(f"{proc.name}: exit {code}")
    return out


def _others():
    return [t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon and t.is_alive()]


def _load_main(path):
    """The code object of the script (or the notebook's code cells), and its ``__main__``
    module's namespace."""
    main_mod = types.ModuleType("__main__")
    main_mod.__builtins__ = builtins
    python2 = False
    try:
        from . import ipython
    except ImportError:
        ipython = None
    if ipython is not None and ipython.is_notebook(path):
        text, OPTS.extra["cells"] = ipython.notebook_source(path)
        python2 = ipython.notebook_python2(path)
        text = ipython.translate(text, path)
        import linecache

        linecache.cache[path] = (len(text), None, text.splitlines(True), path)  # tracebacks show the cells' code
    else:
        text = _script_text(path)
        main_mod.__file__ = path
    if ipython is not None:
        ipython.install(main_mod.__dict__)
    return py2.compile_script(text, path, main=True, python2=python2), main_mod


def _where(filename, line):
    cells = OPTS.extra.get("cells")
    if cells and filename and filename.endswith(".ipynb"):
        from . import ipython

        return f"{filename}: {ipython.where(cells, line)}"
    return f"{filename}:{line}"


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    opts = {}
    if argv[:1] == ["--options"]:
        opts, argv = json.loads(argv[1]), argv[2:]
    script, args = argv[0], argv[1:]
    path = os.path.abspath(script)
    OPTS.script_dir = os.path.dirname(path)
    OPTS.extra["script"] = os.path.basename(path)
    for key in ("episodes", "steps", "seconds", "seed", "record", "record_format", "figures", "report",
                "report_out", "capture", "vary"):
        if opts.get(key) is not None:
            setattr(OPTS, key, opts[key])
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # rgb_array rendering, no display
    from ...infra.tfquiet import quiet_tensorflow

    quiet_tensorflow()  # TensorFlow's banner and C++ logs; the script's own output stays
    _matplotlib()
    python37.install()
    numpy1.printing()
    if OPTS.seed is not None:
        _seed(OPTS.seed)
    if OPTS.vary:
        _vary_seeds()
    threading.excepthook = _thread_hook
    _processes()
    state.arm()
    status, stopped = 0, False
    try:
        try:
            code, main_mod = _load_main(path)
            sys.argv = [script] + args
            install()  # before the script's folder is on sys.path: its modules are the script's
            state.give_back_shadowed(OPTS.script_dir)
            sys.path.insert(0, OPTS.script_dir)
            sys.modules["__main__"] = main_mod
            exec(code, main_mod.__dict__)
        finally:
            threading.excepthook = _thread_hook  # a script that set its own keeps its exceptions counted
        for t in _others():  # what Python does at exit, before the verdict on the threads
            t.join()
    except Stop:  # said after the report is written: a report that cannot be is the one line
        sys.stdout.flush()
        stopped = True
    except (NotCovered, MissingModule, OutputFailed) as e:
        sys.stdout.flush()
        print(f"tfrepro legacy: {e}", file=sys.stderr)
        status = 2
    except ModuleNotFoundError as e:
        missing = _missing(e)
        if missing is None:
            raise
        sys.stdout.flush()
        print(f"tfrepro legacy: {missing}", file=sys.stderr)
        status = 2
    except SystemExit as e:
        status = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        if not isinstance(e.code, (int, type(None))):
            print(e.code, file=sys.stderr)
    except KeyboardInterrupt:  # Ctrl-C: the command says so in one line; exit as a shell would
        sys.stdout.flush()
        status = 130
    except SyntaxError as e:
        if e.filename != path and not is_script_file(e.filename or ""):
            raise
        print(f"tfrepro legacy: {_where(e.filename, e.lineno)}: {e.msg}", file=sys.stderr)
        status = 2
    except Exception:  # noqa: BLE001 - the script's own failure: its traceback, as Python prints it; exit 1
        print_script_error()
        status = 1
    finally:
        failed = _final_report()
        if failed:
            print(f"tfrepro legacy: {failed}", file=sys.stderr)
            status = status or 2
        elif stopped:
            print(f"tfrepro legacy: {OPTS.stopped}", file=sys.stderr)
        if OPTS.capture:
            from .capture import write

            write(OPTS.capture, path, "legacy", status)
    if _THREAD_FAILURES and status == 0 and not OPTS.stopped:
        n = len(_THREAD_FAILURES)
        print(f"tfrepro legacy: {n} thread{'s' if n > 1 else ''} of the script ended with an uncaught "
              f"exception (first: {_THREAD_FAILURES[0]}); exit 1", file=sys.stderr)
        status = 1
    children = _failed_children()
    if children and status == 0 and not OPTS.stopped:
        n = len(children)
        print(f"tfrepro legacy: {n} process{'es' if n > 1 else ''} of the script failed ({', '.join(children[:3])}); "
              "exit 1", file=sys.stderr)
        status = 1
    if OPTS.stopped:  # the stop ends the script's workers with it
        for proc in _PROCESSES:
            if proc.is_alive():
                proc.terminate()
        if _others():
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(status)
    return status


if __name__ == "__main__":
    sys.exit(main())
