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
  adapters, progress bars), which is most of a one-row call's time; ``fit`` standardizes an
  array's kind once per train function. Every graph call on NumPy inputs then runs the
  function's session callable directly once nothing it depends on has changed (``_quick_calls``).
  The numbers are the same: ``TFREPRO_KERAS_LONG_WAY=1`` sends every call tf-keras's own way,
  and ``compat_tests/test_legacy_runner.py`` holds the two ways to each other.
* The modules are tf-keras's TF1 API (``tf.compat.v1.keras``: LSTM and GRU with Keras 2.2.4's
  ``hard_sigmoid`` and ``reset_after=False``, its BatchNormalization, initializers, TensorBoard
  and session API), with what Keras 1.2-2.3 scripts used on top: ``from keras.layers import *``;
  Keras 1's argument names as Keras 2.0-2.3 converted them (``Dense(output_dim=, init=)``,
  ``Convolution2D(nb_filter, nb_row, nb_col, border_mode=, dim_ordering=)``, ``fit(nb_epoch=)``,
  ``fit_generator(samples_per_epoch=)``: keras/legacy/interfaces.py's tables), Keras 1's
  ``merge``/``Merge(mode=)`` as Keras 2's merge layers, ``keras.initializations``,
  ``keras.objectives``, Keras 2.2.4's module paths (``keras.layers.core``,
  ``keras.utils.np_utils``, ``keras.engine.topology``), the backend's ``set_session`` /
  ``get_session`` / ``tensorflow_backend`` / ``image_dim_ordering``, optimizers'
  ``get_updates`` in Keras 2.0's and 2.1's signatures, ``predict_classes`` /
  ``predict_proba``. Each converted use is noted ``keras1.*`` for the report; a Keras name
  outside this surface stops the script with one line naming it.
"""
from __future__ import annotations

import dis
import os
import sys
import types

import numpy as np

from .migration import note
from .state import MissingModule, NotCovered, is_script_file
from .tfshim import Lazy, Traced, descend, tensorflow

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


def _adam224(base):
    """Keras 2.2.4's ``Adam.get_updates`` as it ran on TF 1.x: ``m_t = b1 m + (1 - b1) g``,
    ``v_t = b2 v + (1 - b2) g^2``, ``p_t = p - lr_t m_t / (sqrt(v_t) + eps)`` with
    ``lr_t = lr sqrt(1 - b2^t) / (1 - b1^t)``, each an op of its own (tf-keras fuses them into one
    kernel whose last bits differ), and ``t = iterations + 1`` read *after* the step's
    ``iterations += 1``: the two ops had no order between them, and TF 1.15 ran the increment first
    on almost every step (measured with Keras 2.2.4 on TF 1.15: first steps of 0.744, 0.860, 0.913 lr,
    the bias correction one step ahead; now and then a step read the count before its increment).
    tf-keras reads it before. Here every step reads it after: TF 1.15's usual order, made certain."""

    class Adam(base):
        def _prepare_local(self, var_device, var_dtype, apply_state):
            super()._prepare_local(var_device, var_dtype, apply_state)
            import tensorflow as tf

            t = tf.cast(self.iterations, var_dtype) + 1 + 1  # the count after this step's increment, + 1
            b1 = self._get_hyper("beta_1", var_dtype)
            b2 = self._get_hyper("beta_2", var_dtype)
            lr = apply_state[(var_device, var_dtype)]["lr_t"]
            apply_state[(var_device, var_dtype)]["keras224"] = (
                b1, b2, lr * (tf.sqrt(1.0 - tf.pow(b2, t)) / (1.0 - tf.pow(b1, t))))

        def _resource_apply_dense(self, grad, var, apply_state=None):
            if self.amsgrad:
                return super()._resource_apply_dense(grad, var, apply_state)
            import tensorflow as tf

            dev, dtype = var.device, var.dtype.base_dtype
            coeff = (apply_state or {}).get((dev, dtype)) or self._fallback_apply_state(dev, dtype)
            b1, b2, lr_t = coeff["keras224"]
            m, v = self.get_slot(var, "m"), self.get_slot(var, "v")
            m_t = (b1 * m) + (1.0 - b1) * grad
            v_t = (b2 * v) + (1.0 - b2) * tf.square(grad)
            p_t = var - lr_t * m_t / (tf.sqrt(v_t) + self.epsilon)
            return tf.group(m.assign(m_t), v.assign(v_t), var.assign(p_t))

    Adam.__name__ = Adam.__qualname__ = "Adam"
    return Adam


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


def _logs(names, logs, outputs):
    """tf-keras's ``callbacks.make_logs`` for the training loop, with the model's metric names."""
    if names:
        for label, output in zip(names, outputs):
            logs[label] = output
    else:
        logs["outputs"] = outputs
    return logs


def _python_logs(logs):
    """``CallbackList._process_logs``: a new dict, NumPy scalars as Python numbers
    (``tf_utils.sync_to_numpy_or_python_type`` on a flat dict of NumPy values)."""
    if not all(type(v) in (int, float, np.ndarray) or isinstance(v, np.generic) for v in logs.values()):
        from tf_keras.src.utils import tf_utils

        return tf_utils.sync_to_numpy_or_python_type(logs)
    return {k: v.item() if isinstance(v, (np.ndarray, np.generic)) and v.ndim == 0 else v
            for k, v in logs.items()}


LONG_WAY = "TFREPRO_KERAS_LONG_WAY"  # set (to 1): every Keras call the long way, as tf-keras makes it
_SHORT: list = []
_FED = (np.ndarray, bool, int, float)  # what a quick call feeds: arrays and the learning phase's flag


def _quick_calls():
    """A Keras graph function's call (``K.function``: every ``predict``, ``fit``, ``train_on_batch``
    and ``evaluate`` batch) re-checks on every call what only a change can alter: which session,
    which inputs are fed, whether any Keras variable is new (``get_session`` initializes those),
    and it flattens and re-packs inputs and outputs through ``tf.nest``. For a DQN that calls
    ``predict`` and ``fit`` on one row a hundred times an environment step, that is most of its
    time. Here a call whose inputs are NumPy arrays or Python numbers (all fed, no ``feed_dict``), on the session,
    callable and fetches of the function's last call, with no Keras variable or TF optimizer made
    since, runs the same callable on the same arrays (cast as the long path casts them) and returns
    its outputs as the long path packs plain tensors; anything else goes the long way, which then
    readies the next quick call. The numbers are the long path's: the same session callable."""
    from tf_keras.src import backend as impl

    function = impl.GraphExecutionFunction
    long_call = function.__call__
    made = [0]  # Keras variables and TF optimizers made so far (a new one ends every quick call)

    def counting(real):
        def counted(*args, **kwargs):
            made[0] += 1
            return real(*args, **kwargs)

        return counted

    for name in ("track_variable", "track_tf_optimizer"):
        setattr(impl, name, counting(getattr(impl, name)))

    def __call__(self, inputs):
        plan = self.__dict__.get("_tfrepro_quick")
        if (plan is not None and type(inputs) in (list, tuple) and len(inputs) == len(plan[3])
                and plan[2] == made[0] and self._callable_fn is plan[0] and not self.feed_dict
                and all(type(v) in _FED for v in inputs)
                and impl._get_session(()) is plan[1] and self.fetches == self._fetches):
            fetched = self._callable_fn(*[np.asarray(v, dtype=t) for v, t in zip(inputs, plan[3])],
                                        run_metadata=self.run_metadata)
            self._call_fetch_callbacks(fetched[-len(self._fetches):])
            return list(fetched[:len(self.outputs)])
        before = made[0]
        out = long_call(self, inputs)
        self.__dict__.pop("_tfrepro_quick", None)
        tensor = impl.tf.Tensor
        if (type(inputs) in (list, tuple) and len(inputs) == len(self.inputs) and not self.feed_dict
                and all(type(v) in _FED for v in inputs) and not self._feed_symbols
                and len(self._feed_arrays) == len(self.inputs)
                and all(a is b for a, b in zip(self._feed_arrays, self.inputs))
                and type(self._outputs_structure) is list
                and all(isinstance(t, tensor) for t in self._outputs_structure)
                and not impl._GRAPH_TF_OPTIMIZERS[self._session.graph]):
            dtypes = tuple(impl.tf.as_dtype(t.dtype).as_numpy_dtype for t in self.inputs)
            self._tfrepro_quick = (self._callable_fn, self._session, before, dtypes)
        return out

    function.__call__ = __call__


