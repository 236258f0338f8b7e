"""``import tensorflow as tf`` and ``import keras`` for a TF1-era script.

* ``tensorflow``: ``tensorflow.compat.v1`` with TF2 behaviour disabled (graph mode, sessions,
  placeholders, ``tf.layers`` on tf-keras, ``tf.train.*Optimizer``, reference variables as in
  TF 1.15), plus ``tf.contrib``'s commonly used subset, each name with its TF 1.15 meaning:

  ==============================  ==============================================================
  ``tf.contrib.layers``           tf-slim (the maintained copy of contrib.layers: initializers
                                  with the 1.3 truncated-normal factor, ``fully_connected``,
                                  ``conv2d``, ``flatten``, ``layer_norm``, regularizers,
                                  ``optimize_loss``, ``arg_scope``; TF1 variable names)
  ``tf.contrib.slim``             tf-slim
  ``tf.contrib.framework``        tf-slim's variables and ``arg_scope``; ``get_global_step``
  ``tf.contrib.distributions``    ``tf.compat.v1.distributions`` (the same classes in 1.15)
  ``tf.contrib.rnn``              ``tf.compat.v1.nn.rnn_cell`` (tf-keras's legacy cells) and
                                  ``static_rnn`` / ``static_bidirectional_rnn``
  ==============================  ==============================================================

  Any other ``tf.contrib`` name stops the script with one line naming it.
* ``keras``: Keras 2 (tf-keras) building into TF1 graphs, as Keras 2.2.4 did (``keras2``).

Every name the script reads from these modules is noted for ``--report`` where it was read.
"""
from __future__ import annotations

import types

from .migration import note
from .state import OPTS, NotCovered


class Lazy:
    """A name whose module is built the first time the script reads it."""

    def __init__(self, make):
        self.make = make


class Traced(types.ModuleType):
    """A module as the script sees it: attribute reads are noted where they happen;
    submodules come back traced too; ``extra`` adds or replaces names."""

    def __init__(self, real, label, kind, extra=None, missing=None):
        super().__init__(getattr(real, "__name__", label))
        self.__dict__["_tr"] = (real, label, kind, dict(extra or {}), {}, missing)
        if getattr(real, "__doc__", None):
            self.__dict__["__doc__"] = real.__doc__

    def __getattr__(self, name):
        real, label, kind, extra, cache, missing = self.__dict__["_tr"]
        if name in cache:
            value = cache[name]
        elif name in extra:
            value = extra[name]
            if isinstance(value, Lazy):
                value = cache.setdefault(name, value.make())
        else:
            try:
                value = getattr(real, name)
            except AttributeError:
                if name.startswith("__") or missing is None:
                    raise
                raise NotCovered(missing(f"{label}.{name}")) from None
        full = f"{label}.{name}"
        if isinstance(value, types.ModuleType) and not isinstance(value, Traced):
            value = cache.setdefault(name, Traced(value, full, kind, missing=missing))
        elif not isinstance(value, Traced):
            note(full, kind)
        return value

    def __setattr__(self, name, value):
        setattr(self.__dict__["_tr"][0], name, value)

    def __dir__(self):
        real, _, _, extra, _, _ = self.__dict__["_tr"]
        return sorted(set(dir(real)) | set(extra))

    @property
    def traced_real(self):
        return self.__dict__["_tr"][0]


_TF: list = []


def _tf_missing(name):
    import tensorflow

    return f"{name} is not in tensorflow.compat.v1 of TensorFlow {tensorflow.__version__}"


def _contrib_missing(name):
    return (f"{name} is not in tfrepro legacy's tf.contrib subset (layers, slim, framework, "
            "distributions, rnn: docs/legacy.md)")


def _module(name, values: dict):
    mod = types.ModuleType(name)
    mod.__dict__.update(values)
    return mod


def _public(mod):
    """A module's own public names (not the modules and __future__ features it imported)."""
    import __future__

    out = {}
    for k in dir(mod):  # dir, not vars: TensorFlow's API modules load their names lazily
        if k.startswith("_"):
            continue
        try:
            v = getattr(mod, k)
        except Exception:  # noqa: BLE001 - a lazily loaded name that cannot load here
            continue
        if not isinstance(v, (types.ModuleType, __future__._Feature)):
            out[k] = v
    return out


