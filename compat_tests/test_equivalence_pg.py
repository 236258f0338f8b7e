"""Tier 2: TF1 graph form against TF2 port on identical inputs, rung by rung.

Tolerances:
* forward pass and gradients: atol 1e-6 (float32 with a handful of ops; the observed
  differences are a few ulps, <= 2e-7);
* weights after TF1's own AdamOptimizer applied to the Keras variables under tf.function:
  bit-exact (same kernel, same inputs);
* weights after Keras Adam with epsilon pinned to TF1's 1e-8: atol 1e-5 after 5 steps.
  Keras computes the same formula in another operation order; each step can move a
  weight by lr * a few float32 ulps (lr 0.05: ~1e-7 per step), observed <= 1.1e-6.
"""
import numpy as np
import pytest
import tensorflow as tf

from modern_tf2.common import tf1_optimizer_update
from tfrepro.core.envs import VecEpisodes
from tfrepro.core.policies import sampling_policy
from tfrepro.infra import programs
from tfrepro.core.returns import (
    discount_and_normalize_rewards,
    normalized_discounted_rewards,
)

TF1_NAMES = ["dense/kernel", "dense/bias", "dense_1/kernel", "dense_1/bias"]
TF2_SUFFIXES = ["hidden/kernel", "hidden/bias", "output/kernel", "output/bias"]
# the REINFORCE programs: their agents expose the book's per-step gradients
REINFORCE = [n for n in programs.names(lambda p: p.has_model)
             if hasattr(programs.get(n).agent_class("tf1"), "step_gradients")]
on_reinforce = pytest.mark.parametrize("pair", REINFORCE, indirect=True)


def _episodes(agent, module, cfg, n, seed=3):
    """Record n episodes with the current policy (actions sampled from NumPy)."""
    venv = VecEpisodes(cfg.env_id, n, seed=seed, max_steps=cfg.max_steps or None)
    return venv.play(sampling_policy(agent.weights(), module.ACTIVATION), np.random.default_rng(seed))


def _weights_for(name, batch, cfg):
    rewards = batch.episode_rewards()
    if name == "pg-tang":
        return [normalized_discounted_rewards(r, cfg.discount_rate) for r in rewards]
    return discount_and_normalize_rewards(rewards, cfg.discount_rate)


@on_reinforce
def test_rung1_variables_map_one_to_one(pair):
    a, b = pair.a, pair.b
    assert a.variable_names() == TF1_NAMES
    names2 = b.variable_names()
    assert [n.split("/", 1)[1] for n in names2] == TF2_SUFFIXES
    assert [w.shape for w in a.weights()] == [w.shape for w in b.weights()]


@on_reinforce
def test_rung2_same_action_probabilities(pair, obs_batch):
    a, b = pair.a, pair.b
    np.testing.assert_allclose(a.proba_left(obs_batch), b.proba_left(obs_batch), rtol=1e-6, atol=1e-6)


@on_reinforce
def test_rung3_same_per_step_gradients_on_a_recorded_episode(pair):
    m1, cfg, a, b = pair.tf1, pair.cfg, pair.a, pair.b
    batch = _episodes(a, m1, cfg, 2)
    obs, actions = batch.flat()
    for t in range(0, len(obs), 7):
        a_act, g1 = a.step_gradients(obs[t], action=int(actions[t]))
        b_act, g2 = b.step_gradients(obs[t], action=int(actions[t]))
        assert int(a_act.ravel()[0]) == int(b_act.ravel()[0]) == int(actions[t])
        for x, y in zip(g1, g2):
            np.testing.assert_allclose(x, y, atol=1e-6)


@on_reinforce
def test_rung3_same_update_gradient_book_and_fast(pair):
    """The book's mean of reward-weighted per-step gradients equals the fast mode's one
    gradient of the weighted loss, in each framework and across the two."""
    name, m1, cfg, a, b = pair.name, pair.tf1, pair.cfg, pair.a, pair.b
    batch = _episodes(a, m1, cfg, 1 if name == "pg-tang" else cfg.episodes_per_update)
    weights = _weights_for(name, batch, cfg)
    obs, actions = batch.flat()
    results = {}
    for label, agent in (("tf1", a), ("tf2", b)):
        per_step, k = [], 0
        for _ep, n in enumerate(batch.lengths):
            per_step.append([agent.step_gradients(obs[k + t], action=int(actions[k + t]))[1] for t in range(n)])
            k += n
        book = agent.book_gradient(weights if name == "pg-geron" else weights[0],
                                   per_step if name == "pg-geron" else per_step[0])
        fast = agent.batch_gradient(obs, actions, np.concatenate(weights))
        for x, y in zip(book, fast):
            np.testing.assert_allclose(x, y, atol=1e-6)
        results[label] = fast
    for x, y in zip(results["tf1"], results["tf2"]):
        np.testing.assert_allclose(x, y, atol=1e-6)