def _one_session():
    """Keras 2.2.4's session was one per process (``K.set_session(sess)`` in the main thread
    is the session every worker thread's ``predict`` runs in: A3C scripts rely on it);
    tf-keras keeps one per thread."""
    import threading

    from tf_keras.src import backend as impl

    class ProcessSession:
        session = None

    impl._SESSION = ProcessSession()
    real = impl._get_session

    def _get_session(op_input_list=()):
        # a worker thread's default graph is its own (TF 1.15's too), so tf-keras would make it
        # a new session on another graph; Keras 2.2.4 handed every thread the process's session
        sess = impl._SESSION.session
        if (sess is not None and threading.current_thread() is not threading.main_thread()
                and impl.tf.compat.v1.get_default_session() is None):
            return sess
        return real(op_input_list)

    impl._get_session = _get_session


def numpy_drawn_seeds():
    """Keras 2.2.4's backend gave a random initializer without a seed of its own the op seed
    ``np.random.randint(10e6)``, drawn from NumPy's global generator when the layer built its weight
    (``K.random_uniform`` / ``random_normal`` / ``truncated_normal``), and its ``Orthogonal`` drew its
    matrix with ``np.random.normal``. tf-keras's TF1 initializers take TensorFlow's op seeds and leave
    NumPy alone, so a seeded script both starts from other weights and then draws other actions from
    NumPy. Here each weight a Keras layer makes draws its seed as 2.2.4 did; the distributions and
    their formulas were already 2.2.4's (``VarianceScaling``'s limit ``sqrt(3 scale)``, its truncated
    normal's ``sqrt(scale) / .8796``), so a seeded script draws 2.2.4's initial weights."""
    import copy

    from tensorflow.python.ops import init_ops
    from tf_keras.src.engine import base_layer_utils

    real = base_layer_utils.make_variable
    if getattr(real, "keras224", False):
        return
    drawn = (init_ops.RandomUniform, init_ops.RandomNormal, init_ops.TruncatedNormal, init_ops.VarianceScaling)

    def orthogonal(init):
        gain = float(getattr(init, "gain", 1.0))

        def call(shape, dtype=None, partition_info=None):
            shape = tuple(int(d) for d in shape)
            rows = int(np.prod(shape[:-1]))
            flat = (rows, shape[-1])
            a = np.random.normal(0.0, 1.0, flat)
            u, _, v = np.linalg.svd(a, full_matrices=False)
            q = (u if u.shape == flat else v).reshape(shape)
            return (gain * q[:shape[0], :shape[1]]).astype(getattr(dtype, "as_numpy_dtype", dtype) or "float32")

        return call

    def make_variable(name, shape=None, dtype=None, initializer=None, *args, **kwargs):
        if getattr(initializer, "seed", 0) is None:
            if isinstance(initializer, init_ops.Orthogonal) and shape is not None and len(shape) == 2:
                initializer = orthogonal(initializer)
                note("keras224.seed.Orthogonal", "keras2")
            elif isinstance(initializer, drawn):
                initializer = copy.copy(initializer)
                initializer.seed = np.random.randint(int(10e6))
                note(f"keras224.seed.{type(initializer).__name__}", "keras2")
        return real(name, shape, dtype, initializer, *args, **kwargs)

    make_variable.keras224 = True
    base_layer_utils.make_variable = make_variable


def short_paths():
    """Install the naming rules and the short ``predict`` / ``fit`` paths (once)."""
    if _SHORT:
        return
    _SHORT.append(True)
    _names()
    _model_methods()
    _one_session()
    if os.environ.get(LONG_WAY):  # the paths below off: to check them, or to rule them out
        return
    _quick_calls()
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
        if "nb_epoch" in kwargs:  # Keras 1's name, which Keras 2.0-2.3 took
            note("keras1.fit(nb_epoch=)", "keras1")
            epochs = kwargs.pop("nb_epoch")
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
        # no callbacks), step for step: the same feeds, shuffles, batches and aggregation, and the
        # loop's own callbacks (BaseLogger, then History) called as its CallbackList calls them
        bs = self._validate_or_infer_batch_size(batch_size, None, x)
        sig = (x.dtype, x.shape[1:], y.dtype, y.shape[1:])
        plan = self.__dict__.get("_tfrepro_fit")
        if plan is not None and plan[0] is self.train_function and plan[1] == sig:
            # the arrays' kind was standardized before to the arrays themselves, for this train
            # function (a new compile makes a new one): standardizing them again is the same
            ins, n, names = [x, y] + plan[2], len(x), plan[3]
        else:
            xs, ys, sws = self._standardize_user_data(x, y, batch_size=bs, check_steps=True,
                                                      steps_name="steps_per_epoch", shuffle=shuffle)
            ins = training_arrays_v1._prepare_feed_values(self, xs, ys, sws, ModeKeys.TRAIN)
            self._make_train_function()
            n = training_arrays_v1._get_num_samples_or_steps(ins, bs, None)
            names = self.metrics_names
            self.__dict__.pop("_tfrepro_fit", None)
            if (len(ins) >= 2 and ins[0] is x and ins[1] is y and n == len(x)
                    and all(type(v) in (bool, int) for v in ins[2:])):
                self._tfrepro_fit = (self.train_function, sig, ins[2:], names)
        f = self.train_function
        history, logger = callbacks_module.History(), callbacks_module.BaseLogger()
        self.history = history  # configure_callbacks, as it runs without callbacks or progress bar
        model = self._get_callback_model()
        params = {"batch_size": bs, "epochs": epochs, "steps": None, "samples": n, "verbose": 0,
                  "do_validation": False, "metrics": list(names)}
        logger.stateful_metrics = names[1:]
        for cb in (logger, history):
            cb.set_model(model)
            cb.set_params(params)
        model.stop_training = False
        for cb in (logger, history):
            cb.on_train_begin({})
        for epoch in range(epochs):
            if model.stop_training:
                break
            self.reset_metrics()
            for cb in (logger, history):
                cb.on_epoch_begin(epoch, {})
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
                batch_logs = _python_logs({"batch": b, "size": len(ids)})
                for cb in (logger, history):
                    cb.on_train_batch_begin(b, batch_logs)
                outs = f(ins_batch)
                outs = outs if isinstance(outs, list) else [outs]
                if b == 0:
                    aggregator.create(outs)
                aggregator.aggregate(outs, start, end)
                batch_logs = _python_logs(_logs(names, {"batch": b, "size": len(ids)}, outs))
                for cb in (logger, history):
                    cb.on_train_batch_end(b, batch_logs)
                if model.stop_training:
                    break
            aggregator.finalize()
            epoch_logs = _python_logs(_logs(names, {}, aggregator.results))
            for cb in (logger, history):
                cb.on_epoch_end(epoch, epoch_logs)
        for cb in (logger, history):
            cb.on_train_end({})
        return self.history


    Model.predict, Model.fit = predict, fit


# -- Keras 1.2 - 2.3 as the era's scripts used it ---------------------------------------------
#
# Keras 2.0-2.3 accepted Keras 1's argument names with a warning (keras/legacy/interfaces.py):
# one table per layer class, applied by the classes the script gets from ``keras.layers``
# (subclasses of tf-keras's, with the same names); each converted use is noted ``keras1.*``.

_DIM = {"dim_ordering": {"tf": "channels_last", "th": "channels_first", "default": None}}
_KERNEL = [("init", "kernel_initializer"), ("W_regularizer", "kernel_regularizer"),
           ("b_regularizer", "bias_regularizer"), ("W_constraint", "kernel_constraint"),
           ("b_constraint", "bias_constraint"), ("bias", "use_bias")]
_CONV = [("nb_filter", "filters"), ("subsample", "strides"), ("border_mode", "padding"),
         ("dim_ordering", "data_format")]
_RECURRENT = [("output_dim", "units"), ("init", "kernel_initializer"), ("inner_init", "recurrent_initializer"),
              ("inner_activation", "recurrent_activation"), ("W_regularizer", "kernel_regularizer"),
              ("b_regularizer", "bias_regularizer"), ("U_regularizer", "recurrent_regularizer"),
              ("dropout_W", "dropout"), ("dropout_U", "recurrent_dropout"), ("consume_less", "implementation")]


