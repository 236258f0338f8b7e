"""The ladder's recorded batches (``diff`` rungs 3 and 4), framework-free: each builder takes
``(spec, cfg, agent, seed)`` and returns ``(batch, text)``, the text saying what the batch
is. A program names its builder in its spec (``record_batch``); the default plays at random
and records transitions, which every off-policy program (and an actor-critic) consumes."""
from __future__ import annotations

import numpy as np

from .protocol import Steps, Transitions


def random_transitions(spec, cfg, agent, seed):
    """A batch of transitions from random play, reward and terminal as the DQN sources store
    them: a failure's (a terminal, not a time-limit, step's) reward is ``cfg.fail_reward``
    where the config has one (pylessons' -100), else 0 (Meertens: "0 reward if it dies").
    Both forms get the same batch, so the choice only sets which numbers rung 3 compares."""
    from .envs import make

    n = spec.batch_size(cfg)
    rng = np.random.default_rng(seed)
    env = make(cfg.env_id)
    (obs, _), rows = env.reset(seed=seed), []
    fail = getattr(cfg, "fail_reward", 0.0)
    while len(rows) < n:
        a = int(rng.integers(2))
        nxt, r, term, trunc, _ = env.step(a)
        done = term or trunc
        rows.append((obs, a, fail if term else r, done, nxt))
        obs = env.reset()[0] if done else nxt
    env.close()
    return Transitions.of(rows), f"a replay batch of {n} transitions"


def reinforce_steps(spec, cfg, agent, seed, advantages):
    """Three episodes played by the agent's policy (``numpy_policy``), each step weighted by
    ``advantages(episode rewards, discount rate)`` (a REINFORCE program's ``record_batch``)."""
    from .envs import VecEpisodes

    venv = VecEpisodes(cfg.env_id, 3, seed=seed, max_steps=cfg.max_steps or None)
    batch = venv.play(spec.hook("numpy_policy")(agent.weights()), np.random.default_rng(seed))
    venv.close()
    obs, actions = batch.flat()
    weights = advantages(batch.episode_rewards(), cfg.discount_rate)
    return Steps(obs, actions, weights.astype(np.float32)), f"{len(obs)} recorded steps of 3 episodes"


def observation_steps(spec, cfg, agent, seed):
    """The 64 fixed observations of rung 2, the basic policy's actions as labels, weight 1."""
    from .policies import basic_policy_batch

    obs = fixed_observations()
    return (Steps(obs, basic_policy_batch(obs), np.ones(len(obs), np.float32)),
            "64 observations, the basic policy's labels")


def same_batch(batch, steps):
    """Rung 4 by default: the recorded batch, once per step."""
    return [batch] * steps


def one_row_per_step(batch, steps):
    """Rung 4 for a program trained one observation at a time (imitation): step k gets row
    k of the batch (cycling)."""
    n = len(batch[0])
    return [type(batch)(*(np.asarray(x)[k % n:k % n + 1] for x in batch)) for k in range(steps)]


def fixed_observations(seed=1234, n=64):
    """A fixed batch of CartPole-like observations."""
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n, 4)) * [1.0, 1.0, 0.1, 1.0]).astype(np.float32)
