"""Keras-3 helpers shared by the TF2 programs."""
from __future__ import annotations

import os
import zipfile

import keras
import numpy as np
import tensorflow as tf

from tfrepro.core.envs import as_float_obs  # noqa: F401 (re-exported)
from tfrepro.core.envs import config_episode_limit as episode_limit  # noqa: F401 (re-exported)
from tfrepro.core.errors import UsageError
from tfrepro.core.protocol import AgentBase, as_shape
from tfrepro.infra.records import atomic_save

MODEL_NAME = "model.keras"


def policy_model(hidden: int, activation: str, output_activation=None, name="policy"):
    """4 inputs -> ``hidden`` units -> 1 output. Keras model names may not contain
    spaces in Keras 3 (it fails at predict), so names use underscores."""
    return keras.Sequential([
        keras.Input(shape=(4,)),
        keras.layers.Dense(hidden, activation=activation, name="hidden"),
        keras.layers.Dense(1, activation=output_activation, name="output"),
    ], name=name)


class KerasProgram(AgentBase):
    """Owns a Keras model and optimizer; ``weights()`` / ``set_weights()`` exchange the
    canonical list [hidden kernel, hidden bias, output kernel, output bias].

    The agent protocol (``tfrepro.core.protocol``) from ``self.model``, ``self.optimizer``
    and ``self.loss(batch)`` (a tensor, computed under a tape): ``forward`` calls the model,
    ``loss_and_gradients`` tapes the loss, ``fast_update`` applies its gradients in one
    compiled call. A program overrides whichever it computes otherwise."""

    model: keras.Model  # built by the program (its network)
    model_file = MODEL_NAME  # a file ``restore`` also finds in a directory (the source's, where it saved one)

    def __init__(self, cfg, seed: int):
        self.cfg = cfg
        self.seed = seed
        keras.utils.set_random_seed(seed)  # Python, NumPy and TF seeds, as Keras wants them
        self.build(cfg)

    def build(self, cfg):  # pragma: no cover - abstract
        raise NotImplementedError

    def variable_names(self):
        # Keras 3: 'hidden/kernel'; Keras 2 (TF <= 2.15) has no .path: 'hidden/kernel:0'
        return [getattr(v, "path", None) or v.name.split(":")[0] for v in self.model.trainable_variables]

    def weights(self):
        return [v.numpy() for v in self.model.trainable_variables]

    def set_weights(self, values):
        for v, x in zip(self.model.trainable_variables, values):
            v.assign(as_shape(x, v.shape))

    def learning_rate(self) -> float:
        return float(np.array(self.optimizer.learning_rate))

    def model_path(self, path) -> str:
        """``path``, or the model file in it when it is a directory: the program's own
        ``model_file`` (a Keras 2 ``.h5`` its source saved) if there, else this form's ``.keras``."""
        path = str(path)
        if os.path.isdir(path):
            for name in dict.fromkeys((self.model_file, MODEL_NAME)):
                if os.path.exists(os.path.join(path, name)):
                    return os.path.join(path, name)
        return path

    def save(self, directory) -> str:
        """``model.save(... .keras)``, written beside the target and renamed into place."""
        return atomic_save(os.path.join(directory, MODEL_NAME), self.model.save)

    def restore(self, path):
        loaded = load_model(path)
        mine = [tuple(v.shape) for v in self.model.trainable_variables]
        theirs = [tuple(v.shape) for v in loaded.trainable_variables]
        if mine != theirs:
            raise UsageError("model %s has weight shapes %s, this program expects %s"
                             % (path, theirs, mine))
        self.set_weights([v.numpy() for v in loaded.trainable_variables])

    # the agent protocol's defaults ---------------------------------------
    def forward(self, obs):
        out = self.model(np.asarray(obs, np.float32))
        return [o.numpy() for o in out] if isinstance(out, (list, tuple)) else out.numpy()

    def use_optimizer(self, optimizer):
        """Train with ``optimizer`` from now on (``diff``'s rung-4 pairing)."""
        self.optimizer = optimizer
        self.optimizer.build(self.model.trainable_variables)
        self.__dict__.pop("_default_update", None)

    @staticmethod
    def _tensors(batch):
        return type(batch)(*(tf.constant(x) for x in batch)) if isinstance(batch, tuple) else tf.constant(batch)

    def loss(self, batch):
        """The loss of a batch (a tensor, under the caller's tape): a trainable program defines it,
        or overrides ``loss_and_gradients`` and ``fast_update``."""
        raise UsageError("%s: define loss(self, batch) or override loss_and_gradients and fast_update "
                         "(docs/own-program.md)" % type(self).__name__)

    def loss_and_gradients(self, batch):
        batch = self._tensors(batch)
        with tf.GradientTape() as tape:
            loss = self.loss(batch)
        grads = tape.gradient(loss, self.model.trainable_variables)
        return float(loss), [g.numpy() for g in grads]

    def fast_update(self, batch):
        if "_default_update" not in self.__dict__:
            @tf.function
            def update(batch):
                with tf.GradientTape() as tape:
                    loss = self.loss(batch)
                grads = tape.gradient(loss, self.model.trainable_variables)
                self.optimizer.apply_gradients(zip(grads, self.model.trainable_variables))
                return loss, [tf.identity(v) for v in self.model.trainable_variables]
            self._default_update = update
        loss, weights = self._default_update(self._tensors(batch))
        return float(loss), [w.numpy() for w in weights]


