"""Graph-building helpers shared by the TF1 programs (TF 1.15 API only)."""
from __future__ import annotations

import contextlib
import os
import random
import warnings

import numpy as np
import tensorflow.compat.v1 as tf

from tfrepro.core.envs import as_float_obs  # noqa: F401 (re-exported)
from tfrepro.core.envs import config_episode_limit as episode_limit  # noqa: F401 (re-exported)
from tfrepro.core.errors import UsageError
from tfrepro.core.protocol import AgentBase, as_shape
from tfrepro.infra import provenance
from tfrepro.infra.records import atomic_save

CKPT_NAME = "model.ckpt"


def dense(x, units, activation=None, name=None):
    """``tf.layers.dense`` as TF 1.x built it: variables ``<scope>/kernel`` (glorot
    uniform) and ``<scope>/bias`` (zeros) under scopes ``dense``, ``dense_1``, ...

    Deviation: ``tf.compat.v1.layers.dense`` raises "not available with Keras 3" on
    TF >= 2.16 unless tf-keras is installed and ``TF_USE_LEGACY_KERAS=1`` is set for the
    whole process. This helper builds the same variables, names and math with
    ``tf.get_variable``, so TF1 and TF2 code can share a process.
    """
    with tf.variable_scope(name, default_name="dense"):
        kernel = tf.get_variable("kernel", [int(x.shape[-1]), units],
                                 initializer=tf.glorot_uniform_initializer())
        bias = tf.get_variable("bias", [units], initializer=tf.zeros_initializer())
        y = tf.nn.bias_add(tf.matmul(x, kernel), bias)
        return activation(y) if activation is not None else y


def make_session(graph, threads=1):
    """A session on ``graph``. One thread per pool by default: these networks have a few
    dozen weights, so thread hand-offs cost more than they save. ``threads=0`` takes the
    process's setting, as eager TF2 does (the package's policy: ``TF_NUM_INTRAOP_THREADS``
    and ``TF_NUM_INTEROP_THREADS``, 1 unless set; for the 512-unit pylessons network)."""
    config = tf.ConfigProto(intra_op_parallelism_threads=threads, inter_op_parallelism_threads=threads)
    return tf.Session(graph=graph, config=config)


class _Keras2:
    """The Keras 2 API a TF1-era program imported as ``keras``: tf-keras where it is
    installed (TF >= 2.16 needs it), else ``tf.keras`` while that is still Keras 2
    (TF 1.15 to 2.15)."""

    def __init__(self):
        try:
            import tf_keras as keras
        except ImportError:
            from tensorflow import keras

            if str(getattr(keras, "__version__", "2")).startswith("3"):
                raise UsageError("the TF1 form of dqn-pylessons needs Keras 2: pip install "
                                 "tf-keras (tf.keras is Keras 3 on TensorFlow >= 2.16)") from None
        # Keras 2.2.4's RMSprop: ``optimizers.legacy`` since Keras 2.11, the only one before
        self.legacy_rmsprop = getattr(keras.optimizers, "legacy", keras.optimizers).RMSprop
        self.module = keras

    def set_random_seed(self, seed):
        """Python's, NumPy's and the graph's seeds, and Keras's own seed generator:
        ``keras.utils.set_random_seed`` (TF >= 2.7) restarts the stream that unseeded
        initializers draw from, which an earlier call anywhere in the process advanced."""
        import numpy as np

        if hasattr(self.module.utils, "set_random_seed"):
            self.module.utils.set_random_seed(seed)
        random.seed(seed)
        np.random.seed(seed)
        tf.set_random_seed(seed)

    def __getattr__(self, name):
        return getattr(self.module, name)


_KERAS2: list = []


def keras2():
    """Keras 2 (imported on first use; importing it does not change ``tf.keras``)."""
    if not _KERAS2:
        _KERAS2.append(_Keras2())
    return _KERAS2[0]


def graph_callable(sess, feeds, fetches, target=None):
    """A call of the graph with ``feeds`` in order, returning the arrays of ``fetches`` and
    running ``target``, made once through TensorFlow's callable API
    (``Session._make_callable_from_options``, what Keras 2's backend functions run on since
    TF 1.x): none of ``sess.run``'s per-call feed and fetch bookkeeping, which on a network
    this small costs more than the arithmetic. (``sess.make_callable`` with a feed list
    calls ``sess.run``.) Arrays are converted to the placeholders' dtypes."""
    from tensorflow.core.protobuf import config_pb2

    options = config_pb2.CallableOptions()
    options.feed.extend(t.name for t in feeds)
    options.fetch.extend(t.name for t in fetches)
    if target is not None:
        options.target.append(target.name)
    call = sess._make_callable_from_options(options)
    dtypes = [t.dtype.as_numpy_dtype for t in feeds]
    return lambda *arrays: call(*[np.asarray(a, d) for a, d in zip(arrays, dtypes)])


