"""What the TF2 ports' ``fast`` and ``lockstep`` modes add (not in the sources). ``FastDQN``:
dqn-meertens's fast update, mixed into its ``DQN``. The ``lockstep`` engines: K seeds of a
program as stacked variables with a leading seed axis, each seed's update its lone ``fast``
run's, in one compiled call: ``LockstepPolicy`` (pg-tang, pg-geron), ``LockstepImitation``
(imitation-policy), ``LockstepDQN`` (dqn-meertens, with its frame loop in the graph). The
drivers that feed them are framework-free (``tfrepro.engines``); the TF1 graph forms' are
``legacy_tf1/engines.py``, class for class and method for method.

One design in both forms, but for one difference: here ``LockstepDQN`` holds all layers in
one flat (K, P) variable, since every variable a ``tf.function`` captures costs its call
time; the TF1 engine keeps one stacked variable per layer, which a session callable reads at
no cost per variable. RMSProp works element by element, so the two layouts update the same
numbers.
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf

from modern_tf2.common import stacked_variable, traced
from modern_tf2.tf1_rmsprop import TF1RMSprop
from tfrepro.core.configs import MeertensDQNConfig
from tfrepro.core.lockstep import PACKED_WIDTH, LockstepCartPole, initial_weights, pack_transitions
from tfrepro.core.protocol import AgentBase
from tfrepro.engines.graph_cartpole import cartpole_constants, frame_loop, packed_losses, physics_tensor, stacked_q
from tfrepro.engines.imitation import EachImitation
from tfrepro.engines.meertens import EachDQN
from tfrepro.engines.reinforce import EachPolicy


class FastPylessons:
    """dqn-pylessons's ``fast`` mode (not in the source), mixed into its ``DQNAgent``: the
    target rows, the update and the new weights in one compiled call (the program's
    ``Keras2RMSprop``), traced on the first call."""

    _fast_call = None

    @tf.function(reduce_retracing=True)
    def _loss_grads(self, s, a, r, d, s2):
        # y = r if done else r + gamma * max_a' Q(s', a'); other columns keep Q(s)
        y = r + self.gamma * (1.0 - d) * tf.reduce_max(self.model(s2), axis=1)
        mask = tf.one_hot(a, 2)
        with tf.GradientTape() as tape:
            q = self.model(s)
            target = tf.stop_gradient(q * (1.0 - mask) + mask * y[:, None])
            loss = tf.reduce_mean(tf.square(target - q))  # Keras "mse", averaged as fit does
        return loss, tape.gradient(loss, self.model.trainable_variables)

    @tf.function(reduce_retracing=True)
    def _fast_train(self, s, a, r, d, s2):
        loss, grads = self._loss_grads(s, a, r, d, s2)
        self.optimizer.apply_gradients(zip(grads, self.model.trainable_variables))
        return loss, [tf.identity(v) for v in self.model.trainable_variables]

    def fast_update(self, batch):
        """``Transitions`` -> target, update and new weights in one call: (loss, weights)."""
        state, action, reward, done, next_state = batch
        if self._fast_call is None:
            self._fast_call = traced(self._fast_train)
        loss, weights = self._fast_call(
            tf.constant(state, tf.float32), tf.constant(action, tf.int32), tf.constant(reward, tf.float32),
            tf.constant(done.astype(np.float32)), tf.constant(next_state, tf.float32))
        return float(loss), [w.numpy() for w in weights]

    def loss_and_gradients(self, batch):
        """The fast update's loss and gradients on ``Transitions``, without updating."""
        state, action, reward, done, next_state = batch
        loss, grads = self._loss_grads(
            tf.constant(state, tf.float32), tf.constant(action, tf.int32), tf.constant(reward, tf.float32),
            tf.constant(done.astype(np.float32)), tf.constant(next_state, tf.float32))
        return float(loss), [g.numpy() for g in grads]


