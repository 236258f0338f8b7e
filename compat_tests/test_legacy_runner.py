"""Tier 9: ``tfrepro legacy`` on scripts nobody here wrote: small scripts of our own, each exercising
constructs of the TF1 era (gym 0.21 semantics, tf.contrib, Python 2, Keras 2 in TF1 graphs,
matplotlib, missing modules, --episodes, --seed, --record, the migration report), run
through the CLI; the corpus of other authors' scripts when ``../shared/legacy-corpus`` is
there; and the tf.contrib mappings against real TF 1.15 where its venv can be built."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from compat_tests.conftest import ROOT
from tfrepro.tools.legacy import keras2

CORPUS = ROOT.parent / "shared" / "legacy-corpus"


def legacy(tmp_path, script: str, *args, name="script.py", files=None, timeout=600):
    """Write ``script`` (and ``files``) into ``tmp_path`` and run ``tfrepro legacy ARGS name``
    there; returns the finished process."""
    (tmp_path / name).write_text(textwrap.dedent(script))
    for fname, text in (files or {}).items():
        (tmp_path / fname).write_text(textwrap.dedent(text))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "tfrepro", "legacy", *map(str, args), name], cwd=tmp_path,
                          capture_output=True, text=True, timeout=timeout, env=env)


def lines(proc):
    return dict(ln.split("=", 1) for ln in proc.stdout.splitlines() if "=" in ln)


def report(tmp_path):
    return {c["construct"]: c for c in json.loads((tmp_path / "report.json").read_text())["constructs"]}


REPORT = ("--json", "--report-out", "report.json")

GYM = """
import gym
import numpy as np
env = gym.make('CartPole-v1')
print("seed=%s" % env.seed(3))
print("spec=%s %s %s" % (env.spec.id, env.spec.max_episode_steps, env._max_episode_steps))
print("attrs=%s %.6f" % (env.x_threshold, env.theta_threshold_radians))
print("str=%s" % env)
obs = env.reset()
print("obs=%r" % obs.tolist())
print("inner=%s" % (env.env is env.unwrapped))
try:
    env._secret
except AttributeError as e:
    print("private=%s" % e)
frame = env.render(mode='rgb_array')
print("frame=%s" % (frame.shape,))
print("human=%s" % env.render())
# the time limit is the wrapper's, and scripts lengthen or shorten it
env._max_episode_steps = 7
obs, steps, done = env.reset(), 0, False
while not done:
    obs, reward, done, info = env.step(np.int64(steps % 2))  # NumPy integers were fine
    steps += 1
print("limited=%d %s" % (steps, info.get("TimeLimit.truncated")))
# unwrapped: the old API, and no time limit
u = env.unwrapped
o = u.reset()
print("unwrapped=%s %s" % (type(o).__name__, str(u)))
n = 0
for t in range(600):
    o, r, d, i = u.step(t % 2)
    n += 1
    if d:
        break
print("unlimited=%d %s" % (n, "TimeLimit.truncated" in i))
from gym import wrappers
class Scale(gym.ObservationWrapper):
    def observation(self, obs):
        return obs * 2
w = Scale(gym.make('CartPole-v0'))
w.seed(3)
print("wrapped=%r" % w.reset().tolist())
print("limit0=%s" % w.spec.max_episode_steps)
m = wrappers.Monitor(gym.make('CartPole-v0'), 'monitor', force=True)
for e in range(2):
    m.reset()
    d = False
    while not d:
        _, _, d, _ = m.step(0)
