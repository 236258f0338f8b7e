"""The child side of ``tfrepro legacy SCRIPT.py``: runs a TF1-era script unchanged on today's
TensorFlow, with shims that apply to the script's own imports only.

Run as ``python -m tfrepro.tools.legacy_boot [--report] SCRIPT [ARGS...]`` in a fresh process whose
environment has ``TF_USE_LEGACY_KERAS=1`` (so that ``tf.compat.v1.layers`` works, on tf-keras).
The shims, each listed by ``--report`` when used:

* ``import tensorflow as tf``: ``tensorflow.compat.v1`` with TF2 behaviour disabled (graph
  mode, sessions, placeholders, ``tf.layers``, ``tf.train.*Optimizer``, ``FileWriter``);
* ``import gym``: the gym <= 0.21 API over gymnasium (``reset() -> obs``, four-value
  ``step``, ``env.seed``, ``render(mode=...)``; ``human`` rendering is skipped, there is no
  display);
* ``import keras`` / ``from keras.x import y``: Keras 2 (tf-keras) with ``lr=`` honoured by
  the optimizers (as Keras 2.2.4 did; Keras 2.2.4's own optimizers, tf-keras's legacy ones)
  and spaces in model and layer names replaced by ``_`` (they break name scopes);
* Python 2 habits: tabs in indentation expanded the way Python 2 read them (to the next
  multiple of 8 columns), ``raw_input`` and ``xrange`` defined.

Modules outside the script's folder (TensorFlow itself, tf-keras, NumPy) see the real
modules: only imports made by the script, or by modules next to it, are redirected.
"""
from __future__ import annotations

import builtins
import importlib
import os
import re
import sys
import types

USED: dict[str, str] = {}  # shim -> what it did, in first-use order


def _note(key, what):
    USED.setdefault(key, what)


# -- tensorflow -------------------------------------------------------------------
_TF = []


def _tensorflow():
    if not _TF:
        import tensorflow.compat.v1 as v1

        v1.disable_v2_behavior()
        _TF.append(v1)
    _note("tensorflow", "import tensorflow -> tf.compat.v1 with TF2 behaviour disabled (graph mode)")
    return _TF[0]


# -- gym ----------------------------------------------------------------------------
def _gym_module():
    from ..core.envs import OldGymAPI, make

    class LegacyEnv(OldGymAPI):
        def __getattr__(self, name):  # old gym's wrapper attributes, e.g. _max_episode_steps
            return getattr(self.env, name)

        def render(self, mode="human", **kwargs):
            if mode == "human":
                _note("gym.render", "env.render(mode='human') skipped (no display)")
                return None
            _note("gym.render", "env.render(mode='rgb_array') -> gymnasium rgb_array frames")
            return self.env.render()

    def gym_make(env_id, **kwargs):
        _note("gym", "import gym -> the gym 0.21 API over gymnasium (reset -> obs, "
                     "step -> 4 values, env.seed, render(mode=...))")
        return LegacyEnv(make(env_id, render_mode="rgb_array", **kwargs))

    import gymnasium

    mod = types.ModuleType("gym")
    mod.make = gym_make
    mod.spaces = gymnasium.spaces
    mod.Env = gymnasium.Env
    mod.__version__ = "0.21.0 (tfrepro legacy shim over gymnasium %s)" % gymnasium.__version__
    return mod


# -- keras (standalone Keras 2) -------------------------------------------------------
_KERAS = {}