def contrib_module(v1):
    """``tensorflow.contrib`` with its commonly used subset (see the module docstring)."""
    import importlib

    import tf_slim

    layers = _module("tensorflow.contrib.layers", {**_public(tf_slim), **_public(tf_slim.layers)})
    layers.optimizers = importlib.import_module("tf_slim.layers.optimizers")
    framework = _module("tensorflow.contrib.framework", {
        **{k: v for k, v in _public(tf_slim).items() if k in (
            "arg_scope", "add_arg_scope", "has_arg_scope", "arg_scoped_arguments", "current_arg_scope",
            "get_variables", "get_model_variables", "get_trainable_variables", "get_local_variables",
            "get_variables_by_name", "get_variables_by_suffix", "get_variables_to_restore",
            "get_unique_variable", "get_variable_full_name", "model_variable", "variable", "global_variable",
            "local_variable", "add_model_variable", "assign_from_checkpoint", "assign_from_checkpoint_fn",
            "assign_from_values", "assign_from_values_fn", "filter_variables", "create_global_step",
            "get_or_create_global_step", "assert_global_step", "assert_or_get_global_step", "VariableDeviceChooser")},
        "get_global_step": v1.train.get_global_step})
    rnn = _module("tensorflow.contrib.rnn", {
        **_public(v1.nn.rnn_cell), "static_rnn": v1.nn.static_rnn,
        "static_bidirectional_rnn": v1.nn.static_bidirectional_rnn,
        "static_state_saving_rnn": v1.nn.static_state_saving_rnn})
    subs = {"layers": layers, "slim": tf_slim, "framework": framework, "distributions": v1.distributions,
            "rnn": rnn}
    return Traced(_module("tensorflow.contrib", subs), "tf.contrib", "contrib", missing=_contrib_missing)


def tf115_op_seeds():
    """An op without a seed of its own, in a graph with one, draws from ``(graph seed, op seed)``. TF 1.15
    derives the op seed from the graph's last operation id (``graph._last_id``: the number of operations made
    so far, the random op not yet among them); TF 2 from a counter of seeded ops per graph (0, 1, 2, ...). So
    ``tf.set_random_seed(1)`` then ``tf.layers.dense(x, 2)`` draws its kernel with op seed 4 on TF 1.15 and 0
    on TF 2.21, and the initial weights differ. Today's side takes TF 1.15's rule: the op seed is the number
    of operations in the graph. Where the script builds the same operations before its random op as it did
    on TF 1.15 (most layers, initializers and dropout do), it draws TF 1.15's numbers."""
    from tensorflow.python.framework import ops, random_seed

    if getattr(random_seed.get_seed, "tf115", False):
        return
    real = random_seed.get_seed

    def get_seed(op_seed):
        if op_seed is None and not ops.executing_eagerly_outside_functions():
            graph = ops.get_default_graph()
            if graph.seed is not None:
                op_seed = len(graph._nodes_by_id)  # TF 2 numbers ops from 2: the count, not the last id
        return real(op_seed)

    get_seed.tf115 = True
    random_seed.get_seed = get_seed


def tensorflow():
    """The ``tensorflow`` module a script imports (one per process)."""
    if not _TF:
        import tensorflow.compat.v1 as v1

        v1.disable_v2_behavior()  # graph mode, reference variables, v1 control flow: TF 1.15's defaults
        tf115_op_seeds()
        if OPTS.vary:  # --seeds: the script's own tf.set_random_seed(n) moves by the run's seed
            from .migration import moved_seed

            real_set = v1.set_random_seed

            def set_random_seed(seed):
                return real_set(moved_seed(seed, "tf.set_random_seed"))

            v1.set_random_seed = v1.random.set_random_seed = set_random_seed
        tf = Traced(v1, "tf", "tf1", extra={"contrib": Lazy(lambda: contrib_module(v1))}, missing=_tf_missing)
        _TF.append(tf)
    return _TF[0]


def descend(top, name):
    """``a.b.c`` from the traced top module ``a``: ``top.b.c``."""
    for part in name.split(".")[1:]:
        top = getattr(top, part)
    return top


def tensorflow_submodule(name):
    """``import tensorflow.contrib.layers`` and friends: the traced module for ``name``."""
    return descend(tensorflow(), name)