m.close()
env.close()
"""


@pytest.mark.slow  # a fresh process running TensorFlow
def test_gym_021_semantics(tmp_path):
    proc = legacy(tmp_path, GYM, *REPORT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = lines(proc)
    assert out["seed"] == "[3]"
    assert out["spec"] == "CartPole-v1 500 500"
    assert out["attrs"] == "2.4 0.209440"  # read through the wrapper, as gym 0.21 forwarded them
    assert out["str"] == "<TimeLimit<CartPoleEnv<CartPole-v1>>>"
    # env.seed(3) then reset(): gym 0.21's start state for seed 3 (its hashed RandomState)
    from tfrepro.core.oldgym import np_random_021

    want = np_random_021(3)[0].uniform(low=-0.05, high=0.05, size=(4,)).astype(np.float32)
    assert np.array_equal(np.array(json.loads(out["obs"]), dtype=np.float32), want)
    assert out["inner"] == "True"
    assert out["private"] == "attempted to get missing private attribute '_secret'"
    assert out["frame"] == "(400, 600, 3)" and out["human"] == "True"
    assert out["limited"] == "7 True"
    assert out["unwrapped"] == "ndarray <CartPoleEnv<CartPole-v1>>"
    assert int(out["unlimited"].split()[0]) < 600 and out["unlimited"].endswith("False")  # fell, no limit
    want0 = np_random_021(3)[0].uniform(low=-0.05, high=0.05, size=(4,)).astype(np.float32) * 2
    assert np.allclose(json.loads(out["wrapped"]), want0) and out["limit0"] == "200"
    stats = list((tmp_path / "monitor").glob("openaigym.episode_batch.*.stats.json"))
    assert len(stats) == 1 and len(json.loads(stats[0].read_text())["episode_lengths"]) == 2
    assert len(list((tmp_path / "monitor").glob("openaigym.video.*.gif"))) == 2  # episodes 0 and 1: cubes
    ran = report(tmp_path)
    assert {"env.unwrapped", "env._max_episode_steps", "env.<attribute>", "env.seed", "gym.wrappers.Monitor",
            "env.render"} <= set(ran)
    assert ran["env.seed"]["where"] == ["script.py:5", "script.py:42"]  # the old wrapper forwards it


RENDER = """
import gym
env = gym.make('CartPole-v0')
for episode in range(3):
    env.reset()
    done, steps = False, 0
    while not done:
        env.render()
        _, _, done, _ = env.step(0)
        steps += 1
    print("steps=%d" % steps)
print("done")
"""


@pytest.mark.slow  # a fresh process running TensorFlow
@pytest.mark.parametrize("fmt", ["gif", "mp4"])
def test_record_writes_one_file_per_rendered_episode(tmp_path, fmt):
    import imageio.v3 as iio

    proc = legacy(tmp_path, RENDER, "--record", "frames", "--record-format", fmt, "--episodes", "2", "--seed", "0")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "stopped after 2 episodes" in proc.stderr and "done" not in proc.stdout
    files = sorted((tmp_path / "frames").glob(f"*.{fmt}"))
    assert [f.name for f in files] == [f"env0-episode0001.{fmt}", f"env0-episode0002.{fmt}"]
    frames = iio.imread(files[0], index=None)
    steps = int(proc.stdout.split("steps=")[1].split()[0])  # the first episode's renders, one a step
    assert frames.ndim == 4 and frames.shape[-1] == 3
    if fmt == "mp4":
        assert len(frames) == steps
    else:  # a GIF stores a run of identical frames once, with their durations added: 20 ms a step
        from PIL import Image, ImageSequence

        with Image.open(files[0]) as gif:
            assert sum(f.info["duration"] for f in ImageSequence.Iterator(gif)) == 20 * steps


CONTRIB = """
import numpy as np
import tensorflow as tf
from tensorflow.contrib.layers import fully_connected, variance_scaling_initializer
import tensorflow.contrib.slim as slim
tf.set_random_seed(0)
x = tf.placeholder(tf.float32, [None, 4])
h = fully_connected(x, 8, weights_initializer=variance_scaling_initializer(seed=1))
y = fully_connected(h, 3, activation_fn=None,
                    weights_initializer=tf.contrib.layers.xavier_initializer(seed=2),
                    weights_regularizer=tf.contrib.layers.l2_regularizer(0.1))
z = slim.fully_connected(tf.contrib.layers.flatten(tf.reshape(x, [-1, 2, 2])), 5,
                         weights_initializer=tf.contrib.layers.xavier_initializer(uniform=False, seed=3))
n = tf.contrib.layers.layer_norm(z)
w_direct = tf.get_variable("direct", [4, 8],
                           initializer=variance_scaling_initializer(factor=1.0, mode='FAN_AVG', seed=4))
normal = tf.contrib.distributions.Normal(loc=0.0, scale=2.0)
cell = tf.contrib.rnn.BasicLSTMCell(6)
outputs, state = tf.nn.dynamic_rnn(cell, tf.reshape(x, [-1, 2, 2]), dtype=tf.float32)
step = tf.contrib.framework.get_or_create_global_step()
reg = tf.losses.get_regularization_loss()
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for v in tf.global_variables():
        value = sess.run(v)
        print("var=%s %s %.9e %.9e" % (v.op.name, list(value.shape), value.sum(), np.abs(value).sum()))
    w = sess.run(tf.get_default_graph().get_tensor_by_name("fully_connected_1/weights:0"))
    print("reg=%.9e %.9e" % (sess.run(reg), 0.1 * (w ** 2).sum() / 2))
    print("logp=%.9e" % sess.run(normal.log_prob(1.0)))
    feed = {x: np.arange(8, dtype=np.float32).reshape(2, 4) / 8}
    print("out=%.9e %.9e" % (sess.run(y, feed).sum(), sess.run(n, feed).sum()))
