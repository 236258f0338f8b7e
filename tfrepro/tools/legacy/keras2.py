"""``import keras`` for a TF1-era script: Keras 2 in a TF1 graph, as Keras 2.2.4 ran.

* Keras 2 is tf-keras, with TensorFlow's eager mode off before the first model is built,
  so models build into TF1 graphs and train through sessions (tf-keras's v1 engine, the
  successor of Keras 2.2.4's): silent ``predict``, about a millisecond a call, where
  eager tf-keras takes 20-40 ms and prints a progress bar.
* The optimizers are tf-keras's legacy ones (Keras 2.2.4's algorithms) and take ``lr=``
  as 2.2.4 did (tf-keras's new optimizers silently ignore it).
* Spaces in model and layer names become ``_`` (they break TF name scopes); automatic names
  count from 1 (``dense_1``), as Keras 2.2.4's did and its ``.h5`` files hold them.
* ``predict`` on a NumPy array, and ``fit`` on NumPy arrays without callbacks, validation,
  weights or progress output, take a short path: the model's own predict and train
  functions (the graph calls ``predict`` and ``fit`` make), called per batch of
  ``batch_size`` rows, with ``fit``'s shuffling (NumPy's global generator, per epoch), its
  per-epoch metric aggregation and its ``History``; everything else goes the long way.
  The short path skips the per-call set-up of tf-keras's training loop (callbacks, data
  adapters, progress bars), which is most of a one-row call's time; the numbers are the
  same (``compat_tests/test_legacy_runner.py`` holds the two paths to each other).
"""
from __future__ import annotations

import numpy as np

from .report import note
from .tfshim import Traced, descend, tensorflow

_KERAS: list = []


def _with_lr(cls):
    class Optimizer(cls):
        def __init__(self, *args, lr=None, **kwargs):
            if lr is not None:
                note("keras.optimizers.*(lr=)", "keras2")
                kwargs.setdefault("learning_rate", lr)
            super().__init__(*args, **kwargs)

    Optimizer.__name__ = Optimizer.__qualname__ = cls.__name__
    Optimizer.__module__ = "keras.optimizers"
    return Optimizer


STANDALONE: list = []  # set when the script imports standalone ``keras`` (not tf.keras)


def _names():
    """Spaces in names become ``_``; with standalone ``keras``, automatic names count from 1
    as Keras 2.2.4's did (``dense_1``, ``sequential_1``: the names its ``.h5`` files hold;
    tf.keras counted from 0)."""
    from tf_keras.src.engine import base_layer, base_layer_v1, functional

    for base in (base_layer.Layer, base_layer_v1.Layer, functional.Functional):
        def _init_set_name(self, name, *args, _orig=base._init_set_name, **kwargs):
            if isinstance(name, str) and " " in name:
                note("keras.name-with-spaces", "keras2")
                name = name.replace(" ", "_")
            if name is None and STANDALONE:
                args, kwargs = (), dict(kwargs, zero_based=False)
            return _orig(self, name, *args, **kwargs)

        base._init_set_name = _init_set_name


def _single_io(model):
    return (len(getattr(model, "inputs", None) or []) == 1 and len(getattr(model, "outputs", None) or []) == 1
            and not getattr(model, "stateful", False) and not getattr(model, "_distribution_strategy", None))


def _fits(model, x):
    """``x`` is a NumPy batch of the model's one input's shape."""
    if not isinstance(x, np.ndarray) or x.ndim == 0 or len(x) == 0:
        return False
    shape = model.inputs[0].shape.as_list()
    return len(shape) == x.ndim and all(s is None or s == d for s, d in zip(shape[1:], x.shape[1:]))


_SHORT: list = []