class GraphProgram(AgentBase):
    """Owns a graph, its session and a Saver; subclasses build the graph in ``build``.

    ``weights()`` / ``set_weights()`` exchange the canonical list of NumPy arrays
    (hidden kernel, hidden bias, output kernel, output bias) with the TF2 forms.

    The agent protocol (``tfrepro.core.protocol``) from what ``build`` sets: ``forward`` runs
    ``self.outputs`` (a tensor or a list) on ``self.inputs``; ``loss_and_gradients`` and
    ``fast_update`` feed a batch to ``self.feeds`` (placeholders in the batch's field order,
    None for a field not used) and run ``self.loss``, its gradients and
    ``self.fast_training_op``. A program overrides whichever it computes otherwise.
    """

    def __init__(self, cfg, seed: int):
        self.cfg = cfg
        self.graph = tf.Graph()
        with self.graph.as_default():
            tf.set_random_seed(seed)
            self.build(cfg)
            self.params = list(self.weight_variables())
            # the weights read after every op built so far (fast modes fetch them with the update)
            with tf.control_dependencies([op for op in self._update_ops()]):
                self.params_after = [tf.identity(v.read_value()) for v in self.params]
            self._assign_ph = [tf.placeholder(v.dtype.base_dtype, v.shape) for v in self.params]
            self._assign_op = tf.group(*[v.assign(p) for v, p in zip(self.params, self._assign_ph)])
            self.saver = tf.train.Saver()
            init = tf.global_variables_initializer()
        self.sess = make_session(self.graph)
        self.sess.run(init)

    def build(self, cfg):  # pragma: no cover - abstract
        raise NotImplementedError

    def weight_variables(self):
        """The variables that are the program's weights, in the canonical order: by default
        every trainable variable. Override it where that is not so: a target network made
        with ``tf.get_variable`` is trainable in TF1 (``return tf.trainable_variables("online")``).
        The weights are what ``weights()`` exchanges, ``diff`` compares, checkpoints check and
        gradients are taken of."""
        return tf.trainable_variables()

    def _update_ops(self):
        op = getattr(self, "fast_training_op", None)
        return [op] if op is not None else []

    # weights -------------------------------------------------------------
    def variable_names(self):
        return [v.op.name for v in self.params]

    def weights(self):
        return self.sess.run(self.params)

    def set_weights(self, values):
        self.sess.run(self._assign_op, {ph: as_shape(x, ph.shape.as_list()) for ph, x in zip(self._assign_ph, values)})

    # checkpoints ---------------------------------------------------------
    def save(self, directory) -> str:
        """``tf.train.Saver().save`` into ``directory/model.ckpt``. The checkpoint is
        written under a temporary name and moved into place, so an interrupted save
        never leaves a half-written checkpoint under the real name."""
        os.makedirs(directory, exist_ok=True)
        tmp = os.path.join(directory, ".tmp-" + CKPT_NAME)
        try:
            with self.graph.as_default():
                self.saver.save(self.sess, tmp, write_meta_graph=False, write_state=False)
        except (tf.errors.OpError, ValueError) as e:  # a full disk, say: one line, no half checkpoint left
            for fname in os.listdir(directory):
                if fname.startswith(".tmp-" + CKPT_NAME):
                    os.unlink(os.path.join(directory, fname))
            raise UsageError("cannot write checkpoint %s: %s" % (directory, op_error_line(e))) from None
        moves = [(os.path.join(directory, f), os.path.join(directory, f[len(".tmp-"):]))
                 for f in os.listdir(directory) if f.startswith(".tmp-" + CKPT_NAME)]
        state = os.path.join(directory, "checkpoint")
        for _, dst in moves + [(None, state)]:  # nothing the package did not write is replaced
            provenance.guard(dst)
        for src, dst in moves:
            os.replace(src, dst)
        with open(os.path.join(directory, ".checkpoint.tmp"), "w") as f:
            f.write('model_checkpoint_path: "%s"\nall_model_checkpoint_paths: "%s"\n'
                    % (CKPT_NAME, CKPT_NAME))
        os.replace(os.path.join(directory, ".checkpoint.tmp"), state)
        provenance.note(state, *(dst for _, dst in moves))
        return os.path.join(directory, CKPT_NAME)

    def restore(self, path):
        """``saver.restore`` with the failures turned into one-line UsageErrors."""
        prefix = find_checkpoint(path)
        check_checkpoint(prefix, {v.op.name: tuple(v.shape.as_list()) for v in self.params})
        try:
            with self.graph.as_default():
                self.saver.restore(self.sess, prefix)
        except CHECKPOINT_ERRORS as e:  # e.g. corrupt data files
            raise UsageError("cannot restore %s: %s" % (prefix, op_error_line(e))) from None

    def close(self):
        self.sess.close()

    # the agent protocol's defaults ---------------------------------------
    def _needs(self, method, *names):
        missing = [n for n in names if getattr(self, n, None) is None]
        if missing:
            raise UsageError("%s.%s: set %s in build() or override %s (docs/own-program.md)"
                             % (type(self).__name__, method, ", ".join("self." + n for n in missing), method))

    def forward(self, obs):
        self._needs("forward", "inputs", "outputs")
        return self.sess.run(self.outputs, {self.inputs: np.asarray(obs, np.float32)})

    def _feed(self, batch):
        return {ph: np.asarray(x, ph.dtype.as_numpy_dtype) for ph, x in zip(self.feeds, batch) if ph is not None}

    def loss_and_gradients(self, batch):
        self._needs("loss_and_gradients", "feeds", "loss")
        if not hasattr(self, "_gradients"):
            with self.graph.as_default():
                self._gradients = tf.gradients(self.loss, self.params)
        loss, grads = self.sess.run([self.loss, self._gradients], self._feed(batch))
        return float(loss), grads

    def fast_update(self, batch):
        self._needs("fast_update", "feeds", "loss", "fast_training_op")
        if not hasattr(self, "_update"):
            self._update = graph_callable(self.sess, [ph for ph in self.feeds if ph is not None],
                                          [self.loss] + self.params_after, self.fast_training_op)
        loss, *weights = self._update(*[x for ph, x in zip(self.feeds, batch) if ph is not None])
        return float(loss), weights


