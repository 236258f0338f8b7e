"""Framework-free loops shared by the two forms of a program: the ``fast`` REINFORCE
training loop and the vectorised evaluation. The framework is reached only through
``agent.weights()`` and ``agent.fast_update(Steps(obs, actions, weights))``, which each form
implements in its own idiom (one ``sess.run``; one ``tf.function`` call)."""
from __future__ import annotations


from .envs import VecEpisodes, run_episodes
from .policies import sampling_policy
from .protocol import Steps


def reinforce_fast(agent, cfg, seed, progress, rng, activation, episodes_per_update, advantages):
    """Play ``episodes_per_update`` episodes side by side from a NumPy copy of the weights,
    weight each step by ``advantages(batch)`` (flattened episode-major), and make one
    update. Returns (training returns per episode, env steps)."""
    venv = VecEpisodes(cfg.env_id, episodes_per_update, seed=seed, max_steps=cfg.max_steps or None)
    returns, weights = [], agent.weights()
    for _ in progress(range(cfg.iterations)):
        batch = venv.play(sampling_policy(weights, activation), rng)
        obs, actions = batch.flat()
        _, weights = agent.fast_update(Steps(obs, actions, advantages(batch)))
        returns += [float(r) for r in batch.returns]
    venv.close()
    return returns, venv.env_steps


def evaluate_fast(weights, activation, env_id, episodes, seed, max_steps, rng):
    """Evaluation episodes side by side, actions sampled from a NumPy copy of the weights."""
    return run_episodes(sampling_policy(weights, activation), env_id, episodes, seed=seed,
                        max_steps=max_steps or None, rng=rng)
