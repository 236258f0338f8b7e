"""Gymnasium's CartPole step as TensorFlow ops, for the in-graph frame loop of dqn-meertens's
``lockstep`` mode (``tfrepro.engines.meertens``).

``cartpole_step`` is gymnasium's CartPole step in float64, written once against the ops
both ``tensorflow.compat.v1`` and ``tensorflow`` have (the caller passes its module as
``tf``), in gymnasium's order of operations (``compat_tests/test_fused.py`` holds its
trajectories to gymnasium's, bit for bit).
"""
from __future__ import annotations

import numpy as np

from ..core.lockstep import LockstepCartPole

PHYSICS = ("gravity", "masspole", "total_mass", "length", "polemass_length", "force_mag", "tau",
           "theta_threshold_radians", "x_threshold")


def cartpole_constants(env: LockstepCartPole):
    """The physics of ``env`` (gymnasium's own values) for ``cartpole_step``: (the values of
    ``PHYSICS``, float64 (9,); whether the integrator is Euler's)."""
    return np.array([getattr(env, n) for n in PHYSICS], np.float64), env.kinematics_integrator == "euler"


def physics_tensor(tf, variable, K: int):
    """``cartpole_step``'s physics: a (9,) float64 variable's values broadcast to (9, K)."""
    return tf.tile(tf.reshape(variable.read_value(), [len(PHYSICS), 1]), [1, K])


def cartpole_step(tf, physics, euler: bool, state, action):
    """One step of gymnasium's CartPole for a batch: ``state`` (K, 4) float64 tensor,
    ``action`` (K,) int -> (next state (K, 4) float64, terminated (K,) bool). ``tf`` is the
    caller's TensorFlow API (``tensorflow.compat.v1`` or ``tensorflow``); the formulas and
    their order are gymnasium's (``LockstepCartPole.physics``).

    ``physics`` holds the values of ``PHYSICS`` broadcast to the batch, (9, K) float64,
    from a variable (``physics_tensor``), not constants: the graph optimizer rewrites
    ``x / constant`` as ``x * (1 / constant)`` (constant folding) and reorders a chain of
    products whose operands differ in shape (arithmetic optimization), and either rounds
    differently from gymnasium."""
    c = dict(zip(PHYSICS, tf.unstack(physics)))
    x, x_dot, theta, theta_dot = tf.unstack(state, axis=1)
    force = tf.where(tf.equal(action, 1), c["force_mag"], -c["force_mag"])
    costheta = tf.cos(theta)
    sintheta = tf.sin(theta)
    temp = (force + c["polemass_length"] * tf.square(theta_dot) * sintheta) / c["total_mass"]
    thetaacc = (c["gravity"] * sintheta - costheta * temp) / (
        c["length"] * (4.0 / 3.0 - c["masspole"] * tf.square(costheta) / c["total_mass"]))
    xacc = temp - c["polemass_length"] * thetaacc * costheta / c["total_mass"]
    tau = c["tau"]
    if euler:
        x = x + tau * x_dot
        x_dot = x_dot + tau * xacc
        theta = theta + tau * theta_dot
        theta_dot = theta_dot + tau * thetaacc
    else:  # semi-implicit euler
        x_dot = x_dot + tau * xacc
        x = x + tau * x_dot
        theta_dot = theta_dot + tau * thetaacc
        theta = theta + tau * theta_dot
    terminated = tf.logical_or(
        tf.logical_or(x < -c["x_threshold"], x > c["x_threshold"]),
        tf.logical_or(theta < -c["theta_threshold_radians"], theta > c["theta_threshold_radians"]))
    return tf.stack([x, x_dot, theta, theta_dot], axis=1), terminated
