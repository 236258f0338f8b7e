"""What the TF1 graph forms' ``fast`` and ``lockstep`` modes add (not in the sources).
``FastDQN``: dqn-meertens's fast update, mixed into its ``DQN``. The ``lockstep`` engines: K
seeds of a program in one graph, every variable stacked on a leading seed axis, each seed's
update its lone ``fast`` run's: ``LockstepPolicy`` (pg-tang, pg-geron), ``LockstepImitation``
(imitation-policy), ``LockstepDQN`` (dqn-meertens, with its frame loop in the graph). The
drivers that feed them are framework-free (``tfrepro.engines``); the TF2 ports' are
``modern_tf2/engines.py``, class for class and method for method.

One design in both forms, but for one difference: here ``LockstepDQN`` keeps one stacked
variable per layer (W1 is (K, 4, 16)), which a session callable reads at no cost per
variable; the TF2 engine holds all layers in one flat (K, P) variable, since every variable
a ``tf.function`` captures costs its call time. RMSProp works element by element, so the two
layouts update the same numbers.
"""
from __future__ import annotations

import numpy as np
import tensorflow.compat.v1 as tf

from legacy_tf1.common import GraphProgram, graph_callable
from tfrepro.core.configs import MeertensDQNConfig
from tfrepro.core.lockstep import PACKED_WIDTH, LockstepCartPole, initial_weights, pack_transitions
from tfrepro.engines.graph_cartpole import cartpole_constants, frame_loop, packed_losses, physics_tensor, stacked_q
from tfrepro.engines.imitation import EachImitation
from tfrepro.engines.meertens import EachDQN
from tfrepro.engines.reinforce import EachPolicy



class FastPylessons:
    """dqn-pylessons's ``fast`` mode (not in the source), mixed into its ``DQNAgent``: the
    target rows, the update and the new weights in one call of the Keras 2 model's graph
    (Keras 2.2.4's RMSprop through ``get_updates``), built on the first call."""

    _fast = None

    def _build_fast(self):
        with self.keras_scope():
            s = tf.placeholder(tf.float32, [None, 4], name="fast_state")
            a = tf.placeholder(tf.int32, [None], name="fast_action")
            r = tf.placeholder(tf.float32, [None], name="fast_reward")
            d = tf.placeholder(tf.float32, [None], name="fast_done")
            s2 = tf.placeholder(tf.float32, [None, 4], name="fast_next_state")
            q = self.model(s)
            # y = r if done else r + gamma * max_a' Q(s', a'); other columns keep Q(s)
            y = r + self.gamma * (1.0 - d) * tf.reduce_max(self.model(s2), axis=1)
            mask = tf.one_hot(a, 2)
            target = tf.stop_gradient(q * (1.0 - mask) + mask * y[:, None])
            loss = tf.reduce_mean(tf.square(target - q))  # Keras "mse", averaged as fit does
            self._loss_grads = self.sess.make_callable([loss] + tf.gradients(loss, self.params),
                                                       [s, a, r, d, s2])  # for `tfrepro diff`
            updates = self.model.optimizer.get_updates(loss, self.params)
            with tf.control_dependencies(updates):
                after = [tf.identity(v.read_value()) for v in self.params]
            self.sess.run(tf.variables_initializer(
                [v for v in tf.global_variables() if not self.sess.run(tf.is_variable_initialized(v))]))
            # TensorFlow's callable API (graph_callable): sess.make_callable with feeds is sess.run
            self._fast = graph_callable(self.sess, [s, a, r, d, s2], [loss] + after)

    def fast_update(self, batch):
        """``Transitions`` -> target, update and new weights in one call: (loss, weights)."""
        state, action, reward, done, next_state = batch
        if self._fast is None:
            self._build_fast()
        out = self._fast(state, action, reward, done.astype(np.float32), next_state)
        return out[0], out[1:]

    def loss_and_gradients(self, batch):
        """The fast update's loss and gradients on ``Transitions``, without updating."""
        state, action, reward, done, next_state = batch
        if self._fast is None:
            self._build_fast()
        out = self._loss_grads(state, action, reward, done.astype(np.float32), next_state)
        return float(out[0]), out[1:]


