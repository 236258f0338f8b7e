"""Tang's imitation policy in ``lockstep`` mode: K seeds' training, one framework call per
environment step for all of them. Framework-free: the forms pass their agents in."""
from __future__ import annotations

import time

import numpy as np

from ..core.envs import episode_limit
from ..core.protocol import RunResult
from ..core.lockstep import LockstepCartPole, each_seed, evaluate_lockstep, save_each


class EachImitation:
    """``update_each`` of the imitation engine (``LockstepImitation`` in both forms)."""

    def update_each(self, batches):
        """Each seed's states in order, one stacked ``step`` per state (the source's update on
        that state, as the lone program's ``fast_update(batch)`` makes them; the batches are
        of one length): (None, each seed's new weights)."""
        for i in range(len(batches[0].states)):
            self.step(np.stack([np.asarray(b.states[i], np.float32)[None] for b in batches]))
        after = self.weights()
        return None, each_seed(after)


def imitation_lockstep(agent, cfg, seeds, progress=None):
    """Tang's imitation training (one update per environment step, ``train_episodes``
    episodes) for K seeds at once. ``agent.step(obs)`` takes one observation per seed
    (K, 1, 4), returns each seed's P(left) from its weights before the step and updates
    every seed on its own observation (labels ``angle < 0``, as the source's). Actions are
    drawn here, seed k's from its own generator (``default_rng([seed, 1])``): the lone
    program draws them inside the framework (``tf.multinomial``, ``tf.random.categorical``),
    which no other process can replay, so a lockstep seed plays other episodes than its lone
    run (``docs/lockstep.md``: the two modes are compared over seeds). A seed whose episodes
    are over keeps its weights of that moment; the batched update goes on moving its copy
    (Adam's step count stays the same for all seeds), unused. Returns per seed (training
    returns, training steps, final weights)."""
    K = len(seeds)
    rngs = [np.random.default_rng([int(s), 1]) for s in seeds]
    env = LockstepCartPole(cfg.env_id, 1, seeds)
    env.reset()
    limit = episode_limit(cfg.env_id, cfg.max_steps)
    returns, final = [[] for _ in seeds], [None] * K
    episode_return, episodes, steps = np.zeros(K), np.zeros(K, np.int64), np.zeros(K, np.int64)
    active = np.ones(K, bool)
    ticks, shown = iter(progress(range(cfg.train_episodes)) if progress else range(cfg.train_episodes)), 0
    u = np.zeros(K)
    while active.any():
        p_left = agent.step(env.observations())
        for k in np.flatnonzero(active):
            u[k] = rngs[k].random()
        actions = (u >= p_left).astype(np.int64)  # left (0) with probability P(left)
        terminated, truncated = env.step(actions[:, None], active)
        episode_return[active] += 1.0
        over = active & ((terminated | truncated)[:, 0] | (episode_return >= limit))
        for k in np.flatnonzero(over):
            returns[k].append(float(episode_return[k]))
        steps[over] += episode_return[over].astype(np.int64)
        episode_return[over] = 0.0
        episodes[over] += 1
        finished = over & (episodes >= cfg.train_episodes)
        if finished.any():
            weights = agent.weights()
            for k in np.flatnonzero(finished):
                final[k] = [w[k] for w in weights]
            active &= ~finished
        env.reset((over & active)[:, None])
        while shown < episodes.min():
            next(ticks, None)
            shown += 1
    for _ in ticks:
        pass
    return returns, steps.tolist(), final


def imitation_results(agent, cfg, seeds, activation, progress=None, save=None):
    """Train K seeds of the imitation policy in lockstep, then evaluate each as its lone
    ``fast`` run does (``test_episodes`` episodes from ``default_rng(seed)``, the
    environment seeded ``seed + 10000``): one result per seed, with the keys the lone
    ``run`` returns. ``train_wall_s`` is the lockstep training time shared out over the
    seeds; ``save``: one directory per seed (or None)."""
    t0 = time.perf_counter()
    train_returns, train_steps, final = imitation_lockstep(agent, cfg, seeds, progress)
    train_wall = time.perf_counter() - t0
    weights = [np.stack(w) for w in zip(*final)]
    agent.set_stacked(weights)  # each seed's weights of the moment its training ended
    save_each(agent, save)
    eval_returns, eval_steps = evaluate_lockstep(weights, activation, cfg.env_id, cfg.test_episodes,
                                                 [s + 10_000 for s in seeds], cfg.max_steps,
                                                 [np.random.default_rng(int(s)) for s in seeds])
    return [RunResult(train_returns=train_returns[k], eval_returns=eval_returns[k],
                      env_steps=train_steps[k] + eval_steps[k], train_env_steps=train_steps[k],
                      updates=train_steps[k], episodes_per_iteration=1, train_wall_s=train_wall / len(seeds),
                      weights=final[k], lockstep_seeds=len(seeds))
            for k in range(len(seeds))]
