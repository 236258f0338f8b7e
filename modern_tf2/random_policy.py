"""An untrained neural-network policy, TF2 port.

Source: Jeff Tang, *Intelligent Mobile Projects with TensorFlow* (Packt 2018), CartPole
chapter, ``nn_random_policy.py`` (TF 1.6, gym 0.10): 4 inputs -> 4 ReLU -> 1 sigmoid,
``tf.multinomial(tf.log([p, 1 - p]))``, 1000 episodes on CartPole-v0. The source reports
"around 20-something". The TF1 graph form is ``legacy_tf1/random_policy.py``, the TF2
port ``modern_tf2/random_policy.py``.
Code: https://github.com/PacktPublishing/Intelligent-Mobile-Projects-with-TensorFlow/blob/6f41debe99331173cd4c13c63111cd5380e4abe3/ch12/nn_random_policy.py

What the port changes: only the framework: a Keras 3 model 4 -> 4 ReLU -> 1 sigmoid;
``tf.random.categorical`` replaces ``tf.multinomial``; one compiled call per step in
``book`` mode (the port of one ``sess.run`` per step); gymnasium's API.

Deviations, each for a reason:
* ``fast`` mode: the 1000 episodes side by side on the vector CartPole with actions from
  a NumPy copy of the (untrained) weights.
"""
from __future__ import annotations


import numpy as np
import tensorflow as tf

from modern_tf2.common import KerasProgram, as_float_obs, episode_limit, policy_model
from tfrepro.core.configs import RandomPolicyConfig
from tfrepro.core.envs import make
from tfrepro.core.loops import evaluate_fast
from tfrepro.core.protocol import RunResult

ACTIVATION = "relu"


class RandomPolicy(KerasProgram):
    def build(self, cfg: RandomPolicyConfig):
        self.model = policy_model(cfg.hidden, "relu", "sigmoid", name="tang_random_policy")

    @tf.function
    def action(self, obs):
        outputs = self.model(obs)
        return tf.random.categorical(tf.math.log(tf.concat([outputs, 1 - outputs], 1)), 1)

    def proba_left(self, obs):
        return self.model(np.asarray(obs, np.float32)).numpy()[:, 0]

    forward = proba_left


def play_book(agent, cfg, seed):
    env = make(cfg.env_id)
    limit, total_rewards, steps = episode_limit(cfg), [], 0
    for episode in range(cfg.episodes):
        rewards = 0
        obs, info = env.reset(seed=seed if episode == 0 else None)
        while True:
            a = agent.action(tf.constant(as_float_obs(obs)))
            obs, reward, terminated, truncated, info = env.step(int(a[0][0]))
            rewards += reward
            steps += 1
            if terminated or truncated or rewards >= limit:
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
