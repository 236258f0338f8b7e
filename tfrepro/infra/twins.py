"""The two forms of one program side by side: both built with the same initial weights, a
fixed batch of observations, the forward pass, and the largest difference between two lists
of arrays. What ``diff`` (the ladder), ``diff --explain`` and ``convert`` share."""
from __future__ import annotations

import numpy as np

from . import programs

CLASSES = {"random-policy": "RandomPolicy", "imitation-policy": "ImitationPolicy",
           "pg-tang": "PolicyGradient", "pg-geron": "PolicyGradient", "dqn-meertens": "DQN",
           "dqn-pylessons": "DQNAgent"}
ADAM = ("imitation-policy", "pg-tang", "pg-geron")
FORWARD_TOL = (1e-6, 1e-5)  # rtol, atol
GRAD_TOL = (1e-5, 1e-6)
WEIGHT_TOL = (1e-5, 1e-5)


def max_diff(xs, ys, rtol, atol):
    """Largest |x - y| and whether every pair is within atol + rtol * |y| (np.allclose)."""
    worst, ok = 0.0, True
    for x, y in zip(xs, ys):
        x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
        if x.shape != y.shape:
            return float("inf"), False
        d = np.abs(x - y)
        worst = max(worst, float(d.max()) if d.size else 0.0)
        ok = ok and bool(np.all(d <= atol + rtol * np.abs(y)))
    return worst, ok


def observations(seed=1234, n=64):
    """A fixed batch of CartPole-like observations."""
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n, 4)) * [1.0, 1.0, 0.1, 1.0]).astype(np.float32)


def make_pair(name, seed=0, tf2_class=None, port_optimizer=False, tf2_optimizer=None):
    """Both forms of ``name``, the TF2 one holding the TF1 one's initial weights.
    ``tf2_class`` replaces the TF2 class (tests use it to plant a broken port). The Adam
    ports get Keras Adam with TF1's epsilon unless ``port_optimizer``; ``tf2_optimizer``
    (cfg -> Keras optimizer) replaces the TF2 form's optimizer (``diff --explain`` uses it
    to measure what another optimizer does)."""
    prog = programs.get(name)
    cfg = prog.config()
    a = getattr(prog.form("tf1"), CLASSES[name])(cfg, seed)
    b = (tf2_class or getattr(prog.form("tf2"), CLASSES[name]))(cfg, seed + 1)
    if [tuple(w.shape) for w in a.weights()] == [tuple(w.shape) for w in b.weights()]:
        b.set_weights(a.weights())
    if name in ADAM and not port_optimizer:
        import keras

        b.optimizer = keras.optimizers.Adam(cfg.learning_rate, epsilon=1e-8)
        b.optimizer.build(b.model.trainable_variables)
    if tf2_optimizer is not None:
        b.optimizer = tf2_optimizer(cfg)
        b.optimizer.build(b.model.trainable_variables)
    return prog, cfg, a, b


def forward(name, agent, obs):
    if name == "dqn-meertens":
        return agent.q_values(obs)
    if name == "dqn-pylessons":
        return agent.predict(obs)
    return agent.proba_left(obs)
