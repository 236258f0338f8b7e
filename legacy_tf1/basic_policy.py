"""The hard-coded basic policy, on the old gym API (no framework).

Source: Aurélien Géron, *Hands-On Machine Learning*, 2nd ed., ch. 18 (gym 0.21): push
toward the side the pole leans to; 500 episodes of at most 200 steps on CartPole-v1
after one ``env.seed(42)``. The book printed 42.0, 8.64, 24, 68 (the notebook's run did
not seed); gym's own RNG stream is gone from gymnasium, so ``env.seed(42)`` through the
adapter gives other episodes than gym 0.21 did (see docs/reproduce.md).

``book``: the printed loop through ``tfrepro.core.envs.OldGymAPI``; ``fast``: the same
policy on 500 side-by-side episodes of the vector CartPole (other start states).
"""
from __future__ import annotations

import numpy as np

from tfrepro.core.configs import BasicPolicyConfig
from tfrepro.core.envs import make_old as old_gym_env, run_episodes
from tfrepro.core.policies import basic_policy, basic_policy_batch


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
    return dict(train_returns=[], eval_returns=list(map(float, returns)), env_steps=int(steps),
                train_env_steps=0, updates=0, episodes_per_iteration=1, train_wall_s=0.0)