"""


def _contrib_values(stdout):
    return {k: v for k, v in (ln.split("=", 1) for ln in stdout.splitlines() if "=" in ln)}


@pytest.mark.slow  # a fresh process running TensorFlow
def test_contrib_subset_has_tf115_names_and_formulas(tmp_path):
    proc = legacy(tmp_path, CONTRIB, *REPORT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    variables = [ln.split()[0][4:] for ln in proc.stdout.splitlines() if ln.startswith("var=")]
    # TF 1.15's names: contrib's weights/biases, slim's and layer_norm's scopes, the LSTM cell's
    assert variables[:6] == ["fully_connected/weights", "fully_connected/biases", "fully_connected_1/weights",
                             "fully_connected_1/biases", "fully_connected_2/weights", "fully_connected_2/biases"]
    assert {"LayerNorm/beta", "LayerNorm/gamma", "direct", "rnn/basic_lstm_cell/kernel",
            "rnn/basic_lstm_cell/bias", "global_step"} <= set(variables)
    reg = proc.stdout.split("reg=")[1].split()[:2]
    assert np.isclose(float(reg[0]), float(reg[1]), rtol=1e-6)  # l2_regularizer(s) = s * sum(w^2) / 2
    assert np.isclose(float(proc.stdout.split("logp=")[1].split()[0]), -0.5 * np.log(2 * np.pi * 4) - 1 / 8)
    ran = report(tmp_path)
    assert ran["tf.contrib.layers.xavier_initializer"]["kind"] == "contrib"
    assert ran["tf.contrib.layers.xavier_initializer"]["where"] == ["script.py:10", "script.py:13"]


@pytest.mark.slow  # a fresh process running TensorFlow
def test_contrib_initializers_are_tf115s_formulas(tmp_path):
    """Bit for bit: contrib's truncated normal with the 1.3 factor, its uniform Xavier."""
    script = """
    import numpy as np
    import tensorflow as tf
    he = tf.contrib.layers.variance_scaling_initializer(seed=7)([400, 300])
    he_direct = tf.truncated_normal([400, 300], 0.0, np.sqrt(1.3 * 2.0 / 400), seed=7)
    xu = tf.contrib.layers.xavier_initializer(seed=8)([40, 30])
    xu_direct = tf.glorot_uniform_initializer(seed=8)([40, 30])
    with tf.Session() as s:
        a, b, c, d = s.run([he, he_direct, xu, xu_direct])
    print("same=%s %s" % (np.array_equal(a, b), np.array_equal(c, d)))
    print("std=%.6f" % a.std())
    """
    proc = legacy(tmp_path, script)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert lines(proc)["same"] == "True True"
    assert abs(float(lines(proc)["std"]) - 1.0029276 * np.sqrt(2 / 400)) < 2e-3  # effective std, measured


@pytest.mark.slow  # a fresh process running TensorFlow
def test_a_contrib_name_outside_the_subset_is_one_line(tmp_path):
    proc = legacy(tmp_path, "import tensorflow as tf\nprint('before')\ntf.contrib.seq2seq.BasicDecoder\n")
    assert proc.returncode == 2
    assert proc.stdout.strip() == "before"
    assert proc.stderr.strip().splitlines() == [
        "tfrepro legacy: tf.contrib.seq2seq is not in tfrepro legacy's tf.contrib subset "
        "(layers, slim, framework, distributions, rnn: docs/legacy.md)"]
    proc = legacy(tmp_path, "from tensorflow.contrib.layers import no_such_layer\n")
    assert proc.returncode == 2 and "tf.contrib.layers.no_such_layer" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


PY2 = """\
import cPickle
from helper2 import halve, table
print "int", 7 / 2, "float", 7.0 / 2, "floor", -7 / 2
n = 9
n /= 2
print "aug", n
arr = __import__("numpy").arange(5)
print "arr", (arr / 2).tolist()
for k, v in sorted(table().iteritems()):
\tprint "item", k, v
print "halve", halve(5)
print "range", sum(x for x in xrange(4))
data = cPickle.dumps({"a": 1})
print "pickle", cPickle.loads(data)["a"]
try:
    raise ValueError, "boom"
except ValueError, e:
    print "caught", e
if table().has_key(1):
    print "has", True
"""

HELPER2 = """\
def halve(x):
    return x / 2

def table():
    return {1: 'one', 2: 'two'}
"""


