"""A neural network trained to imitate the hard-coded policy, TF1 graph form.

Source: Jeff Tang, *Intelligent Mobile Projects with TensorFlow* (Packt 2018), CartPole
chapter, ``nn_simple_policy.py`` (TF 1.6, gym 0.10): 4 -> 4 ReLU -> 1 logit, target
``y = 1 if angle < 0 else 0`` (the basic policy's P(left)), sigmoid cross-entropy,
``tf.train.AdamOptimizer(0.01).minimize``, one training step per environment step over
1000 episodes, then 1000 test episodes. The source reports 42.3 and 44.3. The TF1 graph
form is ``legacy_tf1/imitation_policy.py``, the TF2 port ``modern_tf2/imitation_policy.py``.
Code: https://github.com/PacktPublishing/Intelligent-Mobile-Projects-with-TensorFlow/blob/6f41debe99331173cd4c13c63111cd5380e4abe3/ch12/nn_simple_policy.py

What the port changes: nothing in this form, which keeps the source's framework:
placeholders, ``tf.multinomial`` action, ``minimize``, one ``sess.run`` per step,
``tf.train.Saver``, gym's 4-tuple API.

Deviations, each for a reason:
* The printed listing is cut off after ``y_target = np.array([[1. if obs[2]``; the
  comparison ``< 0`` is the basic policy's, which the text says it imitates.
* Acting and training share one call per step (a ``sess.run``; in the TF2 port one
  ``tf.function``); the training depends on the action so the action always comes from
  the weights *before* the step's update (without the dependency TF may run them in
  either order, which is not repeatable).
* ``fast`` mode: training stays one update per step (each action depends on the update
  before it, so there is nothing to batch); the 1000 test episodes run side by side on
  the vector CartPole with actions from NumPy.
* ``lockstep`` mode: the fast runs of many seeds, one update per step for all of them
  (``LockstepImitation``), actions drawn in NumPy: not each seed's lone draws.
* ``tf.layers.dense`` -> ``legacy_tf1.common.dense`` (same variables and math).
"""
from __future__ import annotations

import time

import numpy as np
import tensorflow.compat.v1 as tf

from legacy_tf1.common import GraphProgram, as_float_obs, dense, episode_limit, old_gym_env
from legacy_tf1.engines import LockstepImitation
from tfrepro.core.configs import ImitationConfig
from tfrepro.core.loops import evaluate_fast
from tfrepro.core.protocol import RunResult
from tfrepro.engines.imitation import imitation_results

ACTIVATION = "relu"


class ImitationPolicy(GraphProgram):
    def build(self, cfg: ImitationConfig):
        num_inputs = 4
        self.inputs = tf.placeholder(tf.float32, shape=[None, num_inputs], name="inputs")
        self.y = tf.placeholder(tf.float32, shape=[None, 1], name="y")
        hidden = dense(self.inputs, cfg.hidden, activation=tf.nn.relu)
        self.logits = dense(hidden, 1)
        self.outputs = tf.nn.sigmoid(self.logits)
        self.action = tf.multinomial(tf.log(tf.concat([self.outputs, 1 - self.outputs], 1)), 1)

        cross_entropy = tf.nn.sigmoid_cross_entropy_with_logits(labels=self.y, logits=self.logits)
        # not in the source: the mean loss on a batch's states against the source's labels, for
        # `tfrepro diff` (the agent protocol's default loss_and_gradients: self.feeds, self.loss)
        self.feeds = (self.inputs,)
        self.loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(
            labels=tf.to_float(self.inputs[:, 2:3] < 0), logits=self.logits))
        optimizer = tf.train.AdamOptimizer(cfg.learning_rate)
        with tf.control_dependencies([self.action]):
            self.training_op = optimizer.minimize(cross_entropy)

    def proba_left(self, obs):
        return self.sess.run(self.outputs, {self.inputs: obs})[:, 0]

    forward = proba_left

    def train_step(self, obs):
        y_target = np.array([[1. if obs[2] < 0 else 0.]])
        a, _ = self.sess.run([self.action, self.training_op],
                             feed_dict={self.inputs: as_float_obs(obs), self.y: y_target})
        return a

    def fast_update(self, batch):
        """One ``train_step`` per state of the batch, in order; returns (None, the weights)."""
        for obs in batch.states:
            self.train_step(obs)
        return None, self.weights()



def train(agent, cfg, seed, progress):
    env = old_gym_env(cfg.env_id)
    env.seed(seed)
    limit, returns, steps = episode_limit(cfg), [], 0
    for episode in progress(range(cfg.train_episodes)):
        obs = env.reset()
        rewards = 0
        while True:
            a = agent.train_step(obs)
            obs, reward, done, info = env.step(a[0][0])
            rewards += reward
            if done or rewards >= limit:
                break
        returns.append(float(rewards))
        steps += int(rewards)
    return returns, steps


def test_book(agent, cfg, seed):
    env = old_gym_env(cfg.env_id)
    env.seed(seed + 10_000)
    limit, total_rewards, steps = episode_limit(cfg), [], 0
    for episode in range(cfg.test_episodes):
        obs = env.reset()
        rewards = 0
        while True:
            a = agent.sess.run(agent.action, feed_dict={agent.inputs: as_float_obs(obs)})
            obs, reward, done, info = env.step(a[0][0])
            rewards += reward
            steps += 1
            if done or rewards >= limit:
                break
        total_rewards.append(rewards)
    return np.array(total_rewards), steps


def lockstep_agent(cfg, seeds):
    """The ``lockstep`` engine of ``seeds``, each seed's network starting as its lone program's."""
    return LockstepImitation(cfg, seeds, ImitationPolicy, ACTIVATION)


def run_lockstep(cfg: ImitationConfig, *, seeds, save=None, progress=None):
    """``lockstep`` mode: the training of several seeds in one call per step (TF1: one
    graph; TF2: one compiled call), one result per seed."""
    with lockstep_agent(cfg, seeds) as agent:
        return imitation_results(agent, cfg, seeds, ACTIVATION, progress=progress, save=save)


def run(cfg: ImitationConfig, *, mode="fast", seed=0, save=None, load=None, progress=None, rng=None):
    progress = progress or (lambda it: it)
    rng = rng if rng is not None else np.random.default_rng(seed)
    with ImitationPolicy(cfg, seed) as agent:
        if load:
            agent.restore(load)
        t0 = time.perf_counter()
        train_returns, steps = train(agent, cfg, seed, progress)
        train_wall = time.perf_counter() - t0
        if save:
            agent.save(save)
        if mode == "book":
            returns, eval_steps = test_book(agent, cfg, seed)
        else:
            returns, eval_steps = evaluate_fast(agent.weights(), ACTIVATION, cfg.env_id,
                                                cfg.test_episodes, seed + 10_000, cfg.max_steps, rng)
        weights = agent.weights()
    return RunResult(train_returns=train_returns, eval_returns=list(map(float, returns)),
                     env_steps=steps + int(eval_steps), train_env_steps=steps, updates=steps,
                     episodes_per_iteration=1, train_wall_s=train_wall, weights=weights)