def _keras_tree():
    if _KERAS:
        return _KERAS
    import tf_keras

    def with_lr(cls):
        class Optimizer(cls):
            def __init__(self, *args, lr=None, **kwargs):
                if lr is not None:
                    _note("keras.lr", "optimizer(lr=...) honoured as learning_rate (as Keras 2.2.4 did)")
                    kwargs.setdefault("learning_rate", lr)
                super().__init__(*args, **kwargs)

        Optimizer.__name__ = Optimizer.__qualname__ = cls.__name__
        return Optimizer

    def proxy(name, real, overrides):
        mod = types.ModuleType(name)
        mod.__dict__.update({k: v for k, v in vars(real).items() if not k.startswith("__")})
        mod.__dict__.update(overrides)
        return mod

    legacy = tf_keras.optimizers.legacy  # Keras 2.2.4's optimizers, as the books ran them
    optimizers = proxy("keras.optimizers", tf_keras.optimizers, {
        n: with_lr(getattr(legacy, n)) for n in ("SGD", "RMSprop", "Adam", "Adagrad", "Adadelta",
                                                  "Adamax", "Nadam", "Ftrl") if hasattr(legacy, n)})
    # Spaces in a model's name break its name scope (predict fails): replace them where
    # every layer and model sets its name, in both of tf-keras's base classes.
    from tf_keras.src.engine import base_layer, base_layer_v1, functional

    for base in (base_layer.Layer, base_layer_v1.Layer, functional.Functional):
        def _init_set_name(self, name, *args, _orig=base._init_set_name, **kwargs):
            if isinstance(name, str) and " " in name:
                _note("keras.name", "spaces in model and layer names replaced by '_'")
                name = name.replace(" ", "_")
            return _orig(self, name, *args, **kwargs)

        base._init_set_name = _init_set_name
    top = proxy("keras", tf_keras, {"optimizers": optimizers})
    _KERAS.update({"keras": top, "keras.optimizers": optimizers})
    return _KERAS


def _keras(name, fromlist):
    _note("keras", "import keras -> Keras 2 (tf-keras)")
    tree = _keras_tree()
    if not fromlist or name == "keras":
        return tree["keras"]
    if name in tree:
        return tree[name]
    return importlib.import_module("tf_keras" + name[len("keras"):])


# -- the import hook --------------------------------------------------------------------
def install(script_dir):
    real_import = builtins.__import__
    gym_mod = []

    def from_script(globals_):
        if not globals_:
            return False
        f = globals_.get("__file__") or ""
        return globals_.get("__name__") == "__main__" or (
            f and os.path.dirname(os.path.abspath(f)) == script_dir)

    def shim_import(name, globals=None, locals=None, fromlist=(), level=0):
        if level == 0 and from_script(globals):
            root = name.split(".")[0]
            if name == "tensorflow":
                return _tensorflow()
            if root == "gym":
                if not gym_mod:
                    gym_mod.append(_gym_module())
                return gym_mod[0]
            if root == "keras":
                return _keras(name, fromlist)
        return real_import(name, globals, locals, fromlist, level)

    builtins.__import__ = shim_import


# -- Python 2 habits ---------------------------------------------------------------------
_INDENT = re.compile(r"^[ \t]+", re.M)


def python2_fixes(source: str) -> str:
    lines = source.splitlines(True)
    mixed = any("\t" in m.group(0) for m in _INDENT.finditer(source)) and any(
        m.group(0).startswith(" ") or " \t" in m.group(0) for m in _INDENT.finditer(source))
    if mixed:
        _note("tabs", "tabs in indentation expanded to Python 2's 8-column stops")
        out = []
        for line in lines:
            m = _INDENT.match(line)
            out.append(m.group(0).expandtabs(8) + line[m.end():] if m else line)
        source = "".join(out)
    if re.search(r"\braw_input\s*\(", source):
        _note("raw_input", "raw_input -> input")
        builtins.raw_input = input
    if re.search(r"\bxrange\s*\(", source):
        _note("xrange", "xrange -> range")
        builtins.xrange = range
    return source


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    report = argv[:1] == ["--report"]
    if report:
        argv = argv[1:]
    script, args = argv[0], argv[1:]
    path = os.path.abspath(script)
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # rgb_array rendering, no display
    from ..infra.tfquiet import quiet_tensorflow

    quiet_tensorflow()  # TensorFlow's banner and C++ logs; the script's own output stays
    with open(path, encoding="utf-8", errors="replace") as f:
        source = python2_fixes(f.read())
    code = compile(source, path, "exec")
    sys.argv = [script] + args
    sys.path.insert(0, os.path.dirname(path))
    install(os.path.dirname(path))
    main_mod = types.ModuleType("__main__")
    main_mod.__file__ = path
    main_mod.__builtins__ = builtins
    sys.modules["__main__"] = main_mod
    status = 0
    try:
        exec(code, main_mod.__dict__)
    except SystemExit as e:
        status = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        if not isinstance(e.code, (int, type(None))):
            print(e.code, file=sys.stderr)
    finally:
        if report:
            sys.stdout.flush()
            print("tfrepro legacy: shims used: " + ("none" if not USED else ""), file=sys.stderr)
            for key, what in USED.items():
                print(f"  {key}: {what}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
