"""Tier 9: ``tfrepro legacy`` on the Keras 1.2 - 2.3 surface as the era's scripts used it: star
imports, Keras 1's argument names as Keras 2.0-2.3 converted them (keras/legacy/interfaces.py),
Keras 1's ``merge``, the backend's TF1 session API, optimizers' ``get_updates`` in both
signatures, ``keras.utils``' old modules, and model methods later releases removed. Small scripts
of our own, one TensorFlow process per test, run through the CLI."""
from __future__ import annotations

import importlib.util
import json
import subprocess

import numpy as np
import pytest

from compat_tests.test_legacy_runner import REPORT, legacy, lines, report

LAYERS = """
import numpy as np
from keras.layers import *
from keras.models import *
from keras.optimizers import *
from keras import backend as K
print("star=%s" % [n in globals() for n in ("Dense", "Sequential", "Adam", "Conv2D", "Model", "load_model", "K")])

# Dense(output_dim=, init=): a (4, 3) kernel of zeros
m = Sequential()
m.add(Dense(output_dim=3, input_dim=4, init='zero', W_regularizer=None, bias=True))
w = m.layers[0].get_weights()[0]
print("dense=%s %s %s" % (w.shape, float(np.abs(w).max()), m.layers[0].use_bias))
try:
    Dense(3, 'relu')  # Keras 2.0-2.3 took one positional argument
except TypeError as e:
    print("positional=TypeError")

# Convolution2D(nb_filter, nb_row, nb_col): (3, 3) kernels, not strides of 3
c = Sequential()
c.add(Convolution2D(4, 3, 3, border_mode='same', subsample=(1, 1), dim_ordering='th', input_shape=(1, 8, 8)))
c.add(MaxPooling2D(pool_size=(2, 2), border_mode='valid', dim_ordering='th'))
c.add(Dropout(p=0.25))
c.add(Deconvolution2D(2, 3, 3, output_shape=(None, 2, 8, 8), subsample=(2, 2), border_mode='same',
                      dim_ordering='th'))
c.add(AtrousConvolution2D(2, 3, 3, atrous_rate=(2, 2), border_mode='same', dim_ordering='th'))
l0 = c.layers[0]
print("conv=%s %s %s %s %s" % (type(l0).__name__, l0.kernel_size, l0.strides, l0.padding, l0.data_format))
print("shapes=%s" % [layer.output_shape for layer in c.layers])
print("rates=%s %s" % (c.layers[-1].dilation_rate, c.layers[2].rate))
print("convpredict=%s" % (c.predict(np.ones((2, 1, 8, 8))).shape,))

e = Sequential([Embedding(10, 3, input_length=5, init='uniform', dropout=0.2),
                LSTM(output_dim=6, init='glorot_uniform', inner_init='orthogonal', dropout_W=0.1, dropout_U=0.2,
                     forget_bias_init='one', consume_less='gpu', return_sequences=False)])
r = e.layers[1]
print("lstm=%s %s %s %s %s" % (r.units, r.dropout, r.recurrent_dropout, r.get_config()['recurrent_activation'],
                               GRU(4, consume_less='gpu').implementation))
bn = BatchNormalization(mode=0, beta_init='zero', gamma_init='one')
print("bn=%s %s" % (type(bn.beta_initializer).__name__, type(bn.gamma_initializer).__name__))
try:
    BatchNormalization(mode=2)
except AttributeError as e:
    print("bnmode=%s" % e)

# Keras 1's merge modes as Keras 2's merge layers, and Model(input=, output=)
a, b = Input(shape=(3,)), Input(shape=(3,))
outs = [merge([a, b], mode=mode) for mode in ('sum', 'mul', 'ave', 'max', 'concat', 'dot', 'cos')]
outs.append(merge([a, b], mode=lambda xs: xs[0] - xs[1], output_shape=(3,)))
outs.append(Merge(mode='concat', concat_axis=1)([a, b]))
mm = Model(input=[a, b], output=outs)
res = mm.predict([np.array([[1., 2., 3.]]), np.array([[4., 5., 6.]])])
print("merge=%s" % json.dumps([np.round(o[0], 5).tolist() for o in res]))
try:
    Merge([m, m], mode='concat')
except AttributeError as e:
    print("branches=%s" % e)
try:
    from keras.layers import Highway
except ImportError as e:
    print("highway=%s" % e)

# fit(nb_epoch=)
x, y = np.random.RandomState(0).rand(20, 4), np.random.RandomState(1).rand(20, 3)
m.compile(loss='mse', optimizer=SGD(lr=0.1))
h = m.fit(x, y, nb_epoch=3, batch_size=5, verbose=0)
print("epochs=%d" % len(h.history['loss']))
"""