def _input_shape(kwargs, done):
    """Keras 1's ``input_dim`` / ``input_length`` of recurrent and 1D convolution layers."""
    if "input_dim" in kwargs:
        kwargs["input_shape"] = (kwargs.pop("input_length", None), kwargs.pop("input_dim"))
        done.append("input_dim=")


def _conv2d_pre(args, kwargs):
    """``Convolution2D(nb_filter, nb_row, nb_col)``: Keras 2's ``Conv2D(filters, (rows, cols))``."""
    done = []
    ints = all(isinstance(a, int) for a in args[1:])
    if len(args) > 3:
        raise TypeError("Layer can receive at most 3 positional arguments.")
    if len(args) == 3 and ints:
        if any(k in kwargs for k in ("padding", "strides", "data_format")):
            raise ValueError("It seems that you are using the Keras 2 and you are passing both `kernel_size` and "
                             "`strides` as integer positional arguments. For safety reasons, this is disallowed. "
                             "Pass `strides` as a keyword argument instead.")
        args, kernel = args[:1], (args[1], args[2])
    elif len(args) == 2 and isinstance(args[1], int) and "nb_col" in kwargs:
        args, kernel = args[:1], (args[1], kwargs.pop("nb_col"))
    elif len(args) <= 1 and "nb_row" in kwargs and "nb_col" in kwargs:
        kernel = (kwargs.pop("nb_row"), kwargs.pop("nb_col"))
    else:
        return args, kwargs, done
    if args:
        args = args + [kernel]
    else:
        kwargs["kernel_size"] = kernel
    done.append("nb_row, nb_col")
    return args, kwargs, done


def _conv3d_pre(args, kwargs):
    done = []
    dims = ("kernel_dim1", "kernel_dim2", "kernel_dim3")
    if len(args) > 4:
        raise TypeError("Layer can receive at most 4 positional arguments.")
    if len(args) == 4 and all(isinstance(a, int) for a in args[1:]):
        args, kernel = args[:1], tuple(args[1:])
    elif len(args) == 3 and all(isinstance(a, int) for a in args[1:]) and "kernel_dim3" in kwargs:
        args, kernel = args[:1], (args[1], args[2], kwargs.pop("kernel_dim3"))
    elif len(args) == 2 and isinstance(args[1], int) and all(d in kwargs for d in dims[1:]):
        args, kernel = args[:1], (args[1],) + tuple(kwargs.pop(d) for d in dims[1:])
    elif len(args) <= 1 and all(d in kwargs for d in dims):
        kernel = tuple(kwargs.pop(d) for d in dims)
    else:
        return args, kwargs, done
    if args:
        args = args + [kernel]
    else:
        kwargs["kernel_size"] = kernel
    done.append("kernel_dim1, kernel_dim2, kernel_dim3")
    return args, kwargs, done


def _conv1d_pre(args, kwargs):
    done = []
    _input_shape(kwargs, done)
    return args, kwargs, done


def _deconv2d_pre(args, kwargs):
    """Keras 1's ``Deconvolution2D(..., output_shape)``: Keras 2 computes the shape itself."""
    done = []
    if len(args) == 4 and isinstance(args[3], tuple):
        args = args[:3]
        done.append("output_shape")
    if "output_shape" in kwargs:
        kwargs.pop("output_shape")
        done.append("output_shape")
    args, kwargs, more = _conv2d_pre(args, kwargs)
    return args, kwargs, done + more


def _separable_pre(args, kwargs):
    done = []
    if "init" in kwargs:
        kwargs["depthwise_initializer"] = kwargs["pointwise_initializer"] = kwargs.pop("init")
        done.append("init=")
    args, kwargs, more = _conv2d_pre(args, kwargs)
    return args, kwargs, done + more


def _forget_bias(kwargs, done):
    if "forget_bias_init" in kwargs:
        if kwargs.pop("forget_bias_init") == "one":
            kwargs["unit_forget_bias"] = True
            done.append("forget_bias_init=")
        else:
            done.append("forget_bias_init=ignored")


def _recurrent_pre(args, kwargs):
    done = []
    _forget_bias(kwargs, done)
    _input_shape(kwargs, done)
    return args, kwargs, done


def _convlstm2d_pre(args, kwargs):
    done = []
    _forget_bias(kwargs, done)
    args, kwargs, more = _conv2d_pre(args, kwargs)
    return args, kwargs, done + more


def _embedding_pre(args, kwargs):
    done = []
    if "dropout" in kwargs:  # Keras 2 dropped it with a warning: not applied
        kwargs.pop("dropout")
        done.append("dropout=")
    return args, kwargs, done


def _batchnorm_pre(args, kwargs):
    done = []
    if args:
        raise TypeError("The `BatchNormalization` layer does not accept positional arguments. "
                        "Use keyword arguments instead.")
    if "mode" in kwargs:
        if kwargs.pop("mode") != 0:
            raise NotCovered("keras.layers.BatchNormalization(mode=1 or 2): Keras 1's per-sample and "
                             "feature-wise modes, removed in Keras 2.0")
        done.append("mode=")
    return args, kwargs, done


def _zeropadding2d_pre(args, kwargs):
    done = []
    keys = {"top_pad", "bottom_pad", "left_pad", "right_pad"}
    pad = kwargs.get("padding", args[0] if args else None)
    if isinstance(pad, dict) and set(pad) <= keys:
        pad = ((pad.get("top_pad", 0), pad.get("bottom_pad", 0)), (pad.get("left_pad", 0), pad.get("right_pad", 0)))
        if args:
            args = [pad] + args[1:]
        else:
            kwargs["padding"] = pad
        done.append("padding={dict}")
    return args, kwargs, done


_POOL2D = dict(pos=("pool_size", "strides", "padding"), renames=[("border_mode", "padding"),
                                                                   ("dim_ordering", "data_format")], values=_DIM)
_POOL1D = dict(pos=("pool_size", "strides", "padding"), renames=[("pool_length", "pool_size"), ("stride", "strides"),
                                                                   ("border_mode", "padding")])
_GLOBAL = dict(renames=[("dim_ordering", "data_format")], values=_DIM)
_DIMONLY = dict(renames=[("dim_ordering", "data_format")], values=_DIM)
_CONV1D = dict(pos=("filters", "kernel_size"), pre=_conv1d_pre,
               renames=[("nb_filter", "filters"), ("filter_length", "kernel_size"), ("subsample_length", "strides"),
                        ("border_mode", "padding")] + _KERNEL)
_CONV2D = dict(pos=("filters", "kernel_size"), pre=_conv2d_pre, renames=_CONV + _KERNEL, values=_DIM)
_RNN = dict(pos=("units",), pre=_recurrent_pre, renames=_RECURRENT,
            values={"consume_less": {"cpu": 0, "mem": 1, "gpu": 2}})

