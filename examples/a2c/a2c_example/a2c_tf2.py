"""One-step advantage actor-critic for CartPole, TF2 port of ``a2c_tf1``.

Eager TensorFlow 2 with Keras 3: a functional model with two outputs (policy logits and
V(s)) on one ReLU trunk, the loss under a ``tf.GradientTape``, Keras Adam, ``model.save``
to ``model.keras`` (by ``KerasProgram``), the gymnasium API.

What the port keeps from the TF1 form, on purpose:
* the same losses and the same layer order (trunk, policy, value), so that the weights
  map one to one (``tfrepro diff`` rung 1);
* ``done = terminated or truncated``: the TF1 form's old gym ``done`` was also True at the
  time limit and was bootstrapped as terminal; splitting them would be a better algorithm
  but another program;
* actions drawn from one NumPy stream (``rng.random() >= P(left)``), as the TF1 form does.

What it changes, as a port does: Keras Adam's own epsilon (1e-7; TF1's is 1e-8).
``tfrepro diff`` pairs it with TF1's epsilon for rung 4 (``modern_tf2.common.adam_tf1_epsilon``)
and shows the drift with ``--port-optimizer``.

Modes: ``book`` makes one eager model call per step and one eager tape per update;
``fast`` acts from a NumPy copy of the weights and updates in one ``tf.function``
(``KerasProgram.fast_update``).
"""
from __future__ import annotations

import time

import keras
import numpy as np
import tensorflow as tf

from modern_tf2.common import KerasProgram, as_float_obs, episode_limit
from tfrepro.core.envs import make, run_episodes
from tfrepro.core.protocol import RunResult, Transitions

try:  # installed: the package a2c_example
    from .pair import A2CConfig, numpy_policy
except ImportError:  # loaded beside pair.py by --program-file
    from pair import A2CConfig, numpy_policy


class ActorCritic(KerasProgram):
    """``KerasProgram`` gives weights, save/restore, ``loss_and_gradients`` and
    ``fast_update`` (a compiled tape of ``self.loss``) from ``self.model``,
    ``self.optimizer`` and ``loss``."""

    def build(self, cfg: A2CConfig):
        states = keras.Input(shape=(4,), name="states")
        hidden = keras.layers.Dense(cfg.hidden, activation="relu", name="trunk")(states)
        logits = keras.layers.Dense(2, name="policy")(hidden)
        value = keras.layers.Dense(1, name="value")(hidden)
        self.model = keras.Model(states, [logits, value], name="actor_critic")
        self.optimizer = keras.optimizers.Adam(learning_rate=cfg.learning_rate)  # the port's own
        self.optimizer.build(self.model.trainable_variables)

    def forward(self, obs):
        """As the TF1 form's: [P(a|s) (B, 2), V(s) (B,)] (the model gives logits and (B, 1))."""
        logits, value = self.model(np.asarray(obs, np.float32))
        return [tf.nn.softmax(logits).numpy(), value.numpy()[:, 0]]

    def loss(self, batch: Transitions):
        states, actions, rewards, dones, next_states = batch
        logits, value = self.model(states)
        value = value[:, 0]
        next_value = self.model(next_states)[1][:, 0]
        dones = tf.cast(dones, tf.float32)  # the batch's terminals are bool
        target = tf.stop_gradient(rewards + self.cfg.gamma * (1.0 - dones) * next_value)
        advantage = tf.stop_gradient(target - value)
        neg_log_prob = tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=tf.cast(actions, tf.int32), logits=logits)
        policy_loss = tf.reduce_mean(advantage * neg_log_prob)
        value_loss = tf.reduce_mean(tf.square(target - value))
        return policy_loss + self.cfg.value_coef * value_loss

    # -- book mode: eager calls, as a TF2 tutorial writes them ----------------
    def action_probs(self, obs):
        logits, _ = self.model(as_float_obs(obs))
        return tf.nn.softmax(logits)[0].numpy()

    def book_update(self, batch: Transitions):
        batch = self._tensors(batch)
        with tf.GradientTape() as tape:
            loss = self.loss(batch)
        grads = tape.gradient(loss, self.model.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.model.trainable_variables))
        return float(loss)


def train(agent: ActorCritic, cfg: A2CConfig, seed, rng, progress, mode):
    """``cfg.updates`` rollouts of ``cfg.rollout`` steps from one environment, carried across
    episode ends, one update per rollout. Returns (episode returns, env steps)."""
    env = make(cfg.env_id)
    limit = episode_limit(cfg)
    (obs, _), episode_return, episode_steps = env.reset(seed=seed), 0.0, 0
    returns, steps = [], 0
    act = numpy_policy(agent.weights()) if mode == "fast" else None
    for _ in progress(range(cfg.updates)):
        rows = []
        for _ in range(cfg.rollout):
            if mode == "book":
                p = agent.action_probs(obs)
                action = int(rng.random() >= p[0])
            else:
                action = int(act(as_float_obs(obs), rng)[0])
            next_obs, reward, terminated, truncated, _ = env.step(action)
            episode_return, episode_steps, steps = episode_return + reward, episode_steps + 1, steps + 1
            done = terminated or truncated or episode_steps >= limit  # the TF1 form's done
            rows.append((obs, action, reward, done, next_obs))
            if done:
                returns.append(episode_return)
                (obs, _), episode_return, episode_steps = env.reset(), 0.0, 0
            else:
                obs = next_obs
        batch = Transitions.of(rows)
        if mode == "book":
            agent.book_update(batch)
        else:
            _, weights = agent.fast_update(batch)
            act = numpy_policy(weights)
    env.close()
    return returns, steps


def run(cfg: A2CConfig, *, mode="fast", seed=0, save=None, load=None, progress=None, rng=None):
    """Train (from ``load`` if given), ``model.save`` to ``save``, test play."""
    if mode not in ("book", "fast"):
        raise ValueError(f"mode {mode!r}: this program has book and fast modes")
    progress = progress or (lambda it: it)
    rng = rng if rng is not None else np.random.default_rng(seed)
    with ActorCritic(cfg, seed) as agent:
        if load:
            agent.restore(load)
        t0 = time.perf_counter()
        train_returns, steps = train(agent, cfg, seed, rng, progress, mode)
        train_wall = time.perf_counter() - t0
        if save:
            agent.save(save)
        weights = agent.weights()
    eval_returns, eval_steps = run_episodes(numpy_policy(weights), cfg.env_id, cfg.test_episodes,
                                            seed=seed + 10_000, max_steps=cfg.max_steps or None, rng=rng)
    return RunResult(train_returns=[float(x) for x in train_returns],
                     eval_returns=[float(x) for x in eval_returns],
                     env_steps=steps + int(eval_steps), train_env_steps=steps, updates=cfg.updates,
                     episodes_per_iteration=1, train_wall_s=train_wall, weights=weights)