class LockstepPolicy(EachPolicy, GraphProgram):
    """``lockstep`` mode of the REINFORCE programs (not in the sources): K seeds' policy
    networks (4 -> hidden -> 1 logit) in one graph, every variable stacked on a leading
    seed axis, and each seed's fast update in one ``sess.run``: Adam on the mean over that
    seed's steps of weight * sigmoid cross-entropy(logits, 1 - action), the program's own
    ``fast_update`` loss. The loss is the sum of the K seeds' losses, whose gradient with
    respect to seed k's slice is seed k's own; Adam works element by element. Batches come
    padded to the longest seed's (K, T) with zero weights. Seed k starts from the weights
    ``lone_class(cfg, seed_k)`` draws."""

    def __init__(self, cfg, seeds, lone_class, activation):
        self.K, self.activation, self.lone_class = len(seeds), activation, lone_class
        super().__init__(cfg, int(seeds[0]))
        self.set_weights(initial_weights(lone_class, cfg, seeds))

    def build(self, cfg):
        K, act = self.K, {"relu": tf.nn.relu, "elu": tf.nn.elu}[self.activation]
        self.inputs = tf.placeholder(tf.float32, shape=[K, None, 4], name="inputs")
        self.batch_actions = tf.placeholder(tf.int64, shape=[K, None], name="batch_actions")
        self.batch_weights = tf.placeholder(tf.float32, shape=[K, None], name="batch_weights")
        self.batch_steps = tf.placeholder(tf.float32, shape=[K], name="batch_steps")
        x = self.stacked_logits(self.inputs, cfg.hidden, act)
        labels = 1.0 - tf.to_float(self.batch_actions)[..., None]
        xent = tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=x)[..., 0]
        losses = tf.reduce_sum(self.batch_weights * xent, axis=1) / self.batch_steps
        self.fast_training_op = tf.train.AdamOptimizer(cfg.learning_rate).minimize(tf.reduce_sum(losses))

    def stacked_logits(self, x, hidden, activation):
        """The K policy networks (4 -> hidden -> 1 logit, the lone programs' variable names),
        every variable stacked on a leading seed axis, on inputs (K, T, 4): logits (K, T, 1)."""
        for scope, units, act in (("dense", hidden, activation), ("dense_1", 1, None)):
            with tf.variable_scope(scope):
                kernel = tf.get_variable("kernel", [self.K, int(x.shape[-1]), units],
                                         initializer=tf.zeros_initializer())
                bias = tf.get_variable("bias", [self.K, units], initializer=tf.zeros_initializer())
                x = tf.matmul(x, kernel) + bias[:, None, :]
                x = act(x) if act is not None else x
        return x

    def fast_update(self, obs, actions, weights, steps):
        """Every seed's update in one call, on (K, T, ...) batches; returns the new stacked weights."""
        if not hasattr(self, "_call"):
            self._call = graph_callable(self.sess, [self.inputs, self.batch_actions, self.batch_weights,
                                                    self.batch_steps], self.params_after, self.fast_training_op)
        return self._call(obs, actions, weights, steps)

    def lone(self, k):
        """Seed k's network as a program of its own (to save it)."""
        agent = self.lone_class(self.cfg, 0)
        agent.set_weights([w[k] for w in self.weights()])
        return agent


class LockstepImitation(EachImitation, LockstepPolicy):
    """``lockstep`` mode (not in the source): K seeds' 4-4-1 networks in one graph, every
    variable stacked on a leading seed axis, and one ``sess.run`` per environment step
    that returns every seed's P(left) from its weights before the step and makes each
    seed's Adam step on its own observation: the source's ``minimize(cross_entropy)`` per
    seed (the loss is the sum of the K seeds' cross-entropies, whose gradient with respect
    to seed k's slice is seed k's own; Adam works element by element and every seed has
    made the same number of steps). The labels are the source's, ``1 if angle < 0``,
    computed in the graph. Actions are drawn outside
    (``tfrepro.engines.imitation.imitation_lockstep``)."""

    def __init__(self, cfg, seeds, lone_class, activation="relu"):
        super().__init__(cfg, seeds, lone_class, activation)

    def build(self, cfg):
        self.inputs = tf.placeholder(tf.float32, shape=[self.K, None, 4], name="inputs")
        x = self.stacked_logits(self.inputs, cfg.hidden, {"relu": tf.nn.relu, "elu": tf.nn.elu}[self.activation])
        self.p_left = tf.nn.sigmoid(x)[:, 0, 0]
        y = tf.to_float(self.inputs[:, :, 2:3] < 0)  # the source's y_target: 1. if obs[2] < 0 else 0.
        cross_entropy = tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=x)
        with tf.control_dependencies([self.p_left]):  # P(left) from the weights before the step
            self.fast_training_op = tf.train.AdamOptimizer(cfg.learning_rate).minimize(
                tf.reduce_sum(cross_entropy))

    def step(self, obs):
        """Every seed's P(left) (K,) before, and its update on, its observation (K, 1, 4)."""
        if not hasattr(self, "_step"):
            self._step = graph_callable(self.sess, [self.inputs], [self.p_left], self.fast_training_op)
        return self._step(obs)[0]

    def set_stacked(self, weights):
        self.set_weights(weights)


