"""A neural network trained to imitate the hard-coded policy, TF2 port.

Source: Jeff Tang, *Intelligent Mobile Projects with TensorFlow* (Packt 2018), CartPole
chapter, ``nn_simple_policy.py`` (TF 1.6, gym 0.10): 4 -> 4 ReLU -> 1 logit, target
``y = 1 if angle < 0 else 0`` (the basic policy's P(left)), sigmoid cross-entropy,
``tf.train.AdamOptimizer(0.01).minimize``, one training step per environment step over
1000 episodes, then 1000 test episodes. The source reports 42.3 and 44.3. The TF1 graph
form is ``legacy_tf1/imitation_policy.py``, the TF2 port ``modern_tf2/imitation_policy.py``.
Code: https://github.com/PacktPublishing/Intelligent-Mobile-Projects-with-TensorFlow/blob/6f41debe99331173cd4c13c63111cd5380e4abe3/ch12/nn_simple_policy.py

What the port changes: only the framework: a Keras 3 model 4 -> 4 ReLU -> 1 logit,
``tf.GradientTape`` + Keras Adam(0.01) per step under ``tf.function`` (the port of one
``sess.run`` per step), ``tf.random.categorical`` in place of ``tf.multinomial``,
``model.save(.keras)``, gymnasium's API.

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
* Keras Adam's epsilon is 1e-7 where TF1's is 1e-8.
"""
from __future__ import annotations

import time

import keras
import numpy as np
import tensorflow as tf

from modern_tf2.common import KerasProgram, as_float_obs, episode_limit, policy_model
from modern_tf2.engines import LockstepImitation
from tfrepro.core.configs import ImitationConfig
from tfrepro.core.envs import make
from tfrepro.core.loops import evaluate_fast
from tfrepro.core.protocol import RunResult
from tfrepro.engines.imitation import imitation_results

ACTIVATION = "relu"


class ImitationPolicy(KerasProgram):
    def build(self, cfg: ImitationConfig):
        self.model = policy_model(cfg.hidden, "relu", None, name="tang_imitation_policy")
        self.optimizer = keras.optimizers.Adam(cfg.learning_rate)
        self.optimizer.build(self.model.trainable_variables)

    @tf.function
    def action(self, obs):
        outputs = tf.nn.sigmoid(self.model(obs))
        return tf.random.categorical(tf.math.log(tf.concat([outputs, 1 - outputs], 1)), 1)

    @tf.function
    def _train_step(self, obs, y):
        a = self.action(obs)  # acts on the weights before this step's update
        with tf.GradientTape() as tape:
            logits = self.model(obs)
            cross_entropy = tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=logits)
        grads = tape.gradient(cross_entropy, self.model.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.model.trainable_variables))
        return a

    def proba_left(self, obs):
        return tf.nn.sigmoid(self.model(np.asarray(obs, np.float32))).numpy()[:, 0]

    forward = proba_left

    def loss(self, batch):
        """The mean loss on a batch's states and the source's labels (``tfrepro diff``)."""
        obs = tf.cast(batch.states, tf.float32)
        y = tf.cast(obs[:, 2:3] < 0, tf.float32)
        return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=self.model(obs)))

    def train_step(self, obs):
        y_target = np.array([[1. if obs[2] < 0 else 0.]])
        return self._train_step(tf.constant(as_float_obs(obs)), tf.constant(y_target, tf.float32)).numpy()

    def fast_update(self, batch):
        """One ``train_step`` per state of the batch, in order; returns (None, the weights)."""
        for obs in batch.states:
            self.train_step(obs)
        return None, self.weights()



def train(agent, cfg, seed, progress):
    env = make(cfg.env_id)
    limit, returns, steps = episode_limit(cfg), [], 0
    for episode in progress(range(cfg.train_episodes)):
        obs, info = env.reset(seed=seed if episode == 0 else None)
        rewards = 0
        while True:
            a = agent.train_step(obs)
            obs, reward, terminated, truncated, info = env.step(int(a[0][0]))
            rewards += reward
            if terminated or truncated or rewards >= limit:
                break
        returns.append(float(rewards))
        steps += int(rewards)
    return returns, steps


def test_book(agent, cfg, seed):
    env = make(cfg.env_id)
    limit, total_rewards, steps = episode_limit(cfg), [], 0
    for episode in range(cfg.test_episodes):
        obs, info = env.reset(seed=seed + 10_000 if episode == 0 else None)
        rewards = 0
        while True:
            a = agent.action(tf.constant(as_float_obs(obs)))
            obs, reward, terminated, truncated, info = env.step(int(a[0][0]))
            rewards += reward
            steps += 1
            if terminated or truncated or rewards >= limit:
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
