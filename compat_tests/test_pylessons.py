"""Tier 6: pylessons DQN: the Keras 2 traps, TF1 (tf-keras in a TF1 graph) against TF2 (Keras 3)
on one fixed batch, book against fast, old .h5 models, determinism.

Keras 2's RMSprop (tf-keras's legacy optimizer, as Keras 2.2.4 computed it) and Keras 3's
are the same update (accumulator from zeros, epsilon 0.01 outside the square root), so no
special optimizer is needed here, unlike the Meertens DQN: tolerances are float32 rounding.
"""
import dataclasses
import warnings

import numpy as np
import pytest

from legacy_tf1 import dqn_pylessons as p1
from modern_tf2 import dqn_pylessons as p2
from tfrepro.core.configs import PylessonsDQNConfig
from tfrepro.core.errors import UsageError
from tfrepro.core.h5models import read_dense_model
from compat_tests.conftest import make_pair
from tfrepro.core.protocol import Transitions
from tfrepro.infra.records import read_record


def source_order(batch):
    """The source's argument order of ``book_update``: state, action, reward, next_state, done."""
    return batch.states, batch.actions, batch.rewards, batch.next_states, batch.terminals

@pytest.fixture(scope="module")
def pair():
    """dqn-pylessons' two agents (conftest.make_pair)."""
    p = make_pair("dqn-pylessons")
    with p.a, p.b:
        yield p.cfg, p.a, p.b


@pytest.fixture
def batch():
    rng = np.random.default_rng(11)
    s = (rng.normal(size=(64, 4)) * [1, 1, 0.1, 1]).astype(np.float32)
    s2 = s + rng.normal(size=(64, 4)).astype(np.float32) * 0.05
    a = rng.integers(0, 2, 64)
    d = rng.random(64) < 0.2
    r = np.where(d, -100.0, 1.0).astype(np.float32)
    return Transitions(s, a, r, d, s2)


@pytest.fixture
def fresh(pair_factory):
    """New agents on both sides (fresh optimizers), the TF1 weights in the TF2 model."""

    def make():
        p = pair_factory("dqn-pylessons")
        return p.cfg, p.a, p.b

    return make


# -- the traps ------------------------------------------------------------------

def test_tf_keras_drops_lr_and_this_port_does_not(pair):
    """tf-keras's default RMSprop ignores ``lr=`` without an error: the learning rate the
    optimizer really uses is 0.001, four times the source's 0.00025."""
    import tf_keras

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dropped = tf_keras.optimizers.RMSprop(lr=0.00025, rho=0.95, epsilon=0.01)
    assert float(dropped.learning_rate.numpy()) == pytest.approx(0.001)
    cfg, a, b = pair
    assert a.learning_rate() == pytest.approx(0.00025, rel=1e-6)  # read back from the graph
    assert b.learning_rate() == pytest.approx(0.00025, rel=1e-6)
    import keras

    with pytest.raises((TypeError, ValueError)):  # Keras 3 refuses lr= outright
        keras.optimizers.RMSprop(lr=0.00025)


SPACED = """
import sys, numpy as np
import {module} as K
x = K.Input((4,))
model = K.Model(inputs=x, outputs=K.layers.Dense(2)(x), name="CartPole DQN model")
try:
    model.predict(np.zeros((1, 4), np.float32), verbose=0)
    print("predict worked")
except ValueError as e:
    print("predict failed:", " ".join(str(e).split()))
later = K.Sequential([K.Input((4,)), K.layers.Dense(2, name="later")], name="later_model")
later(np.zeros((1, 4), np.float32))
print("later variable:", later.weights[0].{path})
"""