CHANNELS = """
import numpy as np
from keras.layers import Convolution1D, Convolution2D, Convolution3D, MaxPooling2D, AveragePooling2D, MaxPooling3D
from keras.layers import SeparableConv2D, Dropout, Flatten, Dense
from keras.models import Sequential

def pair(make, shape):
    # the same layers in Theano's order (channels first) and TensorFlow's, the same weights
    th, tf_ = Sequential(make('th', shape[-1:] + shape[:-1])), Sequential(make('tf', shape))
    tf_.set_weights(th.get_weights())
    x = np.random.RandomState(0).rand(3, *shape).astype(np.float32)
    a = th.predict(np.moveaxis(x, -1, 1))
    b = tf_.predict(x)
    return float(np.abs(a - (np.moveaxis(b, -1, 1) if a.ndim > 2 else b)).max())

def two_d(o, s):
    return [Convolution2D(4, 3, 3, border_mode='same', dim_ordering=o, input_shape=s),
            MaxPooling2D((2, 2), dim_ordering=o), Dropout(0.25),
            SeparableConv2D(3, (3, 3), padding='same', data_format={'th': 'channels_first', 'tf': 'channels_last'}[o]),
            AveragePooling2D((2, 2), dim_ordering=o)]

def three_d(o, s):
    return [Convolution3D(2, 2, 2, 2, border_mode='same', dim_ordering=o, input_shape=s),
            MaxPooling3D((2, 2, 2), dim_ordering=o)]

def one_d(o, s):
    return [Convolution1D(3, 2, padding='same', data_format={'th': 'channels_first', 'tf': 'channels_last'}[o],
                          input_shape=s)]

print("diffs=%s" % [pair(two_d, (8, 8, 2)), pair(three_d, (4, 4, 4, 2)), pair(one_d, (6, 2))])
"""


def test_channels_first_layers_run_on_any_cpu_as_channels_last_ones(tmp_path):
    """A Theano-ordered model (``dim_ordering='th'``: convolutions, pooling, dropout between
    them) predicts what the same layers in TensorFlow's order predict on the transposed input,
    on any CPU: where TensorFlow's CPU kernels take only channels-last (no oneDNN), the layers
    transpose as Keras 2.2.4's backend did, rather than failing with "only supports NHWC"."""
    proc = legacy(tmp_path, CHANNELS)
    assert proc.returncode == 0, proc.stderr[-3000:]
    diffs = json.loads(lines(proc)["diffs"])
    assert len(diffs) == 3 and max(diffs) < 1e-5, diffs


