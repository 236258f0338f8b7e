"""The two REINFORCE programs' shared parts (pg-tang, pg-geron): their advantages, their
recorded batches for ``diff`` rungs 3 and 4, and their ``lockstep`` mode's driver (K seeds'
lone ``fast`` runs, every update in one framework call). Framework-free: the forms pass
their agents in."""
from __future__ import annotations

import time

import numpy as np

from ..core.batches import reinforce_steps
from ..core.protocol import RunResult
from ..core.lockstep import (LockstepEpisodes, each_seed, evaluate_lockstep, pad_batches, save_each,
                             stacked_sampling_policy)
from ..core.returns import discount_and_normalize_rewards, normalized_discounted_rewards


class EachPolicy:
    """``update_each`` of the REINFORCE engines (``LockstepPolicy`` in both forms)."""

    def update_each(self, batches):
        """One stacked update on each seed's own ``Steps`` (padded to the longest), as each
        lone program's ``fast_update(batch)`` makes it: (None, each seed's new weights)."""
        flats = [(b.states, b.actions) for b in batches]
        after = self.fast_update(*pad_batches(flats, [b.weights for b in batches]))
        return None, each_seed(after)


def tang_advantages(cfg):
    """Tang: one episode, its discounted rewards normalised within the episode."""
    return lambda batch: normalized_discounted_rewards(batch.episode_rewards()[0], cfg.discount_rate)


def geron_advantages(cfg):
    """Géron: all episodes of the update, normalised with the batch's mean and std."""
    return lambda batch: np.concatenate(discount_and_normalize_rewards(batch.episode_rewards(),
                                                                       cfg.discount_rate))


def tang_steps(spec, cfg, agent, seed):
    """Three episodes played by the agent's policy, each step weighted by its episode's
    discounted rewards normalised within the episode (Tang)."""
    return reinforce_steps(spec, cfg, agent, seed, lambda rewards, g: np.concatenate(
        [normalized_discounted_rewards(r, g) for r in rewards]))


def geron_steps(spec, cfg, agent, seed):
    """Three episodes played by the agent's policy, the discounted rewards normalised over
    all of them (Géron)."""
    return reinforce_steps(spec, cfg, agent, seed, lambda rewards, g: np.concatenate(
        discount_and_normalize_rewards(rewards, g)))


def reinforce_lockstep(agent, cfg, seeds, rngs, activation, episodes_per_update, advantages, progress=None):
    """``loops.reinforce_fast`` for K seeds at once: seed k plays the episodes the lone
    run of seed k plays (``LockstepEpisodes``) and gets its own update; ``agent``
    (a ``LockstepPolicy``) makes all K updates in one call. Returns per seed (training
    returns, env steps)."""
    venv = LockstepEpisodes(cfg.env_id, episodes_per_update, seeds, max_steps=cfg.max_steps or None)
    returns, weights = [[] for _ in seeds], agent.weights()
    for _ in (progress or (lambda it: it))(range(cfg.iterations)):
        batches = venv.play(stacked_sampling_policy(weights, activation), rngs)
        weights = agent.fast_update(*pad_batches([b.flat() for b in batches], [advantages(b) for b in batches]))
        for k, batch in enumerate(batches):
            returns[k] += [float(r) for r in batch.returns]
    return returns, venv.env_steps.tolist()


def reinforce_results(agent, cfg, seeds, activation, episodes_per_update, advantages, eval_episodes,
                      progress=None, save=None):
    """Train K seeds of a REINFORCE program in lockstep, then evaluate each as its lone
    ``fast`` run does (from the same generator, which training advanced): one result per
    seed, with the keys the lone ``run`` returns. ``train_wall_s`` is the lockstep training
    time shared out over the seeds; ``save``: one directory per seed (or None)."""
    rngs = [np.random.default_rng(int(s)) for s in seeds]
    t0 = time.perf_counter()
    train_returns, train_steps = reinforce_lockstep(agent, cfg, seeds, rngs, activation,
                                                    episodes_per_update, advantages, progress)
    train_wall = time.perf_counter() - t0
    weights = agent.weights()
    save_each(agent, save)
    eval_returns, eval_steps = evaluate_lockstep(weights, activation, cfg.env_id, eval_episodes,
                                                 [s + 10_000 for s in seeds], cfg.max_steps, rngs)
    return [RunResult(train_returns=train_returns[k], eval_returns=eval_returns[k],
                      env_steps=train_steps[k] + eval_steps[k], train_env_steps=train_steps[k],
                      updates=cfg.iterations, episodes_per_iteration=episodes_per_update,
                      train_wall_s=train_wall / len(seeds), weights=[w[k] for w in weights],
                      lockstep_seeds=len(seeds))
            for k in range(len(seeds))]