def adam_tf1_epsilon(cfg):
    """Keras Adam with TF1's AdamOptimizer epsilon (1e-8; Keras's own is 1e-7): the TF2
    optimizer that follows ``tf.train.AdamOptimizer(cfg.learning_rate)`` (rung 4's pairing)."""
    return keras.optimizers.Adam(cfg.learning_rate, epsilon=1e-8)


def load_model(path):
    path = str(path)
    if os.path.isdir(path):
        path = os.path.join(path, MODEL_NAME)
    if not os.path.exists(path):
        raise UsageError("no Keras model at %s (tfrepro run PROGRAM --framework tf2 --save DIR writes one)" % path)
    if not zipfile.is_zipfile(path):
        raise UsageError("%s is not a .keras archive (truncated or another format)" % path)
    try:
        return keras.models.load_model(path, compile=False)
    except Exception as e:  # Keras raises many types for bad archives
        why = (str(e).splitlines() or [type(e).__name__])[0]
        if "could not be deserialized" in why or "Unknown layer" in why or "Could not locate" in why:
            why = ("a layer or object Keras does not know (a plug-in's own? give its --program-file, whose "
                   "forms register it): " + why)
        raise UsageError("cannot load %s: %s" % (path, why)) from None




def traced(function):
    """``function`` (a ``tf.function``) called through its traced graph for each input
    signature, kept: the same graph a plain call runs, without ``tf.function``'s per-call
    dispatch (binding the arguments and matching them against its traces), which costs
    about 0.4 ms for a method holding a 512-unit model: a fifth of pylessons' update."""
    traces = {}

    def call(*tensors):
        key = tuple((tuple(t.shape), t.dtype) for t in tensors)
        if key not in traces:
            traces[key] = function.get_concrete_function(*tensors)
        return traces[key](*tensors)

    return call


def tf1_optimizer_update(optimizer, model):
    """A compiled update applying a ``tf.compat.v1.train`` optimizer (e.g. AdamOptimizer
    with its epsilon 1e-8) to a Keras 3 model's variables: with it, the TF2 port's
    weights follow the TF1 graph's bit for bit."""
    variables = [v.value for v in model.trainable_variables]  # the tf.Variables under Keras's

    @tf.function
    def update(grads):
        optimizer.apply_gradients(zip(grads, variables))

    return lambda grads: update([tf.constant(g, tf.float32) for g in grads])


def stacked_variable(value, name, trainable=True):
    """A variable for stacked (lockstep) weights: ``keras.Variable`` on Keras 3, whose
    optimizers take them; ``tf.Variable`` on Keras 2 (TensorFlow 2.12 to 2.15), whose
    optimizers take those."""
    if hasattr(keras, "Variable"):
        return keras.Variable(value, name=name, trainable=trainable)
    return tf.Variable(value, name=name, trainable=trainable)


class PolicyKerasProgram(KerasProgram):
    """A REINFORCE program's Keras model (pg-tang, pg-geron) and the glue both share.
    ``build`` sets ``model`` (its output: P(action 0, left) or its log-odds), ``optimizer``
    and ``loss_fn(y_target, output)``, the book's per-example cross-entropy on that output."""

    @tf.function(reduce_retracing=True)
    def _batch_grads(self, obs, actions, weights):
        # fast mode (not in the sources): mean_k(w_k * grad_k) as the gradient of one weighted loss
        with tf.GradientTape() as tape:
            y_target = 1.0 - tf.cast(actions, tf.float32)[:, None]
            loss = tf.reduce_mean(weights * self.loss_fn(y_target, self.model(obs)))
        return tape.gradient(loss, self.model.trainable_variables)

    @tf.function(reduce_retracing=True)
    def _apply(self, grads):
        self.optimizer.apply_gradients(zip(grads, self.model.trainable_variables))

    def apply(self, grads):
        self._apply([tf.constant(g, tf.float32) for g in grads])

    @tf.function(reduce_retracing=True)
    def _fast_update(self, obs, actions, weights):
        # the same optimizer (same slots) applied straight to that gradient: one call per update
        grads = self._batch_grads(obs, actions, weights)
        self.optimizer.apply_gradients(zip(grads, self.model.trainable_variables))
        return [tf.identity(v) for v in self.model.trainable_variables]

    def batch_gradient(self, obs, actions, weights):
        return [g.numpy() for g in self._batch_grads(
            tf.constant(obs, tf.float32), tf.constant(actions, tf.int64), tf.constant(weights, tf.float32))]

    def loss_and_gradients(self, batch):
        """The fast update's gradient on ``Steps`` (no loss value: REINFORCE's is a surrogate)."""
        return None, self.batch_gradient(*batch)

    def fast_update(self, batch):
        """batch_gradient + apply in one compiled call on ``Steps``; returns (None, the updated weights)."""
        obs, actions, weights = batch
        out = self._fast_update(tf.constant(obs, tf.float32), tf.constant(actions, tf.int64),
                                tf.constant(weights, tf.float32))
        return None, [w.numpy() for w in out]