def test_star_imports_and_keras1_layer_arguments(tmp_path):
    proc = legacy(tmp_path, "import json\n" + LAYERS, *REPORT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = lines(proc)
    assert out["star"] == str([True] * 7)
    assert out["dense"] == "(4, 3) 0.0 True" and out["positional"] == "TypeError"
    assert out["conv"] == "Conv2D (3, 3) (1, 1) same channels_first"
    assert out["shapes"] == str([(None, 4, 8, 8), (None, 4, 4, 4), (None, 4, 4, 4), (None, 2, 8, 8),
                                 (None, 2, 8, 8)])
    assert out["rates"] == "(2, 2) 0.25" and out["convpredict"] == "(2, 2, 8, 8)"
    assert out["lstm"] == "6 0.1 0.2 hard_sigmoid 2"  # Keras 2.2.4's recurrent activation
    assert out["bn"] == "Zeros Ones" and "mode=1 or 2" in out["bnmode"]
    cos = 32 / np.sqrt(14 * 77)
    want = [[5, 7, 9], [4, 10, 18], [2.5, 3.5, 4.5], [4, 5, 6], [1, 2, 3, 4, 5, 6], [32], [cos], [-3, -3, -3],
            [1, 2, 3, 4, 5, 6]]
    got = json.loads(out["merge"])
    assert len(got) == len(want) and all(np.allclose(g, w, atol=1e-4) for g, w in zip(got, want))
    assert out["branches"].startswith("keras.layers.Merge([branch, ...])")
    assert out["highway"].startswith("keras.layers.Highway is not in Keras 2")
    assert out["epochs"] == "3"
    ran = report(tmp_path)
    assert ran["keras1.Dense(output_dim=)"]["tf2"] == "Dense(units=...)"
    assert ran["keras1.Dense(output_dim=)"]["kind"] == "keras1"
    for construct in ("from keras.layers import *", "keras1.Dense(init=)", "keras1.Conv2D(nb_row, nb_col)",
                      "keras1.Conv2D(border_mode=)", "keras1.Conv2D(dim_ordering=)",
                      "keras1.MaxPooling2D(border_mode=)", "keras1.Dropout(p=)", "keras1.LSTM(dropout_W=)",
                      "keras1.LSTM(consume_less=)",
                      "keras1.BatchNormalization(mode=)", "keras1.AtrousConvolution2D",
                      "keras1.Conv2DTranspose(output_shape)", "keras1.merge", "keras1.Merge",
                      "keras1.Model(input=, output=)", "keras1.fit(nb_epoch=)"):
        assert construct in ran, construct
    assert "channels_first" in ran["keras1.Conv2D(dim_ordering=)"]["tf2"]
    assert ran["keras1.Embedding(dropout=)"]["changes_numbers"]  # Keras 2 ignored it
    assert not [c for c in ran if c.startswith("keras.layers.") and c != "keras.layers.Highway"]  # star: one note


BACKEND = """
import numpy as np
import tensorflow as tf
from keras import backend as K
import keras.backend.tensorflow_backend as KTF
from keras.backend.tensorflow_backend import set_session
from keras.models import Sequential
from keras.layers import Dense
from keras.optimizers import Adam, SGD, RMSprop

sess = tf.Session(config=tf.ConfigProto(intra_op_parallelism_threads=1))
set_session(sess)
print("same=%s %s" % (K.get_session() is sess, KTF.get_session() is sess))
print("gpus=%s" % KTF._get_available_gpus())
x = np.random.RandomState(0).rand(32, 2)
y = (x[:, :1] - x[:, 1:]) * 2

def model():
    return Sequential([Dense(8, input_dim=2, activation='tanh'), Dense(1)])

m, m2 = model(), model()
m2.set_weights(m.get_weights())
print("sess=%s" % np.allclose(m.predict(x), sess.run(m.output, {m.input: x})))  # Keras's graph, the script's session

def trainer(net, signature):
    target = K.placeholder(shape=(None, 1))
    loss = K.mean(K.square(net.output - target))
    if signature == "2.0":
        updates = Adam(lr=0.05).get_updates(net.trainable_weights, [], loss)   # (params, constraints, loss)
    else:
        updates = Adam(lr=0.05).get_updates(loss, net.trainable_weights)       # (loss, params)
    return K.function([net.input, target, K.learning_phase()], [loss], updates=updates)

old, new = trainer(m, "2.0"), trainer(m2, "2.1")
lo = [float(old([x, y, 1])[0]) for _ in range(40)]
ln = [float(new([x, y, 1])[0]) for _ in range(40)]
print("down=%s %s" % (lo[-1] < 0.2 * lo[0], lo == ln))
m3 = model()
t3 = K.placeholder(shape=(None, 1))
l3 = K.mean(K.square(m3.output - t3))
only = K.function([m3.input, t3], [], updates=Adam(lr=0.05).get_updates(m3.trainable_weights, [], l3))
before = float(np.mean((m3.predict(x) - y) ** 2))
outs = [only([x, y]) for _ in range(20)]
print("updateonly=%s %s" % (outs[0], float(np.mean((m3.predict(x) - y) ** 2)) < before))
target = K.placeholder(shape=(None, 1))
loss = K.mean(K.square(m.output - target))
print("keywords=%d" % len(RMSprop(lr=0.01).get_updates(params=m.trainable_weights, constraints=[], loss=loss)))
print("grads=%d" % len([g for g in K.gradients(loss, m.trainable_weights) if g is not None]))
K.set_learning_phase(0)
print("phase=%s" % K.learning_phase())
print("dim=%s %s" % (K.image_dim_ordering(), K.image_data_format()))
K.set_image_dim_ordering('th')
print("th=%s %s" % (K.image_dim_ordering(), K.image_data_format()))
K.set_image_data_format('channels_last')
K.clear_session()
print("cleared=%s" % (K.get_session() is not sess))
"""


def test_backend_session_api_and_both_get_updates_signatures(tmp_path):
    proc = legacy(tmp_path, BACKEND, *REPORT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = lines(proc)
    assert out["same"] == "True True" and out["gpus"] == "[]" and out["sess"] == "True"
    assert out["down"] == "True True"  # Keras 2.0's signature trains, step for step as 2.1's
    assert out["updateonly"] == "[] True"  # K.function(ins, [], updates=...): runs the updates, returns [] (2.2.4)
    assert out["keywords"] == "1" and out["grads"] == "4" and out["phase"] == "0"
    assert out["dim"] == "tf channels_last" and out["th"] == "th channels_first"
    assert out["cleared"] == "True"
    ran = report(tmp_path)
    # two trainers and the update-only function
    assert ran["keras.optimizer.get_updates(params, constraints, loss)"]["count"] == 3
    assert ran["keras.backend.function(outputs=[])"]["count"] == 1
    assert ran["keras.optimizer.get_updates"]["count"] == 1  # the script's call, not fit's
    assert ran["keras.backend.tensorflow_backend.set_session"]["tf2"].startswith("keras.backend.*")
    assert ran["keras.backend.image_dim_ordering"]["tf2"].startswith("keras.backend.image_data_format()")


UTILS = """
import os
import numpy as np
import keras
from keras.layers.core import Dense, Activation
from keras.layers.advanced_activations import LeakyReLU, PReLU
from keras.layers.convolutional import Convolution1D, MaxPooling1D, UpSampling1D, ZeroPadding2D
from keras.regularizers import l2, l1l2, activity_l2
from keras.constraints import maxnorm
from keras.utils import np_utils, generic_utils, plot_model, to_categorical
from keras.utils.generic_utils import Progbar, get_custom_objects, CustomObjectScope
from keras import initializations, objectives
from keras.models import Sequential
print("cat=%s %s" % (np_utils.to_categorical([0, 2], nb_classes=3).tolist(), to_categorical([1], 2).dtype))
print("probas=%s" % np_utils.probas_to_classes(np.array([[0.2], [0.7]])).tolist())
print("init=%s %s" % (type(initializations.get('zero')).__name__, objectives.mse is keras.losses.mse))
d = Dense(3, input_dim=2, W_regularizer=l2(0.01), b_regularizer=l1l2(0.1, 0.2), activity_regularizer=activity_l2(0.1),
          W_constraint=maxnorm(m=2))
print("reg=%.3f %.3f %.3f %s" % (d.kernel_regularizer.l2, d.bias_regularizer.l1, d.activity_regularizer.l2,
                                 d.kernel_constraint.max_value))
c1 = Convolution1D(nb_filter=4, filter_length=3, border_mode='same', input_dim=5, input_length=10)
p1, u1 = MaxPooling1D(pool_length=2, stride=2), UpSampling1D(length=3)
print("conv1d=%s %s %s %s %s %s" % (c1.filters, c1.kernel_size, c1._batch_input_shape, p1.pool_size, p1.strides,
                                    u1.size))
print("zp=%s" % (ZeroPadding2D(padding={'top_pad': 1, 'bottom_pad': 2, 'left_pad': 3, 'right_pad': 4}).padding,))
print("prelu=%s" % type(PReLU(init='zero').alpha_initializer).__name__)
with CustomObjectScope({'Foo': Dense}):
    print("custom=%s %s" % ('Foo' in get_custom_objects(), Dense.from_config(Dense(2).get_config()).units))
print("after=%s" % ('Foo' in get_custom_objects()))
bar = Progbar(3)
bar.update(1, force=True)
bar.update(3, values=[('loss', 0.5)])
print("")
m = Sequential([Dense(2, input_dim=2)])
plot_model(m, to_file='model.png', show_shapes=True)
print("plotted=%s" % os.path.exists('model.png'))
"""


def test_utils_and_keras1_modules(tmp_path):
    proc = legacy(tmp_path, UTILS, *REPORT)
    out = lines(proc)
    assert out["cat"] == "[[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]] float32"
    assert out["probas"] == "[0, 1]" and out["init"] == "Zeros True"
    assert out["reg"] == "0.010 0.100 0.100 2"
    assert out["conv1d"] == "4 (3,) (None, 10, 5) (2,) (2,) 3"
    assert out["zp"] == "((1, 2), (3, 4))" and out["prelu"] == "Zeros" and out["custom"] == "True 2"
    assert out["after"] == "False"
    if importlib.util.find_spec("pydot") is None:  # one line naming what to install, as Keras 2.2.4 said
        assert proc.returncode == 2, proc.stderr[-3000:]
        assert proc.stderr.strip().splitlines()[-1] == (
            "tfrepro legacy: keras.utils.plot_model needs pydot, which is not installed: pip install pydot")
    else:
        assert proc.returncode == 0 or "graphviz" in proc.stderr, proc.stderr[-3000:]
    ran = report(tmp_path)
    assert ran["keras.layers.core.Dense"]["tf2"] == "keras.layers.Dense (Keras 3 has no keras.layers.core)"
    assert ran["keras.utils.np_utils.to_categorical"]["tf2"].startswith("keras.utils.to_categorical")
    for construct in ("keras1.initializations", "keras.objectives", "keras1.regularizers.l1l2",
                      "keras1.regularizers.activity_l2", "keras1.constraints.maxnorm(m=)", "keras1.Conv1D(nb_filter=)",
                      "keras1.Conv1D(input_dim=)", "keras1.MaxPooling1D(pool_length=)", "keras1.UpSampling1D(length=)",
                      "keras1.ZeroPadding2D(padding={dict})", "keras1.PReLU(init=)",
                      "keras1.to_categorical(nb_classes=)", "keras1.np_utils.probas_to_classes",
                      "keras1.Progbar.update(force=)"):
        assert construct in ran, construct
    assert ran["keras.objectives"]["tf2"] == "keras.losses"


MODELS = """
import numpy as np
from keras.models import Sequential, model_from_json, load_model
from keras.layers import Dense
from keras.callbacks import LambdaCallback
x = np.random.RandomState(0).rand(10, 4)
soft = Sequential([Dense(3, input_dim=4, activation='softmax')])
sig = Sequential([Dense(1, input_dim=4, activation='sigmoid')])
for m in (soft, sig):
    m.compile(loss='mse', optimizer='sgd')
p, c = soft.predict(x), soft.predict_classes(x)
print("classes=%s %s" % ((c == p.argmax(-1)).all(), c.shape))
q, k = sig.predict(x), sig.predict_classes(x)
print("binary=%s %s %s" % ((k == (q > 0.5)).all(), k.dtype, k.shape))
print("proba=%s" % np.array_equal(soft.predict_proba(x), p))
y = np.eye(3)[np.arange(10) % 3]
print("onbatch=%s %s %s" % (np.ndim(soft.train_on_batch(x, y)), np.ndim(soft.test_on_batch(x, y)),
                            soft.predict_on_batch(x).shape))
print("evaluate=%s" % np.ndim(soft.evaluate(x, y, verbose=0)))
j = model_from_json(soft.to_json())
j.set_weights(soft.get_weights())
print("json=%s" % np.allclose(j.predict(x), soft.predict(x)))
soft.save_weights('w.h5')
w = Sequential([Dense(3, input_dim=4, activation='softmax')])
w.load_weights('w.h5')
soft.save('m.h5')
print("h5=%s %s" % (np.allclose(w.predict(x), soft.predict(x)), np.allclose(load_model('m.h5').predict(x),
                                                                              soft.predict(x))))

def gen(n):
    while True:
        yield x[:n], y[:n]

class Batches(object):  # a Keras 1 generator with batch_size: samples_per_epoch is divided by it
    batch_size = 4
    def __iter__(self):
        return self
    def __next__(self):
        return x[:4], y[:4]
    next = __next__

steps = []
count = LambdaCallback(on_epoch_begin=lambda e, logs: steps.append(0),
                       on_batch_end=lambda b, logs: steps.__setitem__(-1, steps[-1] + 1))
h = soft.fit_generator(gen(2), samples_per_epoch=3, nb_epoch=2, verbose=0, validation_data=gen(2),
                       nb_val_samples=2, callbacks=[count])
h2 = soft.fit_generator(Batches(), samples_per_epoch=8, nb_epoch=1, verbose=0, callbacks=[count])
print("generator=%s %s" % (steps, sorted(h.history)))
print("evalgen=%s" % np.ndim(soft.evaluate_generator(gen(2), val_samples=2)))
print("predgen=%s" % (soft.predict_generator(gen(2), val_samples=3).shape,))
"""


def test_model_methods_later_releases_removed(tmp_path):
    proc = legacy(tmp_path, MODELS, *REPORT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = lines(proc)
    assert out["classes"] == "True (10,)"
    assert out["binary"] == "True int32 (10, 1)"  # Keras 2.2.4's: (p > 0.5).astype('int32')
    assert out["proba"] == "True" and out["onbatch"] == "0 0 (10, 3)" and out["evaluate"] == "0"
    assert out["json"] == "True" and out["h5"] == "True True"
    # samples_per_epoch=3 without a batch_size: 3 steps, as Keras 2.0-2.3 took it; with one, 8 // 4
    assert out["generator"] == "[3, 3, 2] ['loss', 'val_loss']"
    assert out["evalgen"] == "0" and out["predgen"] == "(6, 3)"  # val_samples=3: three batches of two
    ran = report(tmp_path)
    assert ran["keras.model.predict_classes"]["tf2"].startswith("np.argmax(model.predict(x), axis=-1)")
    assert ran["keras1.fit_generator(samples_per_epoch=)"]["changes_numbers"]
    for construct in ("keras.model.predict_proba", "keras1.fit_generator(nb_epoch=)",
                      "keras1.fit_generator(nb_val_samples=)", "keras1.evaluate_generator(val_samples=)",
                      "keras1.predict_generator(val_samples=)"):
        assert construct in ran, construct


def test_one_keras_session_for_every_thread(tmp_path):
    """Keras 2.2.4 kept one session per process: a model built and initialised in the main
    thread's session predicts in worker threads (A3C's habit)."""
    script = """
        import threading
        import numpy as np
        import tensorflow as tf
        from keras import backend as K
        from keras.layers import Dense, Input
        from keras.models import Model
        s = Input(batch_shape=(None, 4))
        m = Model(inputs=s, outputs=Dense(2, activation='softmax')(Dense(8, activation='relu')(s)))
        m._make_predict_function()
        sess = tf.InteractiveSession()
        K.set_session(sess)
        sess.run(tf.global_variables_initializer())
        x = np.ones((1, 4))
        main = m.predict(x)
        out = []
        def work():
            out.append(np.allclose(m.predict(x), main) and K.get_session() is sess)
        ts = [threading.Thread(target=work) for _ in range(3)]
        for t in ts: t.start()
        for t in ts: t.join()
        print("threads=%s" % out)
    """
    p = legacy(tmp_path, script)
    assert p.returncode == 0, p.stderr[-3000:]
    assert lines(p)["threads"] == "[True, True, True]"


KERAS224_NUMBERS = """
import numpy as np
np.random.seed(0)
from keras.models import Sequential
from keras.layers import Dense
from keras.optimizers import Adam
m = Sequential()
m.add(Dense(24, input_dim=4, activation='relu'))
m.add(Dense(2, activation='linear'))
m.compile(loss='mse', optimizer=Adam(lr=0.001))
print("init=%r" % [float(w.sum()) for w in m.get_weights()])
print("numpy=%d" % np.random.randint(10 ** 6))
x = np.ones((1, 4), np.float32)
steps = []
for i in range(3):
    before = m.get_weights()[2].copy()
    m.fit(x, np.full((1, 2), 50.0, np.float32), epochs=1, verbose=0)
    steps.append(round(float(np.abs(m.get_weights()[2] - before).max()) / 0.001, 3))
print("steps=%r" % steps)
"""


def test_keras_224_initial_weights_and_adam_steps(tmp_path):
    """Keras 2.2.4 drew a seedless initializer's op seed from NumPy (so NumPy's global generator moves
    by one draw per random weight) and, on TF 1.x, its Adam read the step count after the step's
    increment: first steps of 0.744, 0.860, 0.913 times the rate (measured with Keras 2.2.4 on TF 1.15;
    the textbook Adam takes 1.0, 1.0, 1.0 for a steady gradient)."""
    p = legacy(tmp_path, KERAS224_NUMBERS)
    assert p.returncode == 0, p.stderr[-2000:]
    got = lines(p)
    rng = np.random.RandomState(0)
    rng.randint(int(10e6)), rng.randint(int(10e6))  # the two kernels' seeds
    assert int(got["numpy"]) == rng.randint(10 ** 6)
    assert [round(x, 2) for x in eval(got["steps"])] == [0.74, 0.86, 0.91]


@pytest.mark.slow  # builds (once, cached) TF 1.15 with standalone Keras 2.2.4 on Python 3.7
@pytest.mark.xdist_group("tf115")
def test_keras_224_numbers_match_real_keras_224(tmp_path):
    from tfrepro.infra import tf115

    py37 = tf115.find_python37()
    if py37 is None:
        pytest.skip("no Python 3.7 here to build TensorFlow 1.15's environment")
    py = tf115.ensure(py37, log=lambda m: None, extra=("keras==2.2.4",))
    (tmp_path / "k").mkdir()
    (tmp_path / "k" / "script.py").write_text(KERAS224_NUMBERS)
    real = subprocess.run([str(py), "script.py"], cwd=tmp_path / "k", capture_output=True, text=True, timeout=600,
                          env=tf115.image_env({"PYTHONPATH": ""}))
    assert real.returncode == 0, real.stderr[-2000:]
    ours = legacy(tmp_path, KERAS224_NUMBERS)
    theirs = lines(real)
    assert lines(ours)["init"] == theirs["init"] and lines(ours)["numpy"] == theirs["numpy"]
    # the step count's read races its increment on TF 1.15: compare where it read after (almost always)
    assert round(eval(theirs["steps"])[0], 2) == 0.74