class LockstepPolicy(EachPolicy, AgentBase):
    """``lockstep`` mode of the REINFORCE programs (not in the sources): K seeds' policy
    networks (4 -> hidden -> 1 logit) as stacked variables with a leading seed axis, and
    each seed's fast update in one compiled call: the program's own optimizer on the mean
    over that seed's steps of weight * sigmoid cross-entropy(logits, 1 - action), the loss
    its ``fast_update`` computes (Keras's binary cross-entropy of a sigmoid Dense finds these
    logits). The loss is the sum of the K seeds' losses, whose gradient with respect to
    seed k's slice is seed k's own; Adam works element by element. Batches come padded to
    the longest seed's (K, T) with zero weights. Seed k starts from the weights
    ``lone_class(cfg, seed_k)`` draws."""

    def __init__(self, cfg, seeds, lone_class, activation):
        self.cfg, self.K, self.lone_class = cfg, len(seeds), lone_class
        self.activation = {"relu": tf.nn.relu, "elu": tf.nn.elu}[activation]
        stacked = initial_weights(lone_class, cfg, seeds)
        self.variables = [stacked_variable(w, f"stacked_{i}") for i, w in enumerate(stacked)]
        optimizer = lone_class(cfg, int(seeds[0])).optimizer  # the same optimizer, settings and all
        self.optimizer = type(optimizer).from_config(optimizer.get_config())
        self.optimizer.build(self.variables)

    def stacked_logits(self, obs):
        """The K policy networks on inputs (K, T, 4): logits (K, T, 1)."""
        kernel, bias, out_kernel, out_bias = self.variables
        hidden = self.activation(tf.matmul(obs, kernel) + bias[:, None, :])
        return tf.matmul(hidden, out_kernel) + out_bias[:, None, :]

    @tf.function(reduce_retracing=True)
    def _fast_update(self, obs, actions, weights, steps):
        with tf.GradientTape() as tape:
            logits = self.stacked_logits(obs)
            labels = 1.0 - tf.cast(actions, tf.float32)[..., None]
            xent = tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits)[..., 0]
            loss = tf.reduce_sum(tf.reduce_sum(weights * xent, axis=1) / steps)
        grads = tape.gradient(loss, self.variables)
        self.optimizer.apply_gradients(zip(grads, self.variables))
        return [tf.identity(v) for v in self.variables]

    def fast_update(self, obs, actions, weights, steps):
        """Every seed's update in one call, on (K, T, ...) batches; returns the new stacked weights."""
        out = self._fast_update(tf.constant(obs, tf.float32), tf.constant(actions, tf.int64),
                                tf.constant(weights, tf.float32), tf.constant(steps, tf.float32))
        return [w.numpy() for w in out]

    def weights(self):
        return [v.numpy() for v in self.variables]

    def lone(self, k):
        """Seed k's network as a program of its own (to save it)."""
        agent = self.lone_class(self.cfg, 0)
        agent.set_weights([w[k] for w in self.weights()])
        return agent


class LockstepImitation(EachImitation, LockstepPolicy):
    """``lockstep`` mode (not in the source): K seeds' 4-4-1 networks as stacked variables
    with a leading seed axis, and one compiled call per environment step
    that returns every seed's P(left) from its weights before the step and makes each
    seed's Adam step on its own observation: the source's ``minimize(cross_entropy)`` per
    seed (the loss is the sum of the K seeds' cross-entropies, whose gradient with respect
    to seed k's slice is seed k's own; Adam works element by element and every seed has
    made the same number of steps). The labels are the source's, ``1 if angle < 0``,
    computed in the graph. Actions are drawn outside
    (``tfrepro.engines.imitation.imitation_lockstep``)."""

    def __init__(self, cfg, seeds, lone_class, activation="relu"):
        super().__init__(cfg, seeds, lone_class, activation)
        self._call = None

    @tf.function(jit_compile=True, reduce_retracing=True)
    def _step(self, obs):
        y = tf.cast(obs[:, :, 2:3] < 0, tf.float32)  # the source's y_target: 1. if obs[2] < 0 else 0.
        with tf.GradientTape() as tape:
            logits = self.stacked_logits(obs)
            cross_entropy = tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=logits)
            loss = tf.reduce_sum(cross_entropy)
        p_left = tf.nn.sigmoid(logits)[:, 0, 0]  # from the weights before the update below
        grads = tape.gradient(loss, self.variables)
        self.optimizer.apply_gradients(zip(grads, self.variables))
        return p_left

    def step(self, obs):
        """Every seed's P(left) (K,) before, and its update on, its observation (K, 1, 4)."""
        obs = tf.constant(obs, tf.float32)
        if self._call is None:  # the traced function itself: no signature matching per call
            self._call = self._step.get_concrete_function(obs)
        return self._call(obs).numpy()

    def set_stacked(self, weights):
        for v, w in zip(self.variables, weights):
            v.assign(w)