@pytest.mark.slow  # a fresh process running TensorFlow
def test_python2_script_and_its_module_translated_when_they_load(tmp_path):
    proc = legacy(tmp_path, PY2, *REPORT, files={"helper2.py": HELPER2})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.splitlines() == [
        "int 3 float 3.5 floor -4", "aug 4", "arr [0, 0, 1, 1, 2]", "item 1 one", "item 2 two",
        "halve 2", "range 6", "pickle 1", "caught boom", "has True"]
    ran = report(tmp_path)
    assert {"python2.print", "python2.imports", "python2.dict", "python2.xrange", "python2.except",
            "python2.raise", "python2.has_key", "python2.integer-division"} <= set(ran)
    # noted where an integer division floored: the module's x / 2, the script's 7 / 2, n /= 2, arr / 2
    assert ran["python2.integer-division"]["where"] == ["helper2.py:2", "script.py:3", "script.py:5",
                                                        "script.py:8"]
    assert ran["python2.print"]["where"][0] == "script.py:3"
    assert (tmp_path / "script.py").read_text() == PY2  # the file is not touched


@pytest.mark.slow  # a fresh process running TensorFlow
def test_future_division_keeps_true_division(tmp_path):
    proc = legacy(tmp_path, "from __future__ import division\nprint 'x', 7 / 2\n")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == "x 3.5"


@pytest.mark.slow  # a fresh process running TensorFlow
def test_a_scripts_own_error_through_a_rewrite_ends_at_the_scripts_line(tmp_path):
    """An error the runner's pass-through rewrites re-raise (``int(x)``, ``obj[k] = v``, Python
    2's ``/``) is the script's own: exit 1 and its traceback, ending at the script's line, with no
    frame of the rewrite, as Python prints it without the runner."""
    for code, error in (("n = int('9' * 5000)\n", "ValueError: Exceeds the limit"),
                        ("import numpy as np\na = np.zeros(2)\na[5] = 1.0\n", "IndexError"),
                        ("print 1 / 0\n", "ZeroDivisionError")):
        proc = legacy(tmp_path, code)
        assert proc.returncode == 1, proc.stderr[-2000:]
        tb = proc.stderr.strip().splitlines()
        frames = [ln for ln in tb if ln.lstrip().startswith("File ")]
        assert tb[-1].startswith(error) and 'script.py"' in frames[-1], proc.stderr[-2000:]
        assert not [f for f in frames if "legacy/numpy1.py" in f or "legacy/py2.py" in f], proc.stderr[-2000:]


@pytest.mark.slow  # a fresh process running TensorFlow
def test_python3_script_is_left_alone(tmp_path):
    proc = legacy(tmp_path, "long = 3\nprint(7 / 2, long)\n", *REPORT)
    assert proc.returncode == 0 and proc.stdout.strip() == "3.5 3"
    assert not [c for c in report(tmp_path) if c.startswith("python2.")]


KERAS = """
import numpy as np
from keras.models import Sequential
from keras.layers import Dense
from keras.optimizers import Adam
from keras.callbacks import History
import keras.backend as K

def model():
    m = Sequential()
    m.add(Dense(16, input_dim=4, activation='relu'))
    m.add(Dense(2, activation='linear'))
    m.compile(loss='mse', optimizer=Adam(lr=0.01))
    return m

a, b = model(), model()
b.set_weights(a.get_weights())
print("lr=%s" % K.get_value(a.optimizer.lr))
x = np.random.RandomState(0).rand(70, 4)
y = np.random.RandomState(1).rand(70, 2)
np.random.seed(5)
ha = a.fit(x, y, batch_size=32, epochs=2, verbose=0)                        # the short path
np.random.seed(5)
hb = b.fit(x, y, batch_size=32, epochs=2, verbose=0, callbacks=[History()])   # the long one
print("weights=%r" % max(float(np.abs(p - q).max()) for p, q in zip(a.get_weights(), b.get_weights())))
print("history=%r %r" % (ha.history["loss"], hb.history["loss"]))
pa = a.predict(x[:40])
pb = b.predict(x[:40], verbose=0, callbacks=[History()])  # the long path
print("predict=%r %s" % (float(np.abs(pa - pb).max()), pa.shape))
print("one=%s" % (a.predict(x[:1]).shape,))
a.fit(x[:1], y[:1], epochs=1, verbose=0)
"""


