"""One-step advantage actor-critic for CartPole, TF1 graph form.

Written as 2017-2018 TensorFlow code was: placeholders for a batch of transitions, one
ReLU trunk with two heads (policy logits and V(s)), the next states' values through the
same variables (``reuse=True``) under ``tf.stop_gradient``, a policy loss plus a value
loss minimised by one ``tf.train.AdamOptimizer``, ``tf.train.Saver`` checkpoints (by
``GraphProgram``), the old gym API (``reset -> obs``, ``step -> 4 values``, ``env.seed``).

TF 1.15 API only (``tensorflow.compat.v1``), so it also runs in the TF 1.15 image.

Deviations from what such code would have written, each for a reason:
* ``tf.layers.dense`` -> ``legacy_tf1.common.dense`` (same variables, names and math;
  ``tf.compat.v1.layers.dense`` raises under Keras 3).
* Actions are drawn from the policy's probabilities with a NumPy stream
  (``rng.random() >= P(left)``) rather than ``tf.multinomial``: both forms and both modes
  then draw the same numbers, so runs can be compared seed by seed.
* ``fast`` mode (tfrepro's): act from a NumPy copy of the weights (``pair.numpy_policy``)
  and run the update through a prepared callable (``GraphProgram.fast_update``); ``book``
  mode makes one ``sess.run`` per step to get the action probabilities and one
  ``sess.run`` with a ``feed_dict`` per update, as the code of the time did.
* Evaluation (both modes): the trained weights played from NumPy on
  ``test_episodes`` episodes (``tfrepro.core.envs.run_episodes``), the same test play for
  every run whatever the mode.

Bootstrapping: old gym's ``done`` is also True at the time limit (500 steps on v1);
TF1-era code treated it as a terminal state and so does this program (the TF2 port
copies it: ``done = terminated or truncated``).
"""
from __future__ import annotations

import time

import numpy as np
import tensorflow.compat.v1 as tf

from legacy_tf1.common import GraphProgram, as_float_obs, dense, episode_limit, old_gym_env
from tfrepro.core.envs import run_episodes
from tfrepro.core.protocol import RunResult, Transitions

try:  # installed: the package a2c_example
    from .pair import A2CConfig, numpy_policy
except ImportError:  # loaded beside pair.py by --program-file
    from pair import A2CConfig, numpy_policy


class ActorCritic(GraphProgram):
    """The graph. ``GraphProgram`` gives the rest of the agent protocol from the attributes
    set here: weights in creation order (trunk, policy, value; kernel then bias), ``forward``
    (``self.outputs`` on ``self.inputs``), ``loss_and_gradients`` and ``fast_update``
    (``self.feeds``, ``self.loss``, ``self.fast_training_op``), ``save``/``restore``."""

    def build(self, cfg: A2CConfig):
        # ---- a batch of transitions (s, a, r, done, s')
        self.states = tf.placeholder(tf.float32, shape=[None, 4], name="states")
        self.actions = tf.placeholder(tf.int32, shape=[None], name="actions")
        self.rewards = tf.placeholder(tf.float32, shape=[None], name="rewards")
        self.dones = tf.placeholder(tf.float32, shape=[None], name="dones")
        self.next_states = tf.placeholder(tf.float32, shape=[None, 4], name="next_states")

        def network(x, reuse=False):
            with tf.variable_scope("ac", reuse=reuse):
                hidden = dense(x, cfg.hidden, activation=tf.nn.relu, name="trunk")
                logits = dense(hidden, 2, name="policy")
                value = tf.squeeze(dense(hidden, 1, name="value"), axis=1)
                return logits, value

        self.logits, self.value = network(self.states)
        _, next_value = network(self.next_states, reuse=True)  # V(s'), same variables
        self.probs = tf.nn.softmax(self.logits)

        # ---- losses: one-step TD target, its advantage weights the policy's log-likelihood
        target = tf.stop_gradient(self.rewards + cfg.gamma * (1.0 - self.dones) * next_value)
        advantage = tf.stop_gradient(target - self.value)
        neg_log_prob = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=self.actions,
                                                                      logits=self.logits)
        self.policy_loss = tf.reduce_mean(advantage * neg_log_prob)
        self.value_loss = tf.reduce_mean(tf.square(target - self.value))
        self.loss = self.policy_loss + cfg.value_coef * self.value_loss
        self.train_op = tf.train.AdamOptimizer(cfg.learning_rate).minimize(self.loss)

        # ---- what GraphProgram's defaults read
        self.inputs = self.states
        self.outputs = [self.probs, self.value]  # forward(): P(a|s) (B, 2), V(s) (B,)
        self.feeds = Transitions(self.states, self.actions, self.rewards, self.dones, self.next_states)
        self.fast_training_op = self.train_op

    # -- book mode: the sess.run calls as the code of the time wrote them -------
    def action_probs(self, obs):
        return self.sess.run(self.probs, feed_dict={self.inputs: as_float_obs(obs)})[0]

    def book_update(self, batch: Transitions):
        loss, _ = self.sess.run([self.loss, self.train_op], feed_dict=self._feed(batch))
        return float(loss)


def train(agent: ActorCritic, cfg: A2CConfig, seed, rng, progress, mode):
    """``cfg.updates`` rollouts of ``cfg.rollout`` steps from one environment, carried across
    episode ends, one update per rollout. Returns (episode returns, env steps)."""
    env = old_gym_env(cfg.env_id)
    env.seed(seed)
    limit = episode_limit(cfg)
    obs, episode_return, episode_steps = env.reset(), 0.0, 0
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
            next_obs, reward, done, _ = env.step(action)
            episode_return, episode_steps, steps = episode_return + reward, episode_steps + 1, steps + 1
            done = done or episode_steps >= limit
            rows.append((obs, action, reward, done, next_obs))
            if done:
                returns.append(episode_return)
                obs, episode_return, episode_steps = env.reset(), 0.0, 0
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
    """Train (from ``load`` if given), save with ``tf.train.Saver`` to ``save``, test play."""
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
