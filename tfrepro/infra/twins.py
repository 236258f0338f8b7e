"""The two forms of one program side by side: both built with the same initial weights, a
fixed batch of observations, the forward pass, and the largest difference between two lists
of arrays. What ``diff`` (the ladder), ``diff --explain`` and ``convert`` share."""
from __future__ import annotations

import numpy as np

from ..core.protocol import as_shape, shapes_map
from . import programs

FORWARD_TOL = (1e-6, 1e-5)  # rtol, atol
GRAD_TOL = (1e-5, 1e-6)
WEIGHT_TOL = (1e-5, 1e-5)


def max_diff(xs, ys, rtol, atol):
    """Largest |x - y| and whether every pair is within atol + rtol * |y| (np.allclose)."""
    worst, ok = 0.0, True
    for x, y in zip(xs, ys):
        x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
        x = as_shape(x, y.shape)  # a TF1 bias [1, n] against a Keras bias [n]
        if x.shape != y.shape:
            return float("inf"), False
        d = np.abs(x - y)
        worst = max(worst, float(d.max()) if d.size else 0.0)
        ok = ok and bool(np.all(d <= atol + rtol * np.abs(y)))
    return worst, ok


def observations(seed=1234, n=64):
    """A fixed batch of CartPole-like observations."""
    from ..core.batches import fixed_observations

    return fixed_observations(seed, n)


def as_list(outputs):
    """A forward pass's outputs as a list of arrays (one per head)."""
    return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]


def make_pair(name, seed=0, tf2_class=None, port_optimizer=False, tf2_optimizer=None):
    """Both forms' agents of program ``name``, the TF2 one holding the TF1 one's initial
    weights. ``tf2_class`` replaces the TF2 class (tests use it to plant a broken port). The
    TF2 form trains with the optimizer the spec pairs with TF1's (``tf2_optimizer`` hook, e.g.
    Keras Adam with TF1's epsilon) unless ``port_optimizer``; a ``tf2_optimizer`` given here
    (cfg -> Keras optimizer) replaces it (``diff --explain`` measures other optimizers so)."""
    prog = programs.get(name)
    if not prog.has_model:
        from ..core.errors import UsageError

        raise UsageError(f"{name} has no weights: no agents to compare")
    cfg = prog.config()
    a = prog.make_agent("tf1", cfg, seed)
    b = (tf2_class or prog.agent_class("tf2"))(cfg, seed + 1)
    wa, wb = a.weights(), b.weights()
    if len(wa) == len(wb) and all(shapes_map(x.shape, y.shape) for x, y in zip(wa, wb)):
        b.set_weights(wa)
    optimizer = tf2_optimizer or (None if port_optimizer else prog.hook("tf2_optimizer"))
    if optimizer is not None:
        b.use_optimizer(optimizer(cfg))
    return prog, cfg, a, b