@pytest.mark.slow  # a fresh process running TensorFlow
def test_keras2_in_a_tf1_graph_short_paths_are_the_long_ones(tmp_path):
    proc = legacy(tmp_path, KERAS, *REPORT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = lines(proc)
    assert out["lr"] == "0.01"  # lr= honoured, as Keras 2.2.4 did
    assert out["weights"] == "0.0"  # fit's short path: the same steps, shuffles and weights
    losses = out["history"].split("] [")
    assert losses[0] + "]" == "[" + losses[1]
    assert out["predict"] == "0.0 (40, 2)" and out["one"] == "(1, 2)"
    assert "ETA" not in proc.stdout and "step" not in proc.stdout  # no progress bars
    ran = report(tmp_path)
    assert ran["keras.optimizers.*(lr=)"]["changes_numbers"].startswith("tfkeras-lr")
    assert ran["keras.model.fit"]["count"] == 3


KERAS_CALLS = """
import hashlib
import numpy as np
from keras.models import Sequential
from keras.layers import Dense
from keras.optimizers import Adam
import keras.backend as K

np.random.seed(0)

def model(lr):
    m = Sequential()
    m.add(Dense(8, input_dim=4, activation='relu'))
    m.add(Dense(2))
    m.compile(loss='mse', optimizer=Adam(lr=lr), metrics=['mae'])
    return m

def digest(m):
    return hashlib.sha256(b"".join(w.tobytes() for w in m.get_weights())).hexdigest()[:16]

m = model(0.01)
sess = K.get_session()
x, y = np.random.rand(64, 4), np.random.rand(64, 2)
for i in range(30):  # a DQN's one-row calls
    q = m.predict(x[i:i + 1])
    t = q.copy()
    t[0, i % 2] = y[i, 0]
    h = m.fit(x[i:i + 1], t, epochs=1, verbose=0)
    print("step %d %r %r %r %r" % (i, q.tolist(), h.history, h.epoch, sorted(h.params.items())))
print("batches", m.fit(x, y, batch_size=16, epochs=3, verbose=0).history, digest(m))
print("float32", m.fit(x.astype("float32")[:5], y[:5].astype("float32"), verbose=0).history)
print("tob", m.train_on_batch(x[:8], y[:8]), "eval", m.evaluate(x, y, verbose=0))
v = K.variable(2.0)           # made after the calls: the next call initializes it, as Keras 2.2.4's did
m2 = model(0.1)
m.predict(x[:1])
print("init", sess.run(v), float(sess.run(m2.weights[0]).sum()))
m.compile(loss='mae', optimizer=Adam(lr=0.05))   # compiled again: another train function
print("again", m.fit(x[:3], y[:3], verbose=0).history, digest(m))
f = K.function([m.input], [m.output])
print("function", f([x[:2]])[0].tolist(), digest(m), digest(m2))
"""


@pytest.mark.slow  # two fresh processes running TensorFlow
def test_keras_calls_quick_or_the_long_way_give_the_same_numbers(tmp_path):
    """Keras calls on NumPy rows take the quick path (the function's session callable, without
    tf-keras's per-call set-up); ``TFREPRO_KERAS_LONG_WAY=1`` sends every call tf-keras's own way.
    Both print the same: predictions, histories (values, epochs, params), weights, a variable made
    between calls initialized by the next, a compile in between."""
    quick = legacy(tmp_path, KERAS_CALLS)
    os.environ[keras2.LONG_WAY] = "1"
    try:
        long = legacy(tmp_path, KERAS_CALLS)
    finally:
        del os.environ[keras2.LONG_WAY]
    assert quick.returncode == 0 and long.returncode == 0, (quick.stderr[-2000:], long.stderr[-2000:])
    assert "step 29" in quick.stdout and "function" in quick.stdout and "init 2.0" in quick.stdout
    assert quick.stdout == long.stdout


@pytest.mark.slow  # a fresh process running TensorFlow
def test_plt_show_never_blocks_and_figures_on_request(tmp_path):
    script = """
    import matplotlib.pyplot as plt
    import pylab
    plt.plot([1, 2, 3])
    plt.show()
    pylab.figure()
    pylab.plot([3, 2])
    pylab.show()
    print("after")
    """
    proc = legacy(tmp_path, script, "--figures", "figs")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == "after"
    assert sorted(p.name for p in (tmp_path / "figs").glob("*.png"))[:1] == ["figure-001.png"]
    assert len(list((tmp_path / "figs").glob("*.png"))) >= 2


@pytest.mark.slow  # a fresh process running TensorFlow
def test_missing_module_is_one_line_with_its_pip_name(tmp_path):
    proc = legacy(tmp_path, "print('start')\nimport cv2\n")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "tfrepro legacy: the script imports cv2, which is not installed: pip install opencv-python"]


EPISODES = """
import gym
envs = [gym.make('CartPole-v0') for _ in range(3)]
count = 0
try:
    while True:
        for env in envs:
            env.reset()
            count += 1
            print("episode=%d" % count)
except Exception:
    print("caught by the script")
"""