@pytest.mark.parametrize("module,path", [("keras", "path"), ("tf_keras", "name")])
def test_model_name_with_spaces_breaks_predict(module, path, pair):
    """In a fresh process: the source's model name fails at ``predict`` in Keras 3 and in
    tf-keras eager. Keras 3 also leaves the failed call's name scope open: every variable
    created afterwards in that process is prefixed with 'CartPole DQN model/'."""
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", SPACED.format(module=module, path=path)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "predict failed:" in proc.stdout, proc.stdout
    assert "'CartPole DQN model" in proc.stdout and "is not a valid root scope name" in proc.stdout
    if module == "keras":
        assert "later variable: CartPole DQN model/" in proc.stdout, proc.stdout
    _, a, b = pair
    assert " " not in a.model.name and " " not in b.model.name
    assert b.predict(np.zeros((1, 4))).shape == (1, 2)


# -- TF1 against TF2 --------------------------------------------------------------

def test_same_architecture(pair):
    _, a, b = pair
    shapes = [(4, 512), (512,), (512, 256), (256,), (256, 64), (64,), (64, 2), (2,)]
    assert [tuple(w.shape) for w in a.weights()] == shapes
    assert [tuple(w.shape) for w in b.weights()] == shapes
    assert [n.split("/")[-1] for n in a.variable_names()] == ["kernel", "bias"] * 4


