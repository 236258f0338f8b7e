"""The hard-coded basic policy (no framework), TF1 graph form.

Source: Aurélien Géron, *Hands-On Machine Learning*, ch. 18: push toward the side the
pole leans to; 500 episodes of at most 200 steps on CartPole-v1. The 2nd edition (gym
0.21) seeds once, ``env.seed(42)``, and printed 42.0, 8.64, 24, 68 (the notebook's run did
not seed): the TF1 form ``legacy_tf1/basic_policy.py`` follows it. The 3rd-edition
notebook seeds every episode, ``env.reset(seed=episode)``, which gives exactly mean
41.698, std 8.389, min 24, max 63 on gymnasium: the TF2 port ``modern_tf2/basic_policy.py``
follows it.
Code: https://github.com/ageron/handson-ml2/blob/2fdb70ca8f47da242b87a308e97414fdeaac759f/18_reinforcement_learning.ipynb
      https://github.com/ageron/handson-ml3/blob/4f5aa43f92ae20781f49019286a27fcab0120da9/18_reinforcement_learning.ipynb

What the port changes: nothing in this form: ``book`` mode is the printed loop, on the old
gym API through ``tfrepro.core.envs.OldGymAPI``.

Deviations, each for a reason:
* ``fast`` mode: the same policy on 500 side-by-side episodes of the vector CartPole
  (other start states than ``book`` mode's).
* gym's own RNG stream is gone from gymnasium, so ``env.seed(42)`` through the adapter
  gives other episodes than gym 0.21 did (see docs/reproduce.md).
"""
from __future__ import annotations

import numpy as np

from tfrepro.core.configs import BasicPolicyConfig
from tfrepro.core.envs import make_old as old_gym_env, run_episodes
from tfrepro.core.policies import basic_policy, basic_policy_batch
from tfrepro.core.protocol import RunResult


def play_book(cfg, seed):
    totals = []
    env = old_gym_env(cfg.env_id)
    env.seed(seed)
    for episode in range(cfg.episodes):
        episode_rewards = 0
        obs = env.reset()
        for step in range(cfg.max_steps):
            action = basic_policy(obs)
            obs, reward, done, info = env.step(action)
            episode_rewards += reward
            if done:
                break
        totals.append(episode_rewards)
    return np.array(totals, float)


def run(cfg: BasicPolicyConfig, *, mode="fast", seed=0, save=None, load=None, progress=None, rng=None):
    if mode == "book":
        returns = play_book(cfg, seed)
        steps = int(returns.sum())
    else:
        returns, steps = run_episodes(basic_policy_batch, cfg.env_id, cfg.episodes, seed=seed,
                                      max_steps=cfg.max_steps)
    return RunResult(train_returns=[], eval_returns=list(map(float, returns)), env_steps=int(steps),
                     train_env_steps=0, updates=0, episodes_per_iteration=1, train_wall_s=0.0)