@pytest.mark.slow  # a fresh process running TensorFlow
def test_episodes_counts_resets_over_all_environments(tmp_path):
    proc = legacy(tmp_path, EPISODES, "--episodes", "7")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split() == [f"episode={i}" for i in range(1, 8)]  # the script's except did not catch it
    assert proc.stderr.strip().splitlines()[-1] == "tfrepro legacy: stopped after 7 episodes (--episodes 7)"


SEEDED = """
import random
import numpy as np
import tensorflow as tf
import gym
env = gym.make('CartPole-v1')
w = tf.Variable(tf.random_normal([3]))
with tf.Session() as s:
    s.run(tf.global_variables_initializer())
    print("values=%r %r %r %r %r" % (random.random(), np.random.rand(), s.run(w).tolist(),
                                     env.reset().tolist(), env.action_space.sample()))
"""


@pytest.mark.slow  # a fresh process running TensorFlow
def test_seed_makes_two_runs_print_the_same(tmp_path):
    one = legacy(tmp_path, SEEDED, "--seed", "11")
    two = legacy(tmp_path, SEEDED, "--seed", "11")
    other = legacy(tmp_path, SEEDED, "--seed", "12")
    assert one.returncode == two.returncode == other.returncode == 0, one.stderr[-3000:]
    assert one.stdout == two.stdout
    assert one.stdout != other.stdout


@pytest.mark.parametrize("args,needle", [
    (("--episodes", "0"), "invalid count 0"),
    (("--seed", "-1"), "invalid seed"),
    (("--record-format", "avi"), "invalid choice"),
])
def test_legacy_bad_options_are_one_line(tmp_path, args, needle):
    proc = legacy(tmp_path, "print('never')\n", *args)
    assert proc.returncode == 2 and needle in proc.stderr and "never" not in proc.stdout
    assert len(proc.stderr.strip().splitlines()) <= 2  # argparse's usage line and its message


def test_record_into_a_file_is_refused_before_the_script_runs(tmp_path):
    (tmp_path / "taken").write_text("mine")
    proc = legacy(tmp_path, "print('never')\n", "--record", "taken")
    assert proc.returncode == 2 and proc.stderr.strip().endswith("--record taken: is not a directory")
    assert len(proc.stderr.strip().splitlines()) == 1
    assert (tmp_path / "taken").read_text() == "mine" and "never" not in proc.stdout


@pytest.mark.slow  # a fresh process running TensorFlow
def test_markdown_report_names_lines_and_number_changes(tmp_path):
    script = """
    import tensorflow as tf
    x = tf.placeholder(tf.float32, [None, 2])
    opt = tf.train.AdamOptimizer(0.01)
    rms = tf.train.RMSPropOptimizer(0.01)
    """
    proc = legacy(tmp_path, script, "--report")
    assert proc.returncode == 0, proc.stderr[-3000:]
    md = proc.stderr[proc.stderr.index("# Migration report: script.py"):]
    row = next(ln for ln in md.splitlines() if ln.startswith("| `tf.train.AdamOptimizer`"))
    assert "script.py:4" in row and "adam-epsilon" in row
    assert "script.py:5" in next(ln for ln in md.splitlines() if "RMSPropOptimizer" in ln)
    assert "`tf.float32`" in md.splitlines()[-1]  # the same in TF2: listed, not tabled


@pytest.mark.slow
@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"no legacy corpus at {CORPUS} (../shared/legacy-corpus)")
@pytest.mark.parametrize("script", sorted(str(p.relative_to(CORPUS)) for p in CORPUS.glob("*/*.py"))
                         if CORPUS.is_dir() else [])
@pytest.mark.slow  # a fresh process running TensorFlow
def test_corpus_scripts_run_with_episodes(tmp_path, script):
    """Every script of other authors in the corpus (the ones that are programs: modules that
    another file imports are run through it) plays a few episodes and ends cleanly."""
    folder = CORPUS / Path(script).parent
    imported = {p.stem for p in folder.glob("*.py")
                if any(re.search(rf"^\s*(from|import)\s+{p.stem}\b", q.read_text(errors="replace"), re.M)
                       for q in folder.glob("*.py") if q != p)}
    if Path(script).stem in imported:
        pytest.skip(f"{script} is a module the folder's script imports")
    work = tmp_path / "corpus"
    shutil.copytree(folder, work)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", "tfrepro", "legacy", "--episodes", "4", "--seed", "0",
                           "--json", "--report-out", str(tmp_path / "r.json"), Path(script).name],
                          cwd=work, capture_output=True, text=True, timeout=900, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == "tfrepro legacy: stopped after 4 episodes (--episodes 4)"
    assert json.loads((tmp_path / "r.json").read_text())["constructs"]