def test_same_q_values(fresh, batch):
    _, a, b = fresh()
    s = batch[0]
    np.testing.assert_allclose(a.predict(s), b.predict(s), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("mode", ["fast", "book"])
def test_same_weights_after_updates(fresh, batch, mode):
    """Four updates on one batch, TF1 graph (Keras 2 fit / one sess.run) against TF2
    (Keras 3 fit / tf.function): the weights move and stay together."""
    _, a, b = fresh()
    w0 = a.weights()
    for _ in range(4):
        if mode == "fast":
            la, _ = a.fast_update(batch)
            lb, _ = b.fast_update(batch)
            assert la == pytest.approx(lb, rel=1e-5)
        else:
            a.book_update(*source_order(batch))
            b.book_update(*source_order(batch))
    moved = max(np.abs(x - y).max() for x, y in zip(a.weights(), w0))
    assert moved > 1e-4
    for x, y in zip(a.weights(), b.weights()):
        np.testing.assert_allclose(x, y, rtol=1e-4, atol=2e-6)


@pytest.mark.parametrize("side", ["tf1", "tf2"])
def test_book_update_equals_fast_update(fresh, batch, side):
    """The source's predict/target rows/fit equals the in-graph target and update."""
    pick = (lambda a, b: a) if side == "tf1" else (lambda a, b: b)
    agent = pick(*fresh()[1:])
    agent.book_update(*source_order(batch))
    after_book = agent.weights()
    _, after_fast = pick(*fresh()[1:]).fast_update(batch)
    for x, y in zip(after_book, after_fast):
        np.testing.assert_allclose(x, y, rtol=1e-4, atol=1e-6)


def test_traced_fast_update_is_the_tf_function_bit_for_bit(fresh, batch):
    """``fast_update`` calls the traced graph directly (modern_tf2.common.traced, no
    per-call dispatch): after three updates the weights equal, bit for bit, those of the
    same updates through the ``tf.function`` itself."""
    import tensorflow as tf

    _, _, direct = fresh()
    _, _, dispatched = fresh()
    s, a, r, d, s2 = batch
    args = [tf.constant(s, tf.float32), tf.constant(a, tf.int32), tf.constant(r, tf.float32),
            tf.constant(d.astype(np.float32)), tf.constant(s2, tf.float32)]
    for _ in range(3):
        loss, after = direct.fast_update(batch)
        plain_loss, plain_after = dispatched._fast_train(*args)
        assert loss == float(plain_loss)
    for x, y in zip(after, plain_after):
        np.testing.assert_array_equal(x, y.numpy())


def test_keras_loss_is_half_the_action_column_mse(fresh, batch):
    """Keras's "mse" on the target rows averages over both columns: half the squared
    Bellman error of the taken action, which is what both forms minimise."""
    cfg, a, b = fresh()
    s, act, r, d, s2 = batch
    q, q2 = b.predict(s), b.predict(s2)
    y = np.where(d, r, r + cfg.gamma * q2.max(axis=1))
    expected = np.mean((y - q[np.arange(64), act]) ** 2) / 2
    loss, _ = b.fast_update(batch)
    assert loss == pytest.approx(expected, rel=1e-5)


# -- old models ---------------------------------------------------------------------

def _keras2_h5(path, seed=3):
    """A model file as the source saved it: Keras 2 (tf-keras), functional Dense layers,
    the source's name with spaces, optimizer with lr=."""
    import tf_keras as K

    K.utils.set_random_seed(seed)
    x_in = K.layers.Input((4,))
    x = x_in
    for units in (512, 256, 64):
        x = K.layers.Dense(units, input_shape=(4,), activation="relu", kernel_initializer="he_uniform")(x)
    x = K.layers.Dense(2, activation="linear", kernel_initializer="he_uniform")(x)
    model = K.models.Model(inputs=x_in, outputs=x, name="CartPole DQN model")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.compile(loss="mse", optimizer=K.optimizers.RMSprop(lr=0.00025, rho=0.95, epsilon=0.01),
                      metrics=["accuracy"])
        model.save(path)
    return [w.numpy() for w in model.trainable_weights]


LOAD_H5 = """
import sys, numpy as np, keras
try:
    keras.models.load_model(sys.argv[1])
except Exception as e:
    print("compiled load failed:", " ".join(str(e).split())[:200])
loaded = keras.models.load_model(sys.argv[1], compile=False)
try:
    loaded.predict(np.zeros((1, 4), np.float32), verbose=0)
except ValueError as e:
    print("predict failed:", " ".join(str(e).split())[:200])
"""


def test_keras3_cannot_use_a_keras2_h5_as_is(tmp_path):
    """Keras 3 on the source's .h5 (in a fresh process: the failed predict leaves a name
    scope open): compiled loading fails on the metric, uncompiled predict on the name."""
    import subprocess
    import sys

    path = tmp_path / "cartpole-dqn.h5"
    _keras2_h5(path)
    proc = subprocess.run([sys.executable, "-c", LOAD_H5, str(path)], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "compiled load failed: Could not deserialize 'keras.metrics.mse'" in proc.stdout, proc.stdout
    assert "predict failed: 'CartPole DQN model' is not a valid root scope name" in proc.stdout


def test_h5_reader_gets_the_keras2_weights(tmp_path):
    path = tmp_path / "cartpole-dqn.h5"
    weights = _keras2_h5(path)
    name, layers, read = read_dense_model(path)
    assert name == "CartPole DQN model"
    assert [units for _, units, _ in layers] == [512, 256, 64, 2]
    for x, y in zip(weights, read):
        np.testing.assert_array_equal(x, y)


def test_load_h5_evaluate_and_convert_through_the_cli(cli_here, tmp_path, obs_batch):
    """``run --load MODEL.h5 --iterations 0``: no training, the test episodes, and
    ``--save`` converts to .keras; both forms then predict the same Q values."""
    h5 = tmp_path / "cartpole-dqn.h5"
    weights = _keras2_h5(h5)
    out = tmp_path / "eval.json"
    proc = cli_here("run", "dqn-pylessons", "--framework", "tf2", "--load", h5, "--iterations", "0",
                    "--save", "converted", "--out", out)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rec = read_record(out)
    assert rec["train_returns"] == [] and rec["updates"] == 0 and len(rec["eval_returns"]) == 20
    keras_file = tmp_path / "converted" / "model.keras"
    assert keras_file.exists()
    cfg = PylessonsDQNConfig()
    tf2 = p2.DQNAgent(cfg, 9)
    tf2.restore(keras_file)
    tf1 = p1.DQNAgent(cfg, 9)
    tf1.restore(h5)
    from tfrepro.core.policies import mlp_q

    want = mlp_q(weights, obs_batch)
    np.testing.assert_allclose(tf2.predict(obs_batch), want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(tf1.predict(obs_batch), want, rtol=1e-5, atol=1e-5)
    tf1.close()
    # and the TF1 form loads what it saved itself
    saved = p1.DQNAgent(cfg, 4)
    path = saved.save(tmp_path / "tf1")
    assert path.endswith("cartpole-dqn.h5")
    back = p1.DQNAgent(cfg, 5)
    back.restore(tmp_path / "tf1")
    for x, y in zip(saved.weights(), back.weights()):
        np.testing.assert_array_equal(x, y)
    saved.close()
    back.close()


def test_bad_model_files(tmp_path):
    cfg = PylessonsDQNConfig()
    agent = p2.DQNAgent(cfg, 0)
    good = tmp_path / "good.h5"
    _keras2_h5(good)
    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(good.read_bytes()[:4000])
    with pytest.raises(UsageError, match="truncated.h5"):
        agent.restore(truncated)
    other = tmp_path / "other.h5"
    import tf_keras as K

    m = K.Sequential([K.layers.Input((4,)), K.layers.Dense(8), K.layers.Dense(2)])
    m.save(other)
    with pytest.raises(UsageError, match="weight shapes"):
        agent.restore(other)
    text = tmp_path / "notes.h5"
    text.write_text("not a model")
    with pytest.raises(UsageError, match="not an HDF5 file"):
        agent.restore(text)


# -- a whole run --------------------------------------------------------------------

SHORT = dict(episodes=60, train_start=200, memory=400, test_episodes=3)


@pytest.mark.slow
@pytest.mark.parametrize("module", [p1, p2], ids=["tf1", "tf2"])
def test_same_seed_same_run_and_the_seed_matters(module):
    from dataclasses import replace

    cfg = replace(PylessonsDQNConfig(), **SHORT)
    runs = [module.run(cfg, mode="fast", seed=s) for s in (2, 2, 3)]
    key = [(r.train_returns, r.eval_returns, r.updates) for r in runs]
    assert key[0] == key[1] and key[0] != key[2]
    assert runs[0].updates > 1000


@pytest.mark.slow
def test_tf1_and_tf2_runs_start_identically():
    """Same seed and the same initial weights: both forms play the same episodes (same env
    stream, same replay samples, same exploration draws) until float rounding flips a
    greedy action; the first dozen training episodes must agree exactly."""
    from dataclasses import replace

    cfg = replace(PylessonsDQNConfig(), **SHORT)
    init = p1.DQNAgent(cfg, 0)
    w = init.weights()
    init.close()
    outs = []
    for module in (p1, p2):
        original = module.DQNAgent.__init__

        def patched(self, cfg, seed, _orig=original):
            _orig(self, cfg, seed)
            self.set_weights(w)

        module.DQNAgent.__init__ = patched
        try:
            outs.append(module.run(cfg, mode="fast", seed=1))
        finally:
            module.DQNAgent.__init__ = original
    assert outs[0].train_returns[:12] == outs[1].train_returns[:12]


# Short runs in which both stopping rules can fire: updates from 64 stored transitions on
# batches of 16, 40 episodes, the source's rule at an episode of exactly 14 steps, greedy
# evaluations every 100 steps (passing at a mean of 25 in one case, never in the other).
RULES_SHORT = dict(train_start=64, batch_size=16, eval_episodes=2, test_episodes=2, episodes=40)


def _out(module, cfg, seed, also=None):
    from tfrepro.core.seeding import seed_everything

    out = dataclasses.asdict(module.run(cfg, mode="fast", seed=seed, rng=seed_everything(seed), also=also))
    out.pop("finished_at")
    return out


def _assert_same_run(a, b):
    weights_a, weights_b = a.pop("weights"), b.pop("weights")
    for k in ("train_wall_s", "also"):  # ``also``: the shared run's other variant, popped from it
        a.pop(k, None), b.pop(k, None)
    assert a == b
    for x, y in zip(weights_a, weights_b):
        np.testing.assert_array_equal(x, y)


@pytest.mark.slow
@pytest.mark.parametrize("threshold", [25.0, 500.0], ids=["evaluation-passes", "budget-ends-it"])
@pytest.mark.parametrize("module", [p1, p2], ids=["tf1", "tf2"])
def test_one_run_serving_both_rules_is_each_variants_own_run(module, threshold):
    """One run of the ``evaluated`` variant that also serves the source's stopping rule
    (``run(..., also=...)``, as ``runner.run_shared`` calls it: training goes on until both
    rules have fired) gives each variant the outputs of its own run, bit for bit: the same
    episodes, test episodes, evaluations and weights, whichever rule fires first, and when
    one never does (the budget ends it)."""
    from dataclasses import replace

    book = PylessonsDQNConfig(**RULES_SHORT, solved_score=14, eval_threshold=threshold)
    evaluated = replace(book, solved_score=0, eval_every=100)
    fired = []
    for seed in (0, 1, 2):
        shared = _out(module, evaluated, seed, also=book)
        shared_book = shared.pop("also")
        shared_book.pop("finished_at")
        assert shared_book["evaluations"] is None and shared["evaluations"]
        fired.append((shared_book["solved_episode"] is not None, shared["solved_episode"] is not None))
        _assert_same_run(shared, _out(module, evaluated, seed))
        _assert_same_run(shared_book, _out(module, book, seed))
    # the cases the test is for: the source's rule fired, and the evaluation passed or never did
    assert any(book_fired for book_fired, _ in fired), fired
    assert any(ev for _, ev in fired) == (threshold < 500), fired


def test_a_shared_run_needs_variants_that_differ_in_their_stopping_rule_alone():
    from tfrepro.core.replay import shared_config

    cfg = PylessonsDQNConfig()
    with pytest.raises(ValueError, match="differ in gamma"):
        shared_config(cfg, PylessonsDQNConfig(gamma=0.9, solved_score=0, eval_every=1000))
    both = shared_config(PylessonsDQNConfig(solved_score=0, eval_every=1000), cfg)
    assert (both.solved_score, both.eval_every) == (500, 1000)


def test_the_grid_runs_the_two_variants_once(tmp_path):
    """``run_grid`` plans one run per seed and form for both dqn-pylessons entries (each
    giving both records), and a lone run where one entry's record is already there."""
    from tfrepro.infra.grid import plan_jobs, record_path
    from tfrepro.infra.records import write_record
    from tfrepro.infra.runner import _record

    entries = [("dqn-pylessons", "evaluated"), ("dqn-pylessons", None), ("pg-geron", None)]
    jobs, reused = plan_jobs(entries, "lockstep", [0, 1, 2], tmp_path, workers=2)
    pyl = [j for j in jobs if j[0] == "dqn-pylessons"]
    assert reused == [] and {(j[1], j[3], j[6]) for j in pyl} == {("evaluated", "fast", True)}
    assert sorted((j[2], s) for j in pyl for s in j[4]) == [(fw, s) for fw in ("tf1", "tf2") for s in (0, 1, 2)]
    assert {j[6] for j in jobs if j[0] == "pg-geron"} == {False}
    # seed 1's book record (TF1) is there: its evaluated run is a lone one, nothing else changes
    cfg = PylessonsDQNConfig()
    out = dict(train_returns=[10.0], eval_returns=[9.0], env_steps=19, solved_episode=0)
    write_record(record_path(tmp_path, "dqn-pylessons", None, "tf1", "fast", 1),
                 _record("dqn-pylessons", "tf1", "fast", 1, None, cfg, out, 1.0, False))
    jobs, reused = plan_jobs(entries[:2], "lockstep", [0, 1, 2], tmp_path, workers=2, reuse=True)
    assert [r["seed"] for r in reused] == [1]
    runs = sorted((j[1], j[2], s, j[6]) for j in jobs for s in j[4])
    assert runs == sorted([("evaluated", fw, s, not (fw, s) == ("tf1", 1)) for fw in ("tf1", "tf2")
                           for s in (0, 1, 2)])
