"""Tier 6: DQN, TF1 graph form against TF2 port, on one fixed batch with the same weights.

Tolerances: Q values and loss atol 1e-6 (float32, a few ulps); weights after 5 updates
atol 1e-6 with TF1RMSprop (TF1's fused kernel rounds a few elements 1 ulp differently,
see test_dqn_core). Stock Keras RMSprop is shown to drift far beyond that.
"""
import numpy as np
import pytest

from legacy_tf1 import dqn_meertens as m1
from modern_tf2 import dqn_meertens as m2
from tfrepro.core.configs import MeertensDQNConfig
from compat_tests.conftest import make_pair
from tfrepro.core.protocol import Transitions
from tfrepro.core.replay import bellman_targets


@pytest.fixture
def batch():
    rng = np.random.default_rng(7)
    states = (rng.normal(size=(32, 4)) * [1, 1, 0.1, 1]).astype(np.float32)
    nextstates = states + rng.normal(size=(32, 4)).astype(np.float32) * 0.05
    actions = rng.integers(0, 2, 32)
    rewards = np.ones(32, np.float32)
    terminals = rng.random(32) < 0.2
    rewards[terminals] = 0
    return states, actions, rewards, terminals, nextstates


def _pair(keras_rmsprop=False):
    """dqn-meertens' two agents (conftest.make_pair); ``keras_rmsprop``: the TF2 agent rebuilt
    with stock Keras RMSprop in place of the port's TF1RMSprop, the TF1 weights copied in."""
    p = make_pair("dqn-meertens")
    if keras_rmsprop:
        p.b.build(p.cfg, keras_rmsprop=True)
        p.b.set_weights(p.a.weights())
    return p.cfg, p.a, p.b


def test_variables_map_by_name_and_shape():
    _, a, b = _pair()
    assert a.variable_names() == ["W1", "B1", "W2", "B2", "W3", "B3", "W4", "B4"]
    assert [n.split("/", 1)[1] for n in b.variable_names()] == [
        f"layer{k}/{p}" for k in range(1, 5) for p in ("kernel", "bias")]
    assert [w.shape for w in a.weights()] == [w.shape for w in b.weights()]


def test_same_q_loss_and_weights_after_updates(batch):
    cfg, a, b = _pair()
    states, actions, rewards, terminals, nextstates = batch
    np.testing.assert_allclose(a.q_values(states), b.q_values(states), atol=1e-6)
    w0 = a.weights()
    for _ in range(5):
        targets = bellman_targets(rewards, terminals, a.q_values(nextstates), cfg.gamma)
        np.testing.assert_allclose(targets, bellman_targets(rewards, terminals, b.q_values(nextstates),
                                                            cfg.gamma), atol=1e-6)
        loss1, _ = a.train_batch(states, actions, targets)
        loss2 = b.train_batch(states, actions, targets)
        assert loss1 == pytest.approx(loss2, abs=1e-6)
    moved = max(np.abs(x - y).max() for x, y in zip(a.weights(), w0))
    assert moved > 1e-5
    for x, y in zip(a.weights(), b.weights()):
        np.testing.assert_allclose(x, y, atol=1e-6)


def test_stock_keras_rmsprop_drifts(batch):
    """Keras 3 RMSprop starts its accumulator at zero (epsilon 1e-7 inside the root):
    its first step is lr / sqrt(0.1) = 3.2 lr per weight whatever the gradient, TF1's
    lr |g| / sqrt(0.9 + 0.1 g^2). Measured on this batch after 5 steps: the largest
    weight moved 2.0x as far (1.14e-3 against 5.8e-4), a drift of 1.1e-3 from TF1,
    1000x the tolerance the exact optimizer meets."""
    cfg, a, b = _pair(keras_rmsprop=True)
    states, actions, rewards, terminals, nextstates = batch
    w0 = a.weights()
    targets = bellman_targets(rewards, terminals, a.q_values(nextstates), cfg.gamma)
    for _ in range(5):
        a.train_batch(states, actions, targets)
        b.train_batch(states, actions, targets)
    tf1_move = max(np.abs(x - y).max() for x, y in zip(a.weights(), w0))
    keras_move = max(np.abs(x - y).max() for x, y in zip(b.weights(), w0))
    drift = max(np.abs(x - y).max() for x, y in zip(a.weights(), b.weights()))
    assert drift > 100 * 1e-6 and keras_move > 1.5 * tf1_move


def test_tensorboard_event_files_hold_the_loss(tmp_path):
    from dataclasses import replace

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    cfg = replace(MeertensDQNConfig(), frames=1400, learn_after=1000, test_episodes=1)
    for module, name in ((m1, "tf1"), (m2, "tf2")):
        module.run(cfg, seed=0, logdir=str(tmp_path / name))
        ea = EventAccumulator(str(tmp_path / name))
        ea.Reload()
        tags = ea.Tags()
        assert "loss" in tags["scalars"] + tags.get("tensors", []), (name, tags)
        events = ea.Scalars("loss") if "loss" in tags["scalars"] else ea.Tensors("loss")
        assert [e.step for e in events] == [1001, 1101, 1201, 1301]


@pytest.mark.parametrize("use_target", [False, True])
@pytest.mark.parametrize("module", [m1, m2], ids=["tf1", "tf2"])
def test_book_and_fast_updates_agree(module, use_target, batch):
    """fast computes the Bellman target in the framework and trains in one call; book
    computes it in NumPy between two calls. Same weights after 5 updates."""
    from dataclasses import replace

    cfg = replace(MeertensDQNConfig(), target_sync_every=1000 if use_target else 0)
    a, b = module.DQN(cfg, 0), module.DQN(cfg, 0)
    b.set_weights(a.weights())
    states, actions, rewards, terminals, nextstates = batch
    w0 = a.weights()
    for step in range(5):
        if use_target and step == 0:
            for agent in (a, b):  # a target network differing from the online one
                agent.sync_target()
        q_next = a.target_values(nextstates) if use_target else a.q_values(nextstates)
        targets = bellman_targets(rewards, terminals, q_next, cfg.gamma)
        a.train_batch(states, actions, targets)
        _, after = b.fast_update(Transitions(states, actions, rewards, terminals, nextstates))
        np.testing.assert_array_equal(after[0], b.weights()[0])  # the returned weights are the new ones
    assert max(np.abs(x - y).max() for x, y in zip(a.weights(), w0)) > 1e-5
    for x, y in zip(a.weights(), b.weights()):
        np.testing.assert_allclose(x, y, atol=1e-7)