@pytest.mark.slow
@pytest.mark.xdist_group("tf115")  # one venv builder (pytest -n)
def test_contrib_subset_matches_real_tf115(tmp_path):
    """The same script on real TF 1.15 (its tf.contrib) and through ``tfrepro legacy``: every
    variable's name, shape and initial values, the regularizer, a distribution and the
    network's outputs agree digit for digit. One exception, named: the LSTM kernel, whose
    initializer has no seed of its own, so its op seed derives from the graph's op count,
    which the two implementations reach differently (an explicit seed= makes them agree)."""
    from compat_tests import tf115_env

    py37 = tf115_env.find_python37()
    if py37 is None:
        pytest.skip("no Python 3.7 here (set TFREPRO_PYTHON37)")
    py = tf115_env.ensure(py37, log=lambda m: print(m, file=sys.stderr))
    (tmp_path / "contrib.py").write_text(textwrap.dedent(CONTRIB))
    real = subprocess.run([str(py), "contrib.py"], cwd=tmp_path, capture_output=True, text=True, timeout=600,
                          env=tf115_env.image_env({"PYTHONPATH": ""}))
    assert real.returncode == 0, real.stderr[-3000:]
    ours = legacy(tmp_path, CONTRIB, name="contrib.py")
    assert ours.returncode == 0, ours.stderr[-3000:]

    def comparable(out):
        keep = []
        for ln in out.splitlines():
            if ln.startswith("var=rnn/basic_lstm_cell/kernel"):
                ln = " ".join(ln.split()[:3])  # name and shape only (see the docstring)
            elif ln.startswith("reg="):
                ln = ln.split()[0]  # TensorFlow's number; the second is NumPy's own sum
            keep.append(ln)
        return keep

    assert comparable(ours.stdout) == comparable(real.stdout)
    assert len(comparable(real.stdout)) == 15


ERA = """
import time
import numpy as np
import gym
from gym.wrappers import TimeLimit
env = gym.make('CartPole-v1')
env.seed(4)
obs = env.reset()
print("dtype=%s" % obs.dtype)
print("obs=%r" % obs.tolist())
short = TimeLimit(env.unwrapped, max_episode_steps=5)
short.reset()
n, done = 0, False
while not done:
    _, _, done, info = short.step(n % 2)
    n += 1
print("timelimit=%d %s" % (n, info["TimeLimit.truncated"]))
x = np.zeros(3, dtype=np.float)
print("aliases=%s %s %s %s" % (x.dtype, np.int(2.7), np.asscalar(np.array([5])), np.isnan(np.NaN)))
t0 = time.clock()
print("clock=%s" % (time.clock() >= t0))
"""