# tf-keras class name -> Keras 2.2.4's legacy interface for it (keras/legacy/interfaces.py)
KERAS1 = {
    "Dense": dict(pos=("units",), renames=[("output_dim", "units")] + _KERNEL),
    "Dropout": dict(pos=("rate", "noise_shape", "seed"), renames=[("p", "rate")]),
    "SpatialDropout1D": dict(pos=("rate",), renames=[("p", "rate")]),
    "SpatialDropout2D": dict(pos=("rate",), renames=[("p", "rate"), ("dim_ordering", "data_format")], values=_DIM),
    "SpatialDropout3D": dict(pos=("rate",), renames=[("p", "rate"), ("dim_ordering", "data_format")], values=_DIM),
    "Lambda": dict(pos=("function", "output_shape")),
    "Embedding": dict(pos=("input_dim", "output_dim"), pre=_embedding_pre,
                      renames=[("init", "embeddings_initializer"), ("W_regularizer", "embeddings_regularizer"),
                               ("W_constraint", "embeddings_constraint")]),
    "MaxPooling1D": _POOL1D, "AveragePooling1D": _POOL1D,
    "MaxPooling2D": _POOL2D, "AveragePooling2D": _POOL2D, "MaxPooling3D": _POOL2D, "AveragePooling3D": _POOL2D,
    "GlobalMaxPooling2D": _GLOBAL, "GlobalAveragePooling2D": _GLOBAL,
    "GlobalMaxPooling3D": _GLOBAL, "GlobalAveragePooling3D": _GLOBAL,
    "PReLU": dict(pos=("alpha_initializer",), renames=[("init", "alpha_initializer")]),
    "GaussianNoise": dict(pos=("stddev",), renames=[("sigma", "stddev")]),
    "GaussianDropout": dict(pos=("rate",), renames=[("p", "rate")]),
    "SimpleRNN": _RNN, "GRU": _RNN, "LSTM": _RNN,
    "UpSampling1D": dict(pos=("size",), renames=[("length", "size")]),
    "UpSampling2D": dict(pos=("size",), **_DIMONLY), "UpSampling3D": dict(pos=("size",), **_DIMONLY),
    "Conv1D": _CONV1D, "LocallyConnected1D": _CONV1D,
    "Conv2D": _CONV2D, "LocallyConnected2D": _CONV2D,
    "Conv3D": dict(_CONV2D, pre=_conv3d_pre),
    "Conv2DTranspose": dict(_CONV2D, pre=_deconv2d_pre),
    "SeparableConv2D": dict(_CONV2D, pre=_separable_pre,
                            renames=_CONV + [("b_regularizer", "bias_regularizer"), ("b_constraint", "bias_constraint"),
                                             ("bias", "use_bias")]),
    "ConvLSTM2D": dict(_CONV2D, pre=_convlstm2d_pre,
                       renames=_CONV + _KERNEL + [("inner_init", "recurrent_initializer"),
                                                  ("U_regularizer", "recurrent_regularizer"),
                                                  ("inner_activation", "recurrent_activation"),
                                                  ("dropout_W", "dropout"), ("dropout_U", "recurrent_dropout")]),
    "BatchNormalization": dict(pos=(), pre=_batchnorm_pre, renames=[("beta_init", "beta_initializer"),
                                                                     ("gamma_init", "gamma_initializer")]),
    "ZeroPadding2D": dict(pos=("padding",), pre=_zeropadding2d_pre, **_DIMONLY),
    "ZeroPadding3D": dict(pos=("padding",), **_DIMONLY),
    "Cropping2D": dict(pos=("cropping",), **_DIMONLY), "Cropping3D": dict(pos=("cropping",), **_DIMONLY),
}


def convert(name, spec, args, kwargs):
    """Keras 1's arguments of a ``name`` call as Keras 2.0-2.3 converted them; each converted
    argument noted ``keras1.<name>(<argument>=)``."""
    args, kwargs = list(args), dict(kwargs)
    done = []
    if spec.get("pre"):
        args, kwargs, done = spec["pre"](args, kwargs)
    pos = spec.get("pos")
    if pos is not None and len(args) > len(pos):
        raise TypeError(f"`{name}` can accept only {len(pos)} positional arguments {tuple(pos)}, but you passed "
                        f"the following positional arguments: {list(args)}")
    for key, table in spec.get("values", {}).items():
        try:
            if key in kwargs and kwargs[key] in table:
                kwargs[key] = table[kwargs[key]]
        except TypeError:  # an unhashable value: not one of Keras 1's spellings
            pass
    for old, new in spec.get("renames", ()):
        if old in kwargs:
            value = kwargs.pop(old)
            if new in kwargs:
                raise TypeError(f"For the `{new}` argument, the layer received both the legacy keyword argument "
                                f"`{old}` and the Keras 2 keyword argument `{new}`. Stick to the latter!")
            kwargs[new] = value
            done.append(f"{old}=")
    for what in done:
        note(f"keras1.{name}({what})", "keras1")
    return args, kwargs


# the layers whose tf-keras ``call`` hands a channels-first input to TensorFlow as it is (NCHW),
# where Keras 2.2.4 went through its backend (``K.conv2d``, ``K.pool2d``...), which transposed it
# to channels-last on a CPU; and the channels-last ``_tf_data_format`` of each rank
NCHW_LAYERS = ("Conv1D", "Conv2D", "Conv3D", "SeparableConv2D",
               "MaxPooling2D", "AveragePooling2D", "MaxPooling3D", "AveragePooling3D")
_CHANNELS_LAST = {3: "NWC", 4: "NHWC", 5: "NDHWC"}


def _cpu_lacks_nchw() -> bool:
    """Whether TensorFlow's CPU kernels here take only channels-last convolutions and pooling:
    where oneDNN does not run (it runs by default on CPUs with AVX-512, say)."""
    from ...infra.records import onednn_state

    return onednn_state() == "off"


def _channels_last_call(cls):
    """``cls.call`` as Keras 2.2.4 ran a channels-first layer on a CPU (``_preprocess_conv2d_input``
    and ``_postprocess_conv2d_output``): the input transposed to channels-last, the layer's op in
    that format, the output transposed back. tf-keras passes NCHW to TensorFlow, which fails with
    "only supports NHWC" on a CPU without oneDNN, so a Theano-ordered (``dim_ordering='th'``)
    script ran on some CPUs and not others. Applied where the CPU lacks NCHW kernels only."""
    def call(self, inputs):
        if self.data_format != "channels_first":
            return cls.call(self, inputs)
        import tensorflow as tf

        rank = inputs.shape.rank
        x = tf.transpose(inputs, [0, *range(2, rank), 1])
        saved = {k: self.__dict__[k] for k in ("data_format", "_tf_data_format", "_channels_first")
                 if k in self.__dict__}
        self.__dict__.update(data_format="channels_last",
                             **{k: v for k, v in (("_tf_data_format", _CHANNELS_LAST[rank]),
                                                  ("_channels_first", False)) if k in saved})
        try:
            out = cls.call(self, x)
        finally:
            self.__dict__.update(saved)
        return tf.transpose(out, [0, rank - 1, *range(1, rank - 1)])

    return call


def _keras1_class(cls, name):
    """``cls`` (tf-keras's) taking Keras 1's arguments too: a subclass of the same name (with
    Keras 2.2.4's channels-first ``call`` where the CPU needs it, ``_channels_last_call``)."""
    spec = KERAS1[name]

    def __init__(self, *args, **kwargs):
        args, kwargs = convert(name, spec, args, kwargs)
        cls.__init__(self, *args, **kwargs)

    body = {"__init__": __init__, "__module__": cls.__module__, "__qualname__": cls.__qualname__,
            "__doc__": cls.__doc__}
    if cls.__name__ in NCHW_LAYERS and _cpu_lacks_nchw():
        body["call"] = _channels_last_call(cls)
    return type(cls.__name__, (cls,), body)


# report entries for the conversions: what each Keras 1 argument is in Keras 2 / 3
_NUMBERS = {
    "Embedding(dropout=)": ("SpatialDropout1D after the Embedding (Keras 2 drops the argument)",
                            "Keras 2.0-2.3 (and this run) ignore it: Keras 1 dropped whole embedding rows in training"),
    "forget_bias_init=ignored": ("unit_forget_bias=True (only 'one' has a Keras 2 form)",
                                 "Keras 2 ignores a forget_bias_init other than 'one'"),
}


