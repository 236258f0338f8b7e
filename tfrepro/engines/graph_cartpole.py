"""Gymnasium's CartPole step as TensorFlow ops, and the in-graph frame loop of dqn-meertens's
``lockstep`` mode built on it (``frame_loop``; the driver is ``tfrepro.engines.meertens``).

``cartpole_step`` is gymnasium's CartPole step in float64, written once against the ops
both ``tensorflow.compat.v1`` and ``tensorflow`` have (the caller passes its module as
``tf``), in gymnasium's order of operations (``compat_tests/test_fused.py`` holds its
trajectories to gymnasium's, bit for bit). ``frame_loop`` is the frame loop both forms'
``LockstepDQN`` build, one ``tf.while_loop`` written once: each form passes how it reads its
weights and makes its update.
"""
from __future__ import annotations

import numpy as np

from ..core.lockstep import PACKED, LockstepCartPole

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


def stacked_q(tf, x, params):
    """K stacked Q networks (ReLU on every layer but the last) on inputs (K, N, 4): (K, N, A)."""
    for i in range(0, len(params) - 2, 2):
        x = tf.nn.relu(tf.add(tf.matmul(x, params[i]), params[i + 1][:, None, :]))
    return tf.add(tf.matmul(x, params[-2]), params[-1][:, None, :])


def packed_losses(tf, cfg, batch, params, target):
    """Each seed's loss (K,) on a packed batch (K, B, 11) (``lockstep.PACKED``):
    y = r if terminal else r + gamma * max_a' Q(s', a'), no gradient through y."""
    states, nextstates = batch[:, :, PACKED["states"]], batch[:, :, PACKED["next_states"]]
    actions = tf.cast(batch[:, :, PACKED["actions"]], tf.int32)
    rewards, terminals = batch[:, :, PACKED["rewards"]], batch[:, :, PACKED["terminals"]]
    qreward = tf.reduce_sum(stacked_q(tf, states, params) * tf.one_hot(actions, 2), axis=2)
    next_q = stacked_q(tf, nextstates, target if cfg.target_sync_every else params)
    fast_target = tf.stop_gradient(rewards + cfg.gamma * (1.0 - terminals) * tf.reduce_max(next_q, axis=2))
    return tf.reduce_mean(tf.square(fast_target - qreward), axis=1)  # one per seed


def frame_loop(tf, learn: bool, inputs, *, K: int, cap: int, physics, euler: bool, max_steps: int, replay,
               read_params, layout, train_step):
    """Frames ``first ..`` of K seeds in one ``tf.while_loop`` (``parallel_iterations=1``): each
    plays a frame of every seed (CartPole in float64, epsilon-greedy from the drawn uniforms),
    stores it in the replay memory held in the variable ``replay`` (K * cap rows, seed k's from
    k * cap), and with ``learn`` updates every seed's network on the drawn replay rows.
    ``inputs``: (first frame, env state (K, 4), episode steps (K,), explore (K, n), random
    actions (K, n), replay slots (K, n, B), start states (K, n, 4)), as
    ``tfrepro.engines.meertens.FusedDraws`` draws them; ``physics``: ``physics_tensor``'s.
    ``read_params()`` gives the stacked weights, ``layout(x, params)`` the Q values,
    ``train_step(batch, params)`` the losses (K,) and the update op. Returns (terminal (K, n),
    losses (K, n), env state, episode steps) after the last frame."""
    first, state0, steps0, explore, random_action, slots, starts = inputs
    n = tf.shape(explore)[1]
    rows = tf.range(K) * cap

    def body(i, state, steps, taken, terminals, losses):
        frame = first + i
        with tf.control_dependencies([i]):  # after the previous frame's update
            params = read_params()
        # ---- select an action and perform it
        obs = tf.cast(state, tf.float32)
        q = layout(obs[:, None, :], params)[:, 0, :]
        action = tf.where(explore[:, i], random_action[:, i], tf.argmax(q, axis=1, output_type=tf.int32))
        newstate, terminated = cartpole_step(tf, physics, euler, state, action)
        steps = steps + 1
        terminal = tf.logical_or(terminated, steps >= max_steps)
        reward = tf.where(terminal, tf.zeros([K]), tf.ones([K]))  # 0 on the step that ends it
        transition = tf.concat([obs, tf.cast(action, tf.float32)[:, None], reward[:, None],
                                tf.cast(terminal, tf.float32)[:, None], tf.cast(newstate, tf.float32)], axis=1)
        done = [tf.raw_ops.ResourceScatterUpdate(resource=replay.handle, indices=rows + frame % cap,
                                                 updates=transition)]
        loss = tf.zeros([K])
        # ---- learn on the drawn rows (the memory holds this frame's transition)
        if learn:
            with tf.control_dependencies(done):
                batch = tf.gather(replay, slots[:, i])
            loss, update = train_step(batch, params)
            done = [update]
        # ---- the next frame starts after this one's updates; a finished episode starts over
        # from the seed's next start state
        with tf.control_dependencies(done):
            restart = tf.broadcast_to(terminal[:, None], tf.shape(newstate))
            state = tf.where(restart, tf.gather(starts, taken, batch_dims=1), newstate)
            steps = tf.where(terminal, tf.zeros_like(steps), steps)
            taken = taken + tf.cast(terminal, tf.int32)
            return [i + 1, state, steps, taken, terminals.write(i, terminal), losses.write(i, loss)]

    out = tf.while_loop(lambda i, *_: i < n, body,
                        [tf.constant(0), state0, steps0, tf.zeros([K], tf.int32),
                         tf.TensorArray(tf.bool, size=n), tf.TensorArray(tf.float32, size=n)],
                        parallel_iterations=1)
    return [tf.transpose(out[4].stack()), tf.transpose(out[5].stack()), out[1], out[2]]