@pytest.mark.slow  # a fresh process running TensorFlow
def test_era_names_that_later_releases_removed(tmp_path):
    """CartPole's float32 observation (gym 0.21 cast its state, as gymnasium does: measured
    against real gym 0.21), gym's TimeLimit wrapper, NumPy's removed aliases (np.float, np.int,
    np.asscalar, np.NaN) and time.clock."""

    proc = legacy(tmp_path, ERA, *REPORT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = lines(proc)
    assert out["dtype"] == "float32"
    obs = np.array(json.loads(out["obs"]), dtype=np.float32)
    from tfrepro.core.oldgym import np_random_021

    want = np_random_021(4)[0].uniform(low=-0.05, high=0.05, size=(4,)).astype(np.float32)  # gym 0.21's seed(4)
    assert np.array_equal(obs, want)
    assert out["timelimit"] == "5 True"
    assert out["aliases"] == "float64 2 5 True"
    assert out["clock"] == "True"
    ran = report(tmp_path)
    assert {"np.float", "np.int", "np.asscalar", "np.NaN", "time.clock"} <= set(ran)
    assert ran["np.float"]["where"] == ["script.py:18"] and "NumPy removed" in ran["np.float"]["tf2"]


KERAS_NAMES = """
import h5py
import numpy as np
from keras.models import Sequential
from keras.layers import Dense
m = Sequential()
m.add(Dense(8, input_dim=4, activation='relu'))
m.add(Dense(2))
m.compile(loss='mse', optimizer='adam')
print("names=%s %s" % (m.name, [layer.name for layer in m.layers]))
m.save_weights("w.h5")
with h5py.File("w.h5", "r") as f:
    names = [n.decode() if isinstance(n, bytes) else n for n in f.attrs["layer_names"]]
    weights = [w.decode() if isinstance(w, bytes) else w for w in f["dense_1"].attrs["weight_names"]]
    print("h5=%s %s" % (names, weights))
m2 = Sequential()
m2.add(Dense(8, input_dim=4, activation='relu'))
m2.add(Dense(2))
m2.load_weights("w.h5")
print("loaded=%s" % all(np.array_equal(a, b) for a, b in zip(m.get_weights(), m2.get_weights())))
"""


@pytest.mark.slow  # a fresh process running TensorFlow
def test_standalone_keras_names_count_from_one_like_keras_224(tmp_path):
    proc = legacy(tmp_path, KERAS_NAMES)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = lines(proc)
    assert out["names"] == "sequential_1 ['dense_1', 'dense_2']"
    assert out["h5"] == "['dense_1', 'dense_2'] ['dense_1/kernel:0', 'dense_1/bias:0']"  # as 2.2.4 wrote them
    assert out["loaded"] == "True"


ERA2 = """
import numpy as np
import gym
import tensorflow as tf
from keras.layers.core import Dense, Activation
from keras.layers.normalization import BatchNormalization
from keras.utils import np_utils
from keras.engine.topology import Layer
print("cat=%s" % np_utils.to_categorical([0, 1], 2).tolist())
print("layers=%s %s" % (Dense.__name__, issubclass(Dense, Layer)))
env = gym.make('CartPole-v0')
env.reset()
env.unwrapped.state = np.array([0.0, 0.0, 0.2, 0.0])
obs, r, d, _ = env.step(1)
print("state=%r" % obs.tolist())
s = tf.placeholder(tf.float32, [None, 4])
with tf.variable_scope('actor'):
    probs = tf.layers.dense(tf.layers.dense(s, 8, tf.nn.relu), 2, tf.nn.softmax)
with tf.variable_scope('critic'):
    value = tf.layers.dense(tf.layers.dense(s, 8, tf.nn.relu), 1)
actor = tf.get_collection(tf.GraphKeys.TRAINABLE_VARIABLES, scope='actor')
critic = tf.get_collection(tf.GraphKeys.TRAINABLE_VARIABLES, 'critic')
print("scopes=%s" % [v.op.name for v in actor + critic])
"""


@pytest.mark.slow  # a fresh process running TensorFlow
def test_keras224_module_paths_env_state_and_scoped_networks(tmp_path):
    import gymnasium

    proc = legacy(tmp_path, ERA2)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = lines(proc)
    assert out["cat"] == "[[1.0, 0.0], [0.0, 1.0]]" and out["layers"] == "Dense True"
    g = gymnasium.make("CartPole-v0")
    g.reset(seed=0)
    g.unwrapped.state = np.array([0.0, 0.0, 0.2, 0.0])
    g.step(1)
    assert np.allclose(json.loads(out["state"]), g.unwrapped.state)  # the state the script set
    # the names real TF 1.15 gives this graph (layer names count per variable scope)
    assert out["scopes"] == str(["actor/dense/kernel", "actor/dense/bias", "actor/dense_1/kernel",
                                 "actor/dense_1/bias", "critic/dense/kernel", "critic/dense/bias",
                                 "critic/dense_1/kernel", "critic/dense_1/bias"])


def _tmpfs_in_a_user_namespace() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = "d=$(mktemp -d) && mount -t tmpfs -o size=8k tmpfs $d && umount $d; rc=$?; rmdir $d; exit $rc"
    return subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", probe],
                          capture_output=True).returncode == 0


@pytest.mark.slow
@pytest.mark.skipif(not _tmpfs_in_a_user_namespace(), reason="needs a tmpfs mounted in a user namespace")
def test_a_full_disk_under_report_out_is_the_one_line(tmp_path):
    """``--report-out`` on a full disk (a full tmpfs, mounted in a user namespace): the error is
    the command's only line (the stop's own line is said only once the report is written), exit 2,
    nothing half-written left there."""
    (tmp_path / "s.py").write_text(textwrap.dedent(EPISODES))
    (tmp_path / "full").mkdir()
    fill = ('mount -t tmpfs -o size=64k tmpfs full || exit 99; cat /dev/zero > full/filler 2>/dev/null; '
            '"$@"; rc=$?; ls full > listing; exit $rc')
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-m", "tfrepro", "legacy", "--episodes", "1", "--report-out", "full/r.md", "s.py"]
    proc = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", fill, "sh", *cmd],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600, env=env)
    said = [ln for ln in proc.stderr.splitlines() if ln.startswith("tfrepro")]
    assert proc.returncode == 2 and len(said) == 1, proc.stderr[-2000:]
    assert "--report-out: cannot write" in said[0] and "No space left" in said[0]
    assert (tmp_path / "listing").read_text().split() == ["filler"]