def _map_entries():
    from .migration import MAP

    for name, spec in KERAS1.items():
        for old, new in spec.get("renames", ()):
            if old == "dim_ordering":
                text = f"{name}(data_format=...): 'th' is 'channels_first', 'tf' 'channels_last'"
            elif old == "consume_less":
                text = f"{name}(implementation=...): 'cpu' 0, 'mem' 1, 'gpu' 2"
            else:
                text = f"{name}({new}=...)"
            MAP.setdefault(f"keras1.{name}({old}=)", (text, None))
        if spec.get("pre") in (_recurrent_pre, _conv1d_pre):
            MAP[f"keras1.{name}(input_dim=)"] = (f"{name}(input_shape=(input_length, input_dim))", None)
        if spec.get("pre") in (_recurrent_pre, _convlstm2d_pre):
            MAP[f"keras1.{name}(forget_bias_init=)"] = (f"{name}(unit_forget_bias=True)", None)
            MAP[f"keras1.{name}(forget_bias_init=ignored)"] = _NUMBERS["forget_bias_init=ignored"]
    for name in ("Conv2D", "LocallyConnected2D", "Conv2DTranspose", "SeparableConv2D", "ConvLSTM2D"):
        MAP[f"keras1.{name}(nb_row, nb_col)"] = (f"{name}(filters, kernel_size=(rows, cols))", None)
    MAP["keras1.Conv3D(kernel_dim1, kernel_dim2, kernel_dim3)"] = ("Conv3D(filters, kernel_size=(d1, d2, d3))", None)
    MAP["keras1.Conv2DTranspose(output_shape)"] = ("nothing: Conv2DTranspose computes its output shape", None)
    MAP["keras1.Embedding(dropout=)"] = _NUMBERS["Embedding(dropout=)"]
    MAP["keras1.BatchNormalization(mode=)"] = ("BatchNormalization() (mode=0 was the only mode Keras 2 kept)", None)
    MAP["keras1.ZeroPadding2D(padding={dict})"] = ("ZeroPadding2D(padding=((top, bottom), (left, right)))", None)
    MAP["keras1.SeparableConv2D(init=)"] = ("SeparableConv2D(depthwise_initializer=..., pointwise_initializer=...)",
                                            None)
    for name, (text, numbers) in {
        "AtrousConvolution1D": ("keras.layers.Conv1D(..., dilation_rate=atrous_rate)", None),
        "AtrousConvolution2D": ("keras.layers.Conv2D(..., dilation_rate=atrous_rate)", None),
        "Model(input=, output=)": ("keras.Model(inputs=..., outputs=...)", None),
        "fit(nb_epoch=)": ("model.fit(..., epochs=...)", None),
        "fit_generator(samples_per_epoch=)": (
            "model.fit(generator, steps_per_epoch=samples // batch_size)",
            "Keras 1 counted samples, Keras 2 batches: Keras 2.0-2.3 (and this run) took samples_per_epoch as "
            "batches unless the generator had a batch_size, so an epoch runs batch_size times as many samples"),
        "fit_generator(nb_val_samples=)": (
            "model.fit(..., validation_steps=samples // batch_size)",
            "Keras 1 counted samples, Keras 2 batches: validation runs batch_size times as many samples"),
        "evaluate_generator(val_samples=)": ("model.evaluate(generator, steps=samples // batch_size)",
                                             "Keras 1 counted samples, Keras 2 batches"),
        "predict_generator(val_samples=)": ("model.predict(generator, steps=samples // batch_size)",
                                            "Keras 1 counted samples, Keras 2 batches"),
        "merge": ("keras.layers.add / multiply / concatenate / average / maximum / dot (one per mode)", None),
        "Merge": ("keras.layers.Add / Multiply / Concatenate / Average / Maximum / Dot (one per mode)", None),
        "initializations": ("keras.initializers", None),
        "regularizers.l1l2": ("keras.regularizers.L1L2", None),
        "regularizers.activity_l1": ("keras.regularizers.L1 (as activity_regularizer=)", None),
        "regularizers.activity_l2": ("keras.regularizers.L2 (as activity_regularizer=)", None),
        "regularizers.activity_l1l2": ("keras.regularizers.L1L2 (as activity_regularizer=)", None),
        "regularizers.WeightRegularizer": ("keras.regularizers.L1L2", None),
        "regularizers.ActivityRegularizer": ("keras.regularizers.L1L2", None),
        "constraints.maxnorm(m=)": ("keras.constraints.MaxNorm(max_value=...)", None),
        "to_categorical(nb_classes=)": ("keras.utils.to_categorical(y, num_classes=...)", None),
        "np_utils.probas_to_classes": ("np.argmax(p, axis=-1) (or p > 0.5 for one column)", None),
        "np_utils.categorical_probas_to_classes": ("np.argmax(p, axis=1)", None),
        "visualize_util.plot": ("keras.utils.plot_model", None),
        "Progbar.update(force=)": ("progbar.update(current, values) (no force=)", None),
    }.items():
        MAP[f"keras1.{name}"] = (text, numbers)
    for name, text in {  # Keras 1 / 2.2.4 names read from the modules, and Keras 2's TF1 session API
        "keras.layers.Merge": "keras.layers.Add / Multiply / Concatenate / Average / Maximum / Dot (Keras 1's Merge)",
        "keras.layers.AtrousConvolution1D": "keras.layers.Conv1D(dilation_rate=...)",
        "keras.layers.AtrousConvolution2D": "keras.layers.Conv2D(dilation_rate=...)",
        "keras.layers.AtrousConv1D": "keras.layers.Conv1D(dilation_rate=...)",
        "keras.layers.AtrousConv2D": "keras.layers.Conv2D(dilation_rate=...)",
        "keras.layers.Deconvolution2D": "keras.layers.Conv2DTranspose",
        "keras.layers.Deconv2D": "keras.layers.Conv2DTranspose",
        "keras.layers.Deconvolution3D": "keras.layers.Conv3DTranspose",
        "keras.layers.Deconv3D": "keras.layers.Conv3DTranspose",
        "keras.constraints.maxnorm": "keras.constraints.MaxNorm",
        "keras.constraints.nonneg": "keras.constraints.NonNeg",
        "keras.constraints.unitnorm": "keras.constraints.UnitNorm",
        "keras.initializers.zero": "keras.initializers.Zeros", "keras.initializers.one": "keras.initializers.Ones",
        "keras.objectives": "keras.losses",
        "keras.backend.set_session": "nothing: TF2 runs eagerly, without sessions "
                                     "(tf.compat.v1.keras.backend.set_session)",
        "keras.backend.get_session": "nothing: TF2 has no sessions (tf.compat.v1.keras.backend.get_session)",
        "keras.backend.image_dim_ordering": "keras.backend.image_data_format() ('th' is 'channels_first', 'tf' "
                                            "'channels_last')",
        "keras.backend.set_image_dim_ordering": "keras.backend.set_image_data_format('channels_first' or "
                                                "'channels_last')",
        "keras.backend.set_learning_phase": "the training= argument of model(x, training=...)",
        "keras.backend.learning_phase": "the training= argument of model(x, training=...)",
        "keras.backend.function": "a tf.function calling the model (Keras 3 has no backend.function)",
        "keras.backend.function(outputs=[])": "a tf.function applying the update (tf-keras's backend.function "
                                              "needs at least one output)",
        "keras.backend.gradients": "tf.GradientTape().gradient",
        "keras.backend.placeholder": "keras.Input, or an argument of a tf.function",
        "keras.optimizer.get_updates(params, constraints, loss)": (
            "optimizer.get_updates(loss, params) in Keras 2.1-2.3; in TF2 / Keras 3 a tf.GradientTape step and "
            "optimizer.apply_gradients"),
        "keras.optimizer.get_updates": "a tf.GradientTape step and optimizer.apply_gradients (Keras 3 has no "
                                       "get_updates)",
        "keras.model.predict_classes": "np.argmax(model.predict(x), axis=-1), or (model.predict(x) > 0.5)"
                                       ".astype('int32') for one sigmoid output (removed in TF 2.6)",
        "keras.model.predict_proba": "model.predict(x) (removed in TF 2.6)",
    }.items():
        MAP[name] = (text, None)
    for old, new in (("nb_epoch", "epochs"), ("nb_worker", "workers"), ("pickle_safe", "use_multiprocessing"),
                     ("max_q_size", "max_queue_size")):
        for method in ("fit_generator", "evaluate_generator", "predict_generator"):
            MAP.setdefault(f"keras1.{method}({old}=)", (f"model.{method.split('_')[0]}(..., {new}=...)", None))


_map_entries()


# -- Keras 1's merge ---------------------------------------------------------------------------
def _merge_layer(klayers, mode, concat_axis=-1, dot_axes=-1, output_shape=None, arguments=None, name=None):
    """The Keras 2 layer (of ``klayers``) for a Keras 1 merge ``mode``."""
    kw = {"name": name} if name else {}
    if callable(mode):
        args = arguments or {}
        return klayers.Lambda(lambda xs: mode(xs, **args), output_shape=output_shape, **kw)
    simple = {"sum": "Add", "mul": "Multiply", "ave": "Average", "max": "Maximum"}
    if mode in simple:
        return getattr(klayers, simple[mode])(**kw)
    if mode == "concat":
        return klayers.Concatenate(axis=concat_axis, **kw)
    if mode in ("dot", "cos"):
        return klayers.Dot(axes=dot_axes, normalize=mode == "cos", **kw)
    raise ValueError(f"Invalid merge mode: {mode}")


