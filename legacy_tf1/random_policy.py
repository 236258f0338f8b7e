"""An untrained neural-network policy, TF1 graph form.

Source: Jeff Tang, *Intelligent Mobile Projects with TensorFlow* (Packt 2018), CartPole
chapter, ``nn_random_policy.py`` (TF 1.6, gym 0.10): 4 inputs -> 4 ReLU -> 1 sigmoid,
``tf.multinomial(tf.log([p, 1 - p]))``, 1000 episodes on CartPole-v0. The source reports
"around 20-something". The TF1 graph form is ``legacy_tf1/random_policy.py``, the TF2
port ``modern_tf2/random_policy.py``.
Code: https://github.com/PacktPublishing/Intelligent-Mobile-Projects-with-TensorFlow/blob/6f41debe99331173cd4c13c63111cd5380e4abe3/ch12/nn_random_policy.py

What the port changes: nothing in this form, which keeps the source's framework:
placeholders, ``tf.multinomial``, one ``sess.run`` per step (``book`` mode).

Deviations, each for a reason:
* ``fast`` mode: the 1000 episodes side by side on the vector CartPole with actions from
  a NumPy copy of the (untrained) weights.
* ``tf.layers.dense`` -> ``legacy_tf1.common.dense`` (same variables).
* gymnasium through the old-API adapter.
"""
from __future__ import annotations


import numpy as np
import tensorflow.compat.v1 as tf

from legacy_tf1.common import GraphProgram, as_float_obs, dense, episode_limit, old_gym_env
from tfrepro.core.configs import RandomPolicyConfig
from tfrepro.core.loops import evaluate_fast
from tfrepro.core.protocol import RunResult

ACTIVATION = "relu"


class RandomPolicy(GraphProgram):
    def build(self, cfg: RandomPolicyConfig):
        num_inputs = 4
        self.inputs = tf.placeholder(tf.float32, shape=[None, num_inputs], name="inputs")
        hidden = dense(self.inputs, cfg.hidden, activation=tf.nn.relu)
        self.outputs = dense(hidden, 1, activation=tf.nn.sigmoid)  # P(action 0)
        self.action = tf.multinomial(tf.log(tf.concat([self.outputs, 1 - self.outputs], 1)), 1)

    def proba_left(self, obs):
        return self.sess.run(self.outputs, {self.inputs: obs})[:, 0]

    forward = proba_left


def play_book(agent, cfg, seed):
    env = old_gym_env(cfg.env_id)
    env.seed(seed)
    limit, total_rewards, steps = episode_limit(cfg), [], 0
    for episode in range(cfg.episodes):
        rewards = 0
        obs = env.reset()
        while True:
            a = agent.sess.run(agent.action, feed_dict={agent.inputs: as_float_obs(obs)})
            obs, reward, done, info = env.step(a[0][0])
            rewards += reward
            steps += 1
            if done or rewards >= limit:
                break
        total_rewards.append(rewards)
    return np.array(total_rewards), steps


def run(cfg: RandomPolicyConfig, *, mode="fast", seed=0, save=None, load=None, progress=None, rng=None):
    rng = rng if rng is not None else np.random.default_rng(seed)
    with RandomPolicy(cfg, seed) as agent:
        if load:
            agent.restore(load)
        if save:
            agent.save(save)
        if mode == "book":
            returns, steps = play_book(agent, cfg, seed)
        else:
            returns, steps = evaluate_fast(agent.weights(), ACTIVATION, cfg.env_id, cfg.episodes,
                                           seed, cfg.max_steps, rng)
        weights = agent.weights()
    return RunResult(train_returns=[], eval_returns=list(map(float, returns)), env_steps=int(steps),
                     train_env_steps=0, updates=0, episodes_per_iteration=1,
                     train_wall_s=0.0, weights=weights)