def op_error_line(e) -> str:
    """The line of a TensorFlow error that says what went wrong (a graph-mode error's first
    line is only "Graph execution error:"), named by kind for the data-file errors."""
    noise = ("Graph execution error", "Detected at node", "Node:", "[[", "File ")
    lines = [ln.strip() for ln in str(getattr(e, "message", e)).splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith(noise) and not ln.endswith("(most recent call last):")]
    what = lines[-1] if lines else type(e).__name__
    kind = {"OutOfRangeError": "truncated data file", "DataLossError": "corrupt data file"}.get(type(e).__name__)
    if kind is None and "less bytes" in what:  # the checkpoint reader's short read (an IndexError)
        kind = "truncated data file"
    if kind is None and "Checksum does not match" in what:  # its check of the bytes read
        kind = "corrupt data file"
    return f"{kind} ({what})" if kind else what


def find_checkpoint(path) -> str:
    """A checkpoint prefix from a directory (its ``checkpoint`` file or model.ckpt) or a prefix."""
    path = str(path)
    if os.path.isdir(path):
        try:
            prefix = tf.train.latest_checkpoint(path) or os.path.join(path, CKPT_NAME)
        except Exception as e:  # noqa: BLE001 - the `checkpoint` state file's text parser, on the user's file
            raise UsageError("cannot read %s: %s" % (os.path.join(path, "checkpoint"), op_error_line(e))) from None
    else:
        prefix = path
    if not os.path.exists(prefix + ".index"):
        raise UsageError("no TF1 checkpoint at %s (expected %s.index)" % (path, prefix))
    return prefix


# what reading a damaged checkpoint raises: TensorFlow's errors, a short read of an empty or
# truncated file (IndexError), a state file that is not UTF-8 (UnicodeDecodeError, a ValueError)
CHECKPOINT_ERRORS = (tf.errors.OpError, ValueError, IndexError)


def check_checkpoint(prefix, expected) -> None:
    """Compare a checkpoint's variables with ``expected`` {name: shape}; raise a
    UsageError naming the first missing or mismatched variable."""
    try:
        found = dict(tf.train.list_variables(prefix))
    except CHECKPOINT_ERRORS as e:
        raise UsageError("cannot read checkpoint %s: %s" % (prefix, str(e).splitlines()[0])) from None
    for name, shape in expected.items():
        if name not in found:
            raise UsageError("checkpoint %s has no variable %r (it holds %s): another program?"
                             % (prefix, name, ", ".join(sorted(k for k in found if "Adam" not in k)) or "nothing"))
        if tuple(found[name]) != tuple(shape):
            raise UsageError("checkpoint %s: %s has shape %s, this program expects %s"
                             % (prefix, name, list(found[name]), list(shape)))


def file_writer(logdir, graph):
    """``tf.summary.FileWriter(logdir, graph)``, made inside ``graph``: FileWriter refuses
    eager mode, which TF2 turns on for the whole process."""
    with graph.as_default():
        return tf.summary.FileWriter(logdir, graph)


def loss_summary(loss):
    """The ``tf.summary.scalar("loss", ...)`` of a loss already computed: the same protocol
    buffer the summary op evaluates to (``fast`` mode returns the loss it trained on)."""
    return tf.Summary(value=[tf.Summary.Value(tag="loss", simple_value=float(loss))]).SerializeToString()