def _keras1_merge(klayers):
    def Merge(layers=None, mode="sum", concat_axis=-1, dot_axes=-1, output_shape=None, output_mask=None,
              arguments=None, node_indices=None, tensor_indices=None, name=None):
        """Keras 1's ``Merge(mode=...)`` layer: the Keras 2 layer of that mode."""
        note("keras1.Merge", "keras1")
        if layers:
            raise NotCovered("keras.layers.Merge([branch, ...]): Keras 1's merge of layers or Sequential branches "
                             "(removed in Keras 2.2); tfrepro legacy maps Merge(mode=...) and merge([tensors], "
                             "mode=...) only")
        return _merge_layer(klayers, mode, concat_axis, dot_axes, output_shape, arguments, name)

    def merge(inputs, mode="sum", concat_axis=-1, dot_axes=-1, output_shape=None, output_mask=None,
              arguments=None, name=None):
        """Keras 1's ``merge([tensors], mode=...)``: the Keras 2 layer of that mode, called."""
        note("keras1.merge", "keras1")
        return _merge_layer(klayers, mode, concat_axis, dot_axes, output_shape, arguments, name)(inputs)

    return Merge, merge


# -- modules as the script sees them -----------------------------------------------------------
def _in_star_import(depth=2):
    """Whether the frame ``depth`` up is executing ``from M import *``."""
    f = sys._getframe(depth)
    op = dis.opname[f.f_code.co_code[f.f_lasti]] if f.f_lasti >= 0 else ""
    return op in ("IMPORT_STAR", "CALL_INTRINSIC_1")


_NONE = object()


class KerasModule(Traced):
    """A traced Keras module: ``from keras.layers import *`` brings its public names (as Keras
    2.2.4's modules did; noted once, as ``from keras.layers import *``); names the real module
    lacks come from ``fallback`` (tf-keras's TF2 API); ``notes`` names what reading a name notes
    (``keras1.initializations``); ``today`` is the module Keras 3 has the names in, for a path it
    dropped (``keras.layers.core`` -> ``keras.layers``)."""

    def __init__(self, real, label, kind="keras2", extra=None, missing=None, fallback=None, notes=None, today=None):
        super().__init__(real, label, kind, extra=extra, missing=missing or _keras_missing)
        self.__dict__["_kx"] = (fallback, dict(notes or {}), today)

    def __getattr__(self, name):
        real, label, kind, extra, cache, missing = self.__dict__["_tr"]
        fallback, notes, today = self.__dict__["_kx"]
        if name == "__all__":
            if _in_star_import():
                note(f"from {label} import *", kind)
            return sorted(k for k in set(dir(real)) | set(extra) if not k.startswith("_"))
        if name in cache:
            value = cache[name]
        elif name in extra:
            value = extra[name]
            if isinstance(value, Lazy):
                value = cache.setdefault(name, value.make())
        else:
            value = getattr(real, name, _NONE)
            if value is _NONE and fallback is not None and not name.startswith("__"):
                value = getattr(fallback, name, _NONE)
            if value is _NONE:
                if name.startswith("__"):
                    raise AttributeError(f"module {label!r} has no attribute {name!r}")
                raise NotCovered(missing(f"{label}.{name}"))
        full = f"{label}.{name}"
        if isinstance(value, types.ModuleType) and not isinstance(value, Traced):
            sub = getattr(fallback, name, None) if fallback is not None else None
            value = cache.setdefault(name, KerasModule(value, full, kind, missing=missing,
                                                       fallback=sub if isinstance(sub, types.ModuleType) else None))
        if not _in_star_import():
            if name in notes:
                note(notes[name], "keras1" if notes[name].startswith("keras1.") else kind)
            elif not isinstance(value, Traced):
                if today:  # a module path Keras 3 no longer has: the report names today's
                    from .migration import MAP

                    MAP.setdefault(full, (f"{today}.{name} (Keras 3 has no {label})", None))
                note(full, kind)
        return value