def _grad_sequence(a, m1, cfg, name, steps=5):
    out = []
    for i in range(steps):
        batch = _episodes(a, m1, cfg, 1 if name == "pg-tang" else cfg.episodes_per_update, seed=10 + i)
        obs, actions = batch.flat()
        out.append(a.batch_gradient(obs, actions, np.concatenate(_weights_for(name, batch, cfg))))
    return out


@on_reinforce
def test_rung4_tf1_optimizer_under_tf_function_is_bit_exact(pair):
    name, m1, cfg, a, b = pair.name, pair.tf1, pair.cfg, pair.a, pair.b
    grads = _grad_sequence(a, m1, cfg, name)
    update = tf1_optimizer_update(tf.compat.v1.train.AdamOptimizer(cfg.learning_rate), b.model)
    w0 = a.weights()
    for g in grads:
        a.apply(g)
        update(g)
    for x, y in zip(a.weights(), b.weights()):
        np.testing.assert_array_equal(x, y)
    assert max(np.abs(x - y).max() for x, y in zip(a.weights(), w0)) > 1e-3  # the updates are real


@on_reinforce
def test_rung4_keras_adam_with_tf1_epsilon_within_tolerance(pair):
    import keras

    name, m1, cfg, a, b = pair.name, pair.tf1, pair.cfg, pair.a, pair.b
    grads = _grad_sequence(a, m1, cfg, name)
    w0 = a.weights()
    b.optimizer = keras.optimizers.Adam(cfg.learning_rate, epsilon=1e-8)
    assert float(b.optimizer.learning_rate.numpy()) == pytest.approx(cfg.learning_rate)
    for g in grads:
        a.apply(g)
        b.apply([tf.constant(x) for x in g])
    moved = max(np.abs(x - y).max() for x, y in zip(a.weights(), w0))
    drift = max(np.abs(x - y).max() for x, y in zip(a.weights(), b.weights()))
    assert moved > 1e-3  # the test has teeth: the updates are real
    assert drift <= 1e-5


@on_reinforce
def test_effective_learning_rates_read_back(pair):
    cfg, a, b = pair.cfg, pair.a, pair.b
    assert float(b.optimizer.learning_rate.numpy()) == pytest.approx(cfg.learning_rate)
    with a.graph.as_default():
        lr = [op for op in a.graph.get_operations() if op.name.endswith("Adam/learning_rate")]
    assert lr and a.sess.run(lr[0].outputs[0]) == pytest.approx(cfg.learning_rate)


def test_keras_bce_uses_cached_logits_and_tf1_matches_it(pair_factory):
    """Keras 3's binary_crossentropy on a Dense(sigmoid) output uses the logits the
    sigmoid cached, in eager mode (the book) and in tf.function (fast) alike; the TF1
    back-port uses sigmoid_cross_entropy_with_logits to match. A probability that lost
    its logits (tf.identity) gets the clipped formula instead: with a saturated policy
    its gradient vanishes where the book's is p - y = 1."""
    import keras

    p = pair_factory("pg-geron")
    a, b = p.a, p.b
    w = a.weights()
    w[3] = np.array([30.0], np.float32)  # P(left) = sigmoid(30) = 1.0 in float32
    a.set_weights(w)
    b.set_weights(w)
    obs = np.zeros((1, 4), np.float32)
    _, eager = b.step_gradients(obs[0], action=1)  # target 0, p = 1
    fast = b.batch_gradient(obs, np.array([1]), np.array([1.0]))
    _, tf1 = a.step_gradients(obs[0], action=1)
    for x, y, z in zip(eager, fast, tf1):
        np.testing.assert_allclose(x, y, atol=1e-6)
        np.testing.assert_allclose(x, z, atol=1e-6)
    assert float(eager[3][0]) == pytest.approx(1.0, abs=1e-6)

    @tf.function
    def clipped(o):
        with tf.GradientTape() as tape:
            p = tf.identity(b.model(o))
            loss = tf.reduce_mean(keras.losses.binary_crossentropy(tf.zeros((1, 1)), p))
        return tape.gradient(loss, b.model.trainable_variables)

    assert abs(float(clipped(tf.constant(obs))[3].numpy()[0])) < 1e-6