class FastDQN:
    """dqn-meertens's ``fast`` mode (not in the source), mixed into its ``DQN``: the Bellman
    target in the graph, so one call per frame computes it, trains, and returns the new
    weights."""

    def _fast_targets(self, rewards, terminals, nextstates, use_target):
        # y = r if terminal else r + gamma * max_a' Q(s', a'), no gradient through y
        next_q = self.target(nextstates) if use_target else self.model(nextstates)
        return tf.stop_gradient(rewards + self.cfg.gamma * (1.0 - terminals) * tf.reduce_max(next_q, axis=1))

    @tf.function(reduce_retracing=True)
    def _fast_train(self, states, actions, rewards, terminals, nextstates, use_target):
        loss = self._train(states, actions, self._fast_targets(rewards, terminals, nextstates, use_target))
        return loss, [tf.identity(v) for v in self.model.trainable_variables]

    def fast_update(self, batch):
        """Target, update and new weights in one compiled call on ``Transitions``: (loss, weights)."""
        states, actions, rewards, terminals, nextstates = batch
        loss, weights = self._fast_train(
            tf.constant(states, tf.float32), tf.constant(actions, tf.int32),
            tf.constant(rewards, tf.float32), tf.constant(terminals, tf.float32),
            tf.constant(nextstates, tf.float32), tf.constant(bool(self.cfg.target_sync_every)))
        return float(loss), [w.numpy() for w in weights]

    def loss_and_gradients(self, batch):
        """The fast update's loss and gradients on ``Transitions``, without updating."""
        states, actions, rewards, terminals, nextstates = batch
        targets = self._fast_targets(tf.constant(rewards, tf.float32), tf.constant(terminals.astype(np.float32)),
                                     tf.constant(nextstates, tf.float32), bool(self.cfg.target_sync_every))
        with tf.GradientTape() as tape:
            q = tf.reduce_sum(self.model(tf.constant(states, tf.float32)) * tf.one_hot(actions, 2), axis=1)
            loss = tf.reduce_mean(tf.square(targets - q))
        return float(loss), [g.numpy() for g in tape.gradient(loss, self.model.trainable_variables)]