def old_gym_env(env_id):
    """The old gym API (reset -> obs, step -> 4 values): real gym 0.21 where that back end
    runs (the TF 1.15 image, ``TFREPRO_GYM=gym``), the adapter over gymnasium elsewhere."""
    from tfrepro.core.envs import make_old

    return make_old(env_id)


class PolicyGraphProgram(GraphProgram):
    """A REINFORCE program's graph (pg-tang, pg-geron) and the glue both share. ``build``
    sets ``inputs``, ``logits`` (log-odds of action 0, left), the book's per-step gradients
    ``gs``, their placeholders ``gps`` and ``training_op``, then calls ``build_fast``."""

    def build_fast(self, optimizer, variables):
        """``fast`` mode (not in the sources): mean_k(w_k * grad_k), the book's gradient of a
        batch, as the gradient of one weighted loss, and the same optimizer (same slots)
        applied straight to it: one call per update."""
        self.batch_actions = tf.placeholder(tf.int64, shape=[None], name="batch_actions")
        self.batch_weights = tf.placeholder(tf.float32, shape=[None], name="batch_weights")
        labels = 1.0 - tf.to_float(self.batch_actions)[:, None]
        batch_xent = tf.nn.sigmoid_cross_entropy_with_logits(logits=self.logits, labels=labels)
        weighted = tf.reduce_mean(self.batch_weights[:, None] * batch_xent)
        self.batch_gs = tf.gradients(weighted, variables)
        self.fast_training_op = optimizer.apply_gradients(zip(self.batch_gs, variables))

    def batch_gradient(self, obs, actions, weights):
        return self.sess.run(self.batch_gs, {self.inputs: obs, self.batch_actions: actions,
                                             self.batch_weights: weights})

    def apply(self, grads):
        self.sess.run(self.training_op, dict(zip(self.gps, grads)))

    def loss_and_gradients(self, batch):
        """The fast update's gradient on ``Steps`` (no loss value: REINFORCE's is a surrogate)."""
        return None, self.batch_gradient(*batch)

    def fast_update(self, batch):
        """batch_gradient + apply in one sess.run on ``Steps``; returns (None, the updated weights)."""
        obs, actions, weights = batch
        return None, self.sess.run([self.fast_training_op, self.params_after],
                                   {self.inputs: obs, self.batch_actions: actions,
                                    self.batch_weights: weights})[1]


class Keras2Program(AgentBase):
    """A program written in Keras 2 (tf-keras, or TF 1.15's tf.keras) as the TF1 era ran it:
    its model built into this program's own ``tf.Graph`` and session (``keras_scope``), Keras
    2's unseeded initializers restarted from the seed. ``build`` sets ``self.model``; the
    weights are its trainable weights."""

    model: object  # the Keras 2 model ``build`` makes
    model_file = "model.h5"  # ``save``'s file name in its directory

    def __init__(self, cfg, seed: int):
        self.cfg = cfg
        self.seed = seed
        self.graph = tf.Graph()
        self.sess = make_session(self.graph, threads=0)
        with self.keras_scope():
            # Keras 2's unseeded initializers draw op seeds from a process-wide generator:
            # restart it, and seed the graph.
            keras2().set_random_seed(seed)
            self.build(cfg)
            self.params = self.model.trainable_weights  # type: ignore[attr-defined]
            self.sess.run(tf.global_variables_initializer())

    def build(self, cfg):  # pragma: no cover - abstract
        raise NotImplementedError

    @contextlib.contextmanager
    def keras_scope(self):
        """Keras 2 finds its graph and session as the defaults."""
        with self.graph.as_default(), self.sess.as_default():
            yield

    def weights(self):
        return self.sess.run(self.params)

    def set_weights(self, values):
        with self.keras_scope():
            self.model.set_weights(values)

    def variable_names(self):
        return [v.op.name for v in self.params]

    def learning_rate(self) -> float:
        """The optimizer's learning rate, read back from the session."""
        with self.keras_scope():
            return float(keras2().backend.get_value(self.model.optimizer.learning_rate))  # type: ignore[attr-defined]

    def save(self, directory) -> str:
        """``self.model.save(model_file)`` (Keras 2's HDF5) into ``directory``, atomically."""
        def save_h5(tmp):
            with self.keras_scope(), warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # "HDF5 is legacy": it is Keras 2's format
                self.model.save(tmp)

        return atomic_save(os.path.join(directory, self.model_file), save_h5)

    def model_path(self, path) -> str:
        """``path``, or the model file (``model_file``) in it when it is a directory."""
        path = str(path)
        return os.path.join(path, self.model_file) if os.path.isdir(path) else path

    def close(self):
        self.sess.close()