class FastDQN:
    """dqn-meertens's ``fast`` mode (not in the source), mixed into its ``DQN``: the Bellman
    target in the graph, so one call per frame computes it, trains, and returns the new
    weights."""

    def build_fast(self, cfg, qreward, target, rmsprop):
        """The fast update on the online network's ``qreward`` with the program's RMSProp:
        y = r if terminal else r + gamma * max_a' Q(s', a'), no gradient through y."""
        self.fast_nextstate = tf.placeholder(tf.float32, [None, 4], name="fast_nextstate")
        self.fast_terminal = tf.placeholder(tf.float32, [None], name="fast_terminal")
        next_q = self._layout(self.fast_nextstate, target if cfg.target_sync_every else self.weights_)
        fast_target = tf.stop_gradient(self.networkreward + cfg.gamma * (1.0 - self.fast_terminal)
                                       * tf.reduce_max(next_q, axis=1))
        self.fast_loss = tf.reduce_mean(tf.square(fast_target - qreward))
        self.fast_grads = tf.gradients(self.fast_loss, self.weights_)  # for `tfrepro diff`
        self.fast_training_op = rmsprop.minimize(self.fast_loss, var_list=self.weights_)

    def fast_update(self, batch):
        """Target, update and new weights in one call on ``Transitions``: (loss, weights).
        ``graph_callable`` skips ``sess.run``'s per-call fetch and feed bookkeeping, most of
        the cost of a call on a network this small."""
        if not hasattr(self, "_fast_call"):
            feeds = [self.networkstate, self.networkaction, self.networkreward,
                     self.fast_terminal, self.fast_nextstate]
            self._fast_call = graph_callable(self.sess, feeds, [self.fast_loss] + list(self.params_after),
                                             self.fast_training_op)
        out = self._fast_call(*batch)
        return out[0], out[1:]

    def loss_and_gradients(self, batch):
        """The fast update's loss and gradients on ``Transitions``, without updating."""
        states, actions, rewards, terminals, nextstates = batch
        out = self.sess.run([self.fast_loss] + self.fast_grads, {
            self.networkstate: states, self.networkaction: actions, self.networkreward: rewards,
            self.fast_terminal: terminals.astype(np.float32), self.fast_nextstate: nextstates})
        return float(out[0]), out[1:]