class LockstepDQN(EachDQN, AgentBase):
    """``lockstep`` mode (not in the source): the fast update of K seeds' networks and the
    frame loop of all K in a ``tf.while_loop`` (``fused_frames``), up to 1000 frames per
    call. Each seed's weights are one row of a (K, P) variable (P = 4·16 + 16 +
    ... + 2, the layers flattened in order), each layer a reshaped slice of it (W1 is
    (K, 4, 16)): one variable, one target and one RMSProp slot instead of eight of each,
    since every captured variable costs the call time.
    The loss is the sum of the K seeds' losses, whose gradient with respect to seed k's
    weights is seed k's own gradient; RMSProp works element by element.
    A flat variable is therefore updated as the layers would be.
    Seed k starts from the weights ``lone_class(cfg, seed_k)`` draws (the program's ``DQN``)."""

    def __init__(self, cfg: MeertensDQNConfig, seeds, lone_class):
        self.cfg, self.K = cfg, len(seeds)
        stacked = initial_weights(lone_class, cfg, seeds)
        ends = np.cumsum([0] + [w[0].size for w in stacked])
        self._layers = [(a, b, w.shape[1:]) for a, b, w in zip(ends[:-1], ends[1:], stacked)]
        flat = np.concatenate([w.reshape(self.K, -1) for w in stacked], axis=1)
        self.theta = stacked_variable(flat, "stacked_weights")
        self.target = stacked_variable(flat, "target_weights", trainable=False)
        self.optimizer = TF1RMSprop(cfg.learning_rate)
        self.optimizer.build([self.theta])
        self._call = None
        # ---- fused mode: the frame loop itself in the graph (tfrepro.engines.meertens)
        self._build_fused(cfg)

    def _params(self, theta):
        """The layers' stacked weights, each a reshaped slice of ``theta`` (K, P)."""
        return [tf.reshape(theta[:, a:b], (self.K,) + tuple(shape)) for a, b, shape in self._layers]

    @staticmethod
    def _layout(x, params):
        return stacked_q(tf, x, params)

    def _losses(self, cfg, batch, params, target):
        return packed_losses(tf, cfg, batch, params, target)

    def _train_step(self, cfg, batch):
        """One fast update of every seed on a packed batch: (the losses (K,), the update)."""
        with tf.GradientTape() as tape:
            losses = self._losses(cfg, batch, self._params(self.theta), self._params(self.target))
            grads = tape.gradient(tf.reduce_sum(losses), self.theta)
        return losses, self.optimizer.apply_gradients([(grads, self.theta)])

    @tf.function(jit_compile=True, reduce_retracing=True)
    def _fast_train(self, batch):
        # one packed batch (K, B, 11) (lockstep.PACKED): one tensor in per call
        losses, _ = self._train_step(self.cfg, batch)
        # the losses and the new weights in one flat tensor: one copy out per call
        return tf.concat([losses, tf.reshape(self.theta, [-1])], axis=0)

    def _build_fused(self, cfg: MeertensDQNConfig):
        """The frame loop itself (tfrepro.engines.meertens): two ``graph_cartpole.frame_loop``s, for the frames
        before learning starts and after, whose body plays a frame of every seed (CartPole in
        float64, epsilon-greedy from the drawn uniforms), stores it in a replay memory held in
        a variable, and updates every seed's network on the drawn replay rows with the same
        RMSProp and its slots."""
        K, cap = self.K, cfg.memory
        env = LockstepCartPole(cfg.env_id, 1, [0])
        (physics, euler), max_steps = cartpole_constants(env), env.max_episode_steps
        # the physics as a variable, not constants the graph optimizer could fold (cartpole_step)
        physics_variable = tf.Variable(physics, trainable=False, name="cartpole_physics")
        self.replay = tf.Variable(tf.zeros([K * cap, PACKED_WIDTH]), trainable=False, name="replay")

        def frames(learn):
            @tf.function
            def call(*inputs):
                physics = physics_tensor(tf, physics_variable, K)
                return frame_loop(tf, learn, inputs, K=K, cap=cap, physics=physics, euler=euler,
                                  max_steps=max_steps, replay=self.replay,
                                  read_params=lambda: self._params(self.theta), layout=self._layout,
                                  train_step=lambda batch, params: self._train_step(cfg, batch))

            return call

        self.fused_out = [frames(False), frames(True)]

    def fused_frames(self, first, learn, state, steps, explore, random_action, slots, starts):
        """Frames ``first ..`` (as many as ``explore`` has columns) of every seed in one call,
        with the draws of ``tfrepro.engines.meertens.FusedDraws``: (terminal (K, n) bool, losses (K, n),
        env state, episode steps) after the last frame."""
        out = self.fused_out[int(learn)](
            tf.constant(first, tf.int32), tf.constant(state, tf.float64), tf.constant(steps, tf.int32),
            tf.constant(explore), tf.constant(random_action, tf.int32), tf.constant(slots, tf.int32),
            tf.constant(starts, tf.float64))
        return [x.numpy() for x in out]

    def fast_update_packed(self, batch):
        """Every seed's target and update in one call on a packed batch (K, B, 11):
        (losses (K,), stacked weights)."""
        # compiled (XLA: the update's ops fused, as a graph this small is all per-op overhead)
        batch = tf.constant(batch, tf.float32)
        if self._call is None:  # the traced function itself: no signature matching per call
            self._call = self._fast_train.get_concrete_function(batch)
        flat = self._call(batch).numpy()
        return flat[:self.K], self._split(flat[self.K:].reshape(self.K, -1))

    def fast_update(self, batch):
        """``fast_update_packed`` on ``Transitions`` of (K, B, ...) arrays."""
        return self.fast_update_packed(pack_transitions(*batch))

    def _split(self, theta):
        return [theta[:, a:b].reshape((self.K,) + tuple(shape)) for a, b, shape in self._layers]

    def weights(self):
        return self._split(self.theta.numpy())

    def sync_target(self):
        self.target.assign(self.theta)

    def lone(self, k):
        """Seed k's network as a ``DQN`` of its own (to save it or play it)."""
        agent = self.lone_class(self.cfg, 0)
        agent.set_weights([w[k] for w in self.weights()])
        return agent