def short_paths():
    """Install the naming rules and the short ``predict`` / ``fit`` paths (once)."""
    if _SHORT:
        return
    _SHORT.append(True)
    _names()
    from tf_keras.src import callbacks as callbacks_module
    from tf_keras.src.engine import training_arrays_v1, training_utils_v1, training_v1
    from tf_keras.src.utils.mode_keys import ModeKeys

    Model = training_v1.Model
    long_predict, long_fit = Model.predict, Model.fit

    def predict(self, x, batch_size=None, verbose=0, steps=None, callbacks=None, **kwargs):
        note("keras.model.predict", "keras2")
        if kwargs or steps is not None or callbacks or verbose or not _single_io(self) or not _fits(self, x):
            return long_predict(self, x, batch_size=batch_size, verbose=verbose, steps=steps,
                                callbacks=callbacks, **kwargs)
        self._make_predict_function()
        f, bs = self.predict_function, batch_size or 32
        outs = [f([x[i:i + bs]])[0] for i in range(0, len(x), bs)]
        return outs[0] if len(outs) == 1 else np.concatenate(outs)

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose=1, callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
            steps_per_epoch=None, **kwargs):
        note("keras.model.fit", "keras2")
        long = (kwargs or verbose or callbacks or validation_split or validation_data is not None
                or class_weight is not None or sample_weight is not None or initial_epoch
                or steps_per_epoch is not None or shuffle not in (True, False)
                or not getattr(self, "optimizer", None) or not _single_io(self)
                or not _fits(self, x) or not isinstance(y, np.ndarray) or len(y) != len(x))
        if long:
            return long_fit(self, x, y, batch_size=batch_size, epochs=epochs, verbose=verbose,
                            callbacks=callbacks, validation_split=validation_split,
                            validation_data=validation_data, shuffle=shuffle, class_weight=class_weight,
                            sample_weight=sample_weight, initial_epoch=initial_epoch,
                            steps_per_epoch=steps_per_epoch, **kwargs)
        # ArrayLikeTrainingLoop.fit and training_arrays_v1.model_iteration (TRAIN mode, arrays,
        # no callbacks), step for step: the same feeds, shuffles, batches and aggregation
        bs = self._validate_or_infer_batch_size(batch_size, None, x)
        xs, ys, sws = self._standardize_user_data(x, y, batch_size=bs, check_steps=True,
                                                  steps_name="steps_per_epoch", shuffle=shuffle)
        ins = training_arrays_v1._prepare_feed_values(self, xs, ys, sws, ModeKeys.TRAIN)
        self._make_train_function()
        f = self.train_function
        n = training_arrays_v1._get_num_samples_or_steps(ins, bs, None)
        train = ModeKeys.TRAIN
        cbks = callbacks_module.configure_callbacks([], self, do_validation=False, batch_size=bs, epochs=epochs,
                                                    steps_per_epoch=None, samples=n, verbose=0, mode=train)
        cbks._call_begin_hook(train)
        for epoch in range(epochs):
            if cbks.model.stop_training:
                break
            epoch_logs = {}
            self.reset_metrics()
            cbks.on_epoch_begin(epoch, epoch_logs)
            index_array = np.arange(n)
            if shuffle:
                np.random.shuffle(index_array)
            batches = training_arrays_v1.make_batches(n, bs)
            aggregator = training_utils_v1.MetricsAggregator(False, num_samples=n)
            for b, (start, end) in enumerate(batches):
                ids = index_array[start:end]
                if len(batches) == 1:
                    ins_batch = ins  # the loop does not slice a single batch
                elif ins and isinstance(ins[-1], int):
                    ins_batch = training_arrays_v1.slice_arrays(ins[:-1], ids) + [ins[-1]]
                else:
                    ins_batch = training_arrays_v1.slice_arrays(ins, ids)
                batch_logs = {"batch": b, "size": len(ids)}
                cbks._call_batch_hook(train, "begin", b, batch_logs)
                outs = f(ins_batch)
                outs = outs if isinstance(outs, list) else [outs]
                if b == 0:
                    aggregator.create(outs)
                aggregator.aggregate(outs, start, end)
                cbks._call_batch_hook(train, "end", b, cbks.make_logs(self, batch_logs, outs, train))
                if cbks.model.stop_training:
                    break
            aggregator.finalize()
            cbks.on_epoch_end(epoch, cbks.make_logs(self, epoch_logs, aggregator.results, train))
        cbks._call_end_hook(train)
        return self.history

    Model.predict, Model.fit = predict, fit


# Keras 2.2.4's module paths that tf-keras flattened: ``from keras.layers.core import Dense``
LAYER_MODULES = ("core", "convolutional", "convolutional_recurrent", "normalization", "advanced_activations",
                 "recurrent", "pooling", "embeddings", "merge", "noise", "wrappers", "local", "cudnn_recurrent")


def _keras224_paths(tf_keras):
    """``keras.layers.<module>`` for Keras 2.2.4's layer modules (each the flat
    ``keras.layers``), ``keras.utils.np_utils`` and ``keras.engine`` (``topology``,
    ``training``)."""
    import types

    layers = Traced(tf_keras.layers, "keras.layers", "keras2",
                    extra={m: Traced(tf_keras.layers, f"keras.layers.{m}", "keras2") for m in LAYER_MODULES})
    np_utils = types.ModuleType("keras.utils.np_utils")
    np_utils.to_categorical, np_utils.normalize = tf_keras.utils.to_categorical, tf_keras.utils.normalize
    utils = Traced(tf_keras.utils, "keras.utils", "keras2", extra={"np_utils": np_utils})
    engine = types.ModuleType("keras.engine")
    engine.topology = types.ModuleType("keras.engine.topology")
    engine.topology.Layer, engine.topology.InputSpec = tf_keras.layers.Layer, tf_keras.layers.InputSpec
    engine.topology.Input = tf_keras.layers.Input
    engine.training = types.ModuleType("keras.engine.training")
    engine.training.Model = tf_keras.Model
    engine.Layer, engine.InputSpec, engine.Input, engine.Model = (tf_keras.layers.Layer, tf_keras.layers.InputSpec,
                                                                  tf_keras.layers.Input, tf_keras.Model)
    return {"layers": layers, "utils": utils, "engine": Traced(engine, "keras.engine", "keras2")}


def keras():
    """The ``keras`` module a script imports (one per process)."""
    STANDALONE[:] = [True]
    if not _KERAS:
        tensorflow()  # graph mode before the first model
        import tf_keras

        legacy = tf_keras.optimizers.legacy  # Keras 2.2.4's optimizers, as the books ran them
        names = ("SGD", "RMSprop", "Adam", "Adagrad", "Adadelta", "Adamax", "Nadam", "Ftrl")
        optimizers = Traced(tf_keras.optimizers, "keras.optimizers", "keras2",
                            extra={n: _with_lr(getattr(legacy, n)) for n in names if hasattr(legacy, n)})
        short_paths()
        _KERAS.append(Traced(tf_keras, "keras", "keras2", extra={"optimizers": optimizers, **_keras224_paths(tf_keras)}))
    return _KERAS[0]


def keras_submodule(name):
    """``keras.layers``, ``keras.optimizers``...: the traced module for ``name``."""
    return descend(keras(), name)