class LockstepDQN(EachDQN, GraphProgram):
    """``lockstep`` mode (not in the source): the fast update of K seeds' networks and the
    frame loop of all K in a ``tf.while_loop`` (``fused_frames``), up to 1000 frames per
    call. Every variable is stacked on a leading seed axis (W1 is (K, 4, 16)).
    The loss is the sum of the K seeds' losses, whose gradient with respect to seed k's
    weights is seed k's own gradient; RMSProp works element by element.
    Seed k starts from the weights ``lone_class(cfg, seed_k)`` draws (the program's ``DQN``)."""

    def __init__(self, cfg: MeertensDQNConfig, seeds, lone_class):
        self.K = len(seeds)
        super().__init__(cfg, int(seeds[0]))
        self.set_weights(initial_weights(lone_class, cfg, seeds))
        self.sess.run(self.sync_target_op)

    def build(self, cfg: MeertensDQNConfig):
        K, sizes = self.K, (4,) + tuple(cfg.hidden) + (2,)
        # ---- one batch per seed, fed as one packed array (K, B, 11) (lockstep.PACKED)
        self.batch = tf.placeholder(tf.float32, [K, None, PACKED_WIDTH], name="packed_batch")

        # ---- the variables of K networks (and K target networks), stacked
        self.weights_, self.target_ = [], []
        for k, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
            self.weights_ += [tf.Variable(tf.zeros([K, n_in, n_out]), name="W%d" % k),
                              tf.Variable(tf.zeros([K, n_out]), name="B%d" % k)]
        with tf.variable_scope("target"):
            for v in self.weights_:
                self.target_.append(tf.Variable(tf.zeros(v.shape), trainable=False, name=v.op.name))
        self.sync_target_op = tf.group(*[t.assign(v) for t, v in zip(self.target_, self.weights_)])

        # ---- the fast update of every seed
        self.losses = self._losses(cfg, self.batch, self.weights_, self.target_)
        self.rmsprop = tf.train.RMSPropOptimizer(cfg.learning_rate)
        self.fast_training_op = self.rmsprop.minimize(tf.reduce_sum(self.losses), var_list=self.weights_)

        # ---- fused mode: the frame loop itself in the graph (tfrepro.engines.meertens)
        self._build_fused(cfg)

    @staticmethod
    def _layout(x, params):
        return stacked_q(tf, x, params)

    def _losses(self, cfg, batch, params, target):
        return packed_losses(tf, cfg, batch, params, target)

    def _train_step(self, cfg, batch, params):
        """One fast update of every seed on a packed batch: (the losses (K,), the update)."""
        losses = self._losses(cfg, batch, params, [t.read_value() for t in self.target_])
        grads = tf.gradients(tf.reduce_sum(losses), params)
        return losses, self.rmsprop.apply_gradients(list(zip(grads, self.weights_)))

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
        self.fused_in = [tf.placeholder(tf.int32, [], name="first_frame"),
                         tf.placeholder(tf.float64, [K, 4], name="env_state"),
                         tf.placeholder(tf.int32, [K], name="episode_steps"),
                         tf.placeholder(tf.bool, [K, None], name="explore"),
                         tf.placeholder(tf.int32, [K, None], name="random_action"),
                         tf.placeholder(tf.int32, [K, None, cfg.batch_size], name="replay_slots"),
                         tf.placeholder(tf.float64, [K, None, 4], name="start_states")]

        def frames(learn):
            physics = physics_tensor(tf, physics_variable, K)
            return frame_loop(tf, learn, self.fused_in, K=K, cap=cap, physics=physics, euler=euler,
                              max_steps=max_steps, replay=self.replay,
                              read_params=lambda: [v.read_value() for v in self.weights_], layout=self._layout,
                              train_step=lambda batch, params: self._train_step(cfg, batch, params))

        self.fused_out = [frames(False), frames(True)]

    def fused_frames(self, first, learn, state, steps, explore, random_action, slots, starts):
        """Frames ``first ..`` (as many as ``explore`` has columns) of every seed in one call,
        with the draws of ``tfrepro.engines.meertens.FusedDraws``: (terminal (K, n) bool, losses (K, n),
        env state, episode steps) after the last frame."""
        if not hasattr(self, "_fused_calls"):
            self._fused_calls = [graph_callable(self.sess, self.fused_in, out) for out in self.fused_out]
        return self._fused_calls[int(learn)](first, state, steps, explore, random_action, slots, starts)

    def fast_update_packed(self, batch):
        """Every seed's target and update in one call on a packed batch (K, B, 11):
        (losses (K,), stacked weights)."""
        if not hasattr(self, "_call"):
            self._call = graph_callable(self.sess, [self.batch], [self.losses] + list(self.params_after),
                                        self.fast_training_op)
        out = self._call(batch)
        return out[0], out[1:]

    def fast_update(self, batch):
        """``fast_update_packed`` on ``Transitions`` of (K, B, ...) arrays."""
        return self.fast_update_packed(pack_transitions(*batch))

    def sync_target(self):
        self.sess.run(self.sync_target_op)

    def lone(self, k):
        """Seed k's network as a ``DQN`` of its own (to save it or play it)."""
        agent = self.lone_class(self.cfg, 0)
        agent.set_weights([w[k] for w in self.weights()])
        return agent