class _CallableModule(KerasModule):
    """``keras.layers.merge``: Keras 2's module and Keras 1's ``merge`` function in one."""

    def __init__(self, call, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.__dict__["_kx_call"] = call

    def __call__(self, *args, **kwargs):
        return self.__dict__["_kx_call"](*args, **kwargs)


def _keras_missing(name):
    import tf_keras

    return (f"{name} is not in Keras 2 as tf-keras {tf_keras.__version__} has it (tfrepro legacy's Keras "
            "1.2-2.3 surface: docs/legacy.md)")


def _module(name, values):
    mod = types.ModuleType(name)
    mod.__dict__.update(values)
    return mod


# Keras 2.2.4's layer modules that tf-keras flattened: ``from keras.layers.core import Dense``
LAYER_MODULES = ("core", "convolutional", "convolutional_recurrent", "normalization", "advanced_activations",
                 "recurrent", "pooling", "embeddings", "merge", "noise", "wrappers", "local", "cudnn_recurrent")


def _layers(v1, tf_keras):
    """``keras.layers`` (and Keras 2.2.4's ``keras.layers.core`` ... modules, the same names):
    tf-keras's TF1 layers (v1 LSTM/GRU/BatchNormalization: Keras 2.2.4's defaults) taking
    Keras 1's arguments, Keras 1's names (``Merge``, ``merge``, ``AtrousConvolution2D``,
    ``Deconvolution2D``)."""
    real = v1.layers
    wrapped = {}
    for name in KERAS1:
        cls = getattr(real, name, None)
        if isinstance(cls, type):
            wrapped[cls] = _keras1_class(cls, name)
    extra = {}
    for name in dir(real):  # each name of a wrapped class, aliases too (Convolution2D is Conv2D)
        value = getattr(real, name, None)
        if isinstance(value, type) and value in wrapped:
            extra[name] = wrapped[value]

    def atrous(base):
        def make(*args, **kwargs):
            note(f"keras1.AtrousConvolution{base[-2:]}", "keras1")
            kwargs["dilation_rate"] = kwargs.pop("atrous_rate", 1)
            return extra[base](*args, **kwargs)

        make.__name__ = f"AtrousConvolution{base[-2:]}"
        return make

    extra["AtrousConvolution1D"] = extra["AtrousConv1D"] = atrous("Conv1D")
    extra["AtrousConvolution2D"] = extra["AtrousConv2D"] = atrous("Conv2D")
    # Keras 2.2.4's names of the transposed convolutions (tf-keras dropped them)
    extra["Deconvolution2D"] = extra["Deconv2D"] = extra["Conv2DTranspose"]
    extra["Deconvolution3D"] = extra["Deconv3D"] = real.Conv3DTranspose
    extra["Merge"], merge = _keras1_merge(real)
    mods = {m: KerasModule(real, f"keras.layers.{m}", extra=extra, fallback=tf_keras.layers, today="keras.layers")
            for m in LAYER_MODULES}
    mods["merge"] = _CallableModule(merge, real, "keras.layers.merge", extra=extra, fallback=tf_keras.layers,
                                    today="keras.layers")
    module = KerasModule(real, "keras.layers", extra={**extra, **mods}, fallback=tf_keras.layers)
    return module, {"Merge": extra["Merge"], "merge": merge}


def _backend(v1):
    """``keras.backend`` with Keras 2's session API (``set_session``, ``get_session``: tf-keras's
    TF1 backend, whose session runs the script's graph), ``K.tf``, ``K.tensorflow_backend`` and
    Keras 2.0-2.2's ``image_dim_ordering`` / ``set_image_dim_ordering``."""
    from tf_keras.src import backend as impl

    def image_dim_ordering():
        """Keras 2.2.4's legacy getter: 'th' for channels_first, else 'tf'."""
        return "th" if impl.image_data_format() == "channels_first" else "tf"

    def set_image_dim_ordering(dim_ordering):
        """Keras 2.2.4's legacy setter."""
        if dim_ordering not in ("tf", "th"):
            raise ValueError("Unknown dim_ordering:", dim_ordering)
        impl.set_image_data_format("channels_first" if dim_ordering == "th" else "channels_last")

    real_function = v1.backend.function

    def function(inputs, outputs, updates=None, name=None, **kwargs):
        """Keras 2.2.4's ``K.function``; with no outputs (an update-only train function, as
        actor-critic scripts build: ``K.function([x, a, adv], [], updates=updates)``) it runs
        the updates and returns ``[]``, as 2.2.4 did (tf-keras needs one output)."""
        if isinstance(outputs, (list, tuple)) and not outputs:
            note("keras.backend.function(outputs=[])", "keras2")
            f = real_function(inputs, [impl.constant(0.0)], updates=updates, name=name, **kwargs)
            return lambda ins: f(ins)[:0]
        return real_function(inputs, outputs, updates=updates, name=name, **kwargs)

    extra = {"tf": tensorflow(), "image_dim_ordering": image_dim_ordering,
             "set_image_dim_ordering": set_image_dim_ordering, "_BACKEND": "tensorflow", "function": function}
    tfb = KerasModule(impl, "keras.backend.tensorflow_backend", extra=extra)
    return KerasModule(v1.backend, "keras.backend", extra={**extra, "tensorflow_backend": tfb}, fallback=impl)


def _utils(v1, tf_keras):
    """``keras.utils`` and Keras 2.2.4's ``np_utils``, ``generic_utils``, ``vis_utils``,
    ``data_utils``, ``layer_utils``, ``io_utils``, ``conv_utils``; Keras 1's
    ``visualize_util.plot``, ``to_categorical(nb_classes=)``, ``np_utils.probas_to_classes``."""
    import importlib

    from tf_keras.src.utils import vis_utils

    sub = {m: importlib.import_module(f"tf_keras.src.utils.{m}") for m in (
        "np_utils", "generic_utils", "data_utils", "layer_utils", "io_utils", "conv_utils")}
    to_categorical_ = tf_keras.utils.to_categorical

    def to_categorical(y, num_classes=None, dtype="float32", nb_classes=None):
        """Keras 2's ``to_categorical``; Keras 1's ``nb_classes=`` too."""
        if nb_classes is not None:
            note("keras1.to_categorical(nb_classes=)", "keras1")
            num_classes = num_classes or nb_classes
        return to_categorical_(y, num_classes=num_classes, dtype=dtype)

    def categorical_probas_to_classes(p):
        return np.argmax(p, axis=1)

    def probas_to_classes(y_pred):
        """Keras 1.2's: the argmax of several columns, else 1 where a probability passes 0.5."""
        if len(y_pred.shape) > 1 and y_pred.shape[1] > 1:
            return categorical_probas_to_classes(y_pred)
        return np.array([1 if p > 0.5 else 0 for p in y_pred])

    def plot_model(model, to_file="model.png", *args, **kwargs):
        """Keras 2's ``plot_model``; without pydot or Graphviz, one line naming what to install."""
        if not vis_utils.check_pydot():
            raise MissingModule("keras.utils.plot_model needs pydot, which is not installed: pip install pydot")
        if not vis_utils.check_graphviz():
            raise MissingModule("keras.utils.plot_model needs Graphviz's dot program, which is not installed: "
                                "apt-get install graphviz")
        return vis_utils.plot_model(model, to_file, *args, **kwargs)

    def plot(model, to_file="model.png", show_shapes=False, show_layer_names=True):
        """Keras 1's ``keras.utils.visualize_util.plot``."""
        return plot_model(model, to_file, show_shapes=show_shapes, show_layer_names=show_layer_names)

    class Progbar(sub["generic_utils"].Progbar):
        """tf-keras's progress bar; Keras 1's ``update(current, values, force=True)`` too."""

        def update(self, current, values=None, force=None, **kwargs):
            if force is not None:
                note("keras1.Progbar.update(force=)", "keras1")
                if force:
                    self._last_update = 0
            return super().update(current, values, **kwargs)

    class CustomObjectScope(tf_keras.utils.CustomObjectScope):
        """tf-keras's scope (thread-local custom objects), and Keras 2.2.4's: the objects are in
        ``get_custom_objects()`` while it lasts."""

        def __enter__(self):
            self._global = dict(tf_keras.utils.get_custom_objects())
            for objects in self.custom_objects:
                tf_keras.utils.get_custom_objects().update(objects)
            return super().__enter__()

        def __exit__(self, *args, **kwargs):
            tf_keras.utils.get_custom_objects().clear()
            tf_keras.utils.get_custom_objects().update(self._global)
            return super().__exit__(*args, **kwargs)

    def custom_object_scope(*args):
        return CustomObjectScope(*args)

    Progbar.__module__ = CustomObjectScope.__module__ = "keras.utils.generic_utils"
    common = {"CustomObjectScope": CustomObjectScope, "custom_object_scope": custom_object_scope,
              **{k: getattr(tf_keras.utils, k) for k in (
                  "get_custom_objects", "serialize_keras_object", "deserialize_keras_object")}}
    mods = {
        "np_utils": KerasModule(sub["np_utils"], "keras.utils.np_utils", today="keras.utils", extra={
            "to_categorical": to_categorical, "normalize": tf_keras.utils.normalize,
            "probas_to_classes": probas_to_classes, "categorical_probas_to_classes": categorical_probas_to_classes},
            notes={"probas_to_classes": "keras1.np_utils.probas_to_classes",
                   "categorical_probas_to_classes": "keras1.np_utils.categorical_probas_to_classes"}),
        "generic_utils": KerasModule(sub["generic_utils"], "keras.utils.generic_utils", today="keras.utils",
                                     extra={**common, "Progbar": Progbar}),
        "vis_utils": KerasModule(vis_utils, "keras.utils.vis_utils", today="keras.utils",
                                 extra={"plot_model": plot_model}),
        "visualize_util": KerasModule(_module("keras.utils.visualize_util", {"plot": plot}),
                                      "keras.utils.visualize_util", notes={"plot": "keras1.visualize_util.plot"}),
        **{m: KerasModule(sub[m], f"keras.utils.{m}", today="keras.utils")
           for m in ("data_utils", "layer_utils", "io_utils", "conv_utils")},
    }
    return KerasModule(v1.utils, "keras.utils", fallback=tf_keras.utils, extra={
        **mods, **common, "to_categorical": to_categorical, "plot_model": plot_model, "Progbar": Progbar})


def _engine(v1, keras1):
    """Keras 2.2.4's ``keras.engine`` (``topology``, ``training``, ``base_layer``,
    ``input_layer``, ``network``, ``sequential``, ``saving``); Keras 1.2's ``Merge``/``merge``
    there too."""
    from tf_keras.src.engine import functional

    layers = v1.layers
    base = {"Layer": layers.Layer, "InputSpec": layers.InputSpec, "Input": layers.Input,
            "InputLayer": layers.InputLayer, **keras1}
    parts = {
        "topology": {**base, "Network": functional.Functional, "Container": functional.Functional},
        "training": {"Model": v1.Model},
        "base_layer": {"Layer": layers.Layer, "InputSpec": layers.InputSpec},
        "input_layer": {"Input": layers.Input, "InputLayer": layers.InputLayer},
        "network": {"Network": functional.Functional},
        "sequential": {"Sequential": v1.Sequential},
        "saving": {k: getattr(v1.models, k) for k in ("load_model", "save_model", "model_from_json",
                                                       "model_from_config")},
    }
    mods = {k: KerasModule(_module(f"keras.engine.{k}", v), f"keras.engine.{k}", today="keras")
            for k, v in parts.items()}
    flat = {k: v for part in parts.values() for k, v in part.items()}
    return KerasModule(_module("keras.engine", {**flat, "Model": v1.Model}), "keras.engine", extra=mods,
                       today="keras")


def _get_updates():
    """Optimizers' ``get_updates``: Keras 2.0's ``(params, constraints, loss)`` as Keras 2.1-2.3
    took it (keras/legacy/interfaces.py), and 2.1's ``(loss, params)``."""
    from tf_keras.src.optimizers.legacy import optimizer_v2

    OptimizerV2 = optimizer_v2.OptimizerV2
    if getattr(OptimizerV2.get_updates, "_keras20", False):
        return
    get_updates_ = OptimizerV2.get_updates

    def get_updates(self, *args, **kwargs):
        old = False
        if len(args) > 3:
            raise TypeError("`get_update` call received more arguments than expected.")
        if len(args) == 3:
            params, _, loss = args
            args, kwargs, old = (), dict(kwargs, loss=loss, params=params), True
        elif len(args) == 2 and isinstance(args[0], (list, tuple)) and "loss" in kwargs:
            args, kwargs, old = (), dict(kwargs, params=args[0]), True
        if "constraints" in kwargs:
            kwargs.pop("constraints")
            old = True
        if old or is_script_file(sys._getframe(1).f_code.co_filename):  # not tf-keras's own calls
            note("keras.optimizer.get_updates(params, constraints, loss)" if old else "keras.optimizer.get_updates",
                 "keras2")
        return get_updates_(self, *args, **kwargs)

    get_updates._keras20 = True
    OptimizerV2.get_updates = get_updates


_GENERATOR = [("samples_per_epoch", "steps_per_epoch"), ("val_samples", "steps"), ("nb_epoch", "epochs"),
              ("nb_val_samples", "validation_steps"), ("nb_worker", "workers"), ("pickle_safe", "use_multiprocessing"),
              ("max_q_size", "max_queue_size")]


def _generator_methods(Model):
    """``fit_generator`` / ``evaluate_generator`` / ``predict_generator`` with Keras 1's
    arguments, converted as Keras 2.0-2.3 did (``samples_per_epoch`` becomes steps: divided by
    the generator's ``batch_size`` where it has one, else taken as it is)."""
    for method in ("fit_generator", "evaluate_generator", "predict_generator"):
        orig = getattr(Model, method)

        def wrapper(self, *args, _orig=orig, _method=method, **kwargs):
            if len(args) < 2 and "samples_per_epoch" in kwargs:
                samples = kwargs.pop("samples_per_epoch")
                generator = args[0] if args else kwargs["generator"]
                batch = getattr(generator, "batch_size", None)
                kwargs["steps_per_epoch"] = samples // batch if batch else samples
                note(f"keras1.{_method}(samples_per_epoch=)", "keras1")
            for old, new in _GENERATOR:
                if old in kwargs:
                    if new in kwargs:
                        raise TypeError(f"For the `{new}` argument, the layer received both the legacy keyword "
                                        f"argument `{old}` and the Keras 2 keyword argument `{new}`. "
                                        "Stick to the latter!")
                    kwargs[new] = kwargs.pop(old)
                    note(f"keras1.{_method}({old}=)", "keras1")
            return _orig(self, *args, **kwargs)

        wrapper.__name__ = method
        setattr(Model, method, wrapper)


def _model_methods():
    """Keras 1's ``Model(input=, output=)``; Keras 2.2.4's ``Sequential.predict_classes`` and
    ``predict_proba`` (removed in TF 2.6); Keras 1's generator arguments; ``get_updates``."""
    import warnings

    from tf_keras.src.engine import functional, sequential, training, training_v1

    def io_kwargs(kwargs):
        if ("input" in kwargs or "output" in kwargs) and not ("inputs" in kwargs or "outputs" in kwargs):
            kwargs = dict(kwargs)
            for old in ("input", "output"):
                if old in kwargs:
                    kwargs[old + "s"] = kwargs.pop(old)
            return kwargs, True
        return kwargs, False

    new_ = training.Model.__new__

    def __new__(cls, *args, **kwargs):
        kwargs, converted = io_kwargs(kwargs)
        if converted:
            note("keras1.Model(input=, output=)", "keras1")
        return new_(cls, *args, **kwargs)

    training.Model.__new__ = staticmethod(__new__)
    for cls in (training.Model, functional.Functional):
        def __init__(self, *args, _init=cls.__init__, **kwargs):
            return _init(self, *args, **io_kwargs(kwargs)[0])

        cls.__init__ = __init__

    def predict_proba(self, x, batch_size=32, verbose=0):
        """Keras 2.2.4's ``Sequential.predict_proba``: ``predict``, warning outside [0, 1]."""
        note("keras.model.predict_proba", "keras2")
        preds = self.predict(x, batch_size, verbose)
        if preds.min() < 0. or preds.max() > 1.:
            warnings.warn("Network returning invalid probability values. The last layer might not normalize "
                          "predictions into probabilities (like softmax or sigmoid would).", stacklevel=2)
        return preds

    def predict_classes(self, x, batch_size=32, verbose=0):
        """Keras 2.2.4's ``Sequential.predict_classes``: the argmax, or ``> 0.5`` for one output."""
        note("keras.model.predict_classes", "keras2")
        proba = self.predict(x, batch_size=batch_size, verbose=verbose)
        if proba.shape[-1] > 1:
            return proba.argmax(axis=-1)
        return (proba > 0.5).astype("int32")

    for name, fn in (("predict_proba", predict_proba), ("predict_classes", predict_classes)):
        if not hasattr(sequential.Sequential, name):
            setattr(sequential.Sequential, name, fn)
    _generator_methods(training_v1.Model)
    _get_updates()


def _regularizers_constraints_initializers(v1):
    r, c, i = v1.regularizers, v1.constraints, v1.initializers
    keras1 = {"l1l2": r.l1_l2, "activity_l1": r.l1, "activity_l2": r.l2, "activity_l1l2": r.l1_l2,
              "WeightRegularizer": r.L1L2, "ActivityRegularizer": r.L1L2}
    regularizers = KerasModule(r, "keras.regularizers", extra=keras1,
                               notes={k: f"keras1.regularizers.{k}" for k in keras1})

    class MaxNorm(c.MaxNorm):
        def __init__(self, max_value=2, axis=0, m=None):
            if m is not None:
                note("keras1.constraints.maxnorm(m=)", "keras1")
                max_value = m
            super().__init__(max_value=max_value, axis=axis)

    MaxNorm.__module__ = c.MaxNorm.__module__
    constraints = KerasModule(c, "keras.constraints", extra={
        "MaxNorm": MaxNorm, "max_norm": MaxNorm, "maxnorm": MaxNorm, "nonneg": c.NonNeg, "unitnorm": c.UnitNorm})
    aliases = {"zero": i.Zeros, "one": i.Ones}  # Keras 2.2.4's; normal and uniform are tf-keras's v1 names too
    return {"regularizers": regularizers, "constraints": constraints,
            "initializers": KerasModule(i, "keras.initializers", extra=aliases),
            "initializations": KerasModule(i, "keras.initializations", extra=aliases, today="keras.initializers")}


def keras():
    """The ``keras`` module a script imports (one per process): tf-keras's TF1 API
    (``tf.compat.v1.keras``: LSTM, GRU, BatchNormalization, initializers, TensorBoard and the
    session API as Keras 2.2.4 had them), names the TF2 API adds behind it."""
    STANDALONE[:] = [True]
    if not _KERAS:
        tensorflow()  # graph mode before the first model
        import importlib

        import tf_keras

        v1 = importlib.import_module("tf_keras.api._v1.keras")
        legacy = tf_keras.optimizers.legacy  # Keras 2.2.4's optimizers, as the books ran them
        names = ("SGD", "RMSprop", "Adam", "Adagrad", "Adadelta", "Adamax", "Nadam", "Ftrl")
        optimizers = KerasModule(v1.optimizers, "keras.optimizers", fallback=tf_keras.optimizers,
                                 extra={n: _with_lr(_adam224(legacy.Adam) if n == "Adam" else getattr(legacy, n))
                                        for n in names if hasattr(legacy, n)})
        short_paths()
        numpy_drawn_seeds()
        layers, merges = _layers(v1, tf_keras)
        extra = {
            "optimizers": optimizers, "layers": layers, "backend": _backend(v1),
            "utils": _utils(v1, tf_keras), "engine": _engine(v1, merges),
            "objectives": KerasModule(v1.losses, "keras.objectives", today="keras.losses"),
            "__version__": tf_keras.__version__, **_regularizers_constraints_initializers(v1)}
        _KERAS.append(KerasModule(v1, "keras", extra=extra, fallback=tf_keras, notes={
            "initializations": "keras1.initializations", "objectives": "keras.objectives"}))
    return _KERAS[0]


def keras_submodule(name):
    """``keras.layers``, ``keras.optimizers``...: the traced module for ``name``."""
    return descend(keras(), name)
