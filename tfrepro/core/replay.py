"""DQN pieces that belong to no framework: the replay memory and the Bellman targets."""
from __future__ import annotations

import random
from collections import deque

import numpy as np

from .protocol import Transitions


class ReplayMemory:
    """A bounded FIFO of transitions (state, action, reward, terminal, next_state).

    Meertens keeps a list and drops its first element once it holds more than 30,000;
    pylessons uses ``deque(maxlen=2000)``. Both keep the newest ``capacity`` transitions,
    which a deque does in O(1). ``sample`` draws without replacement, as
    ``random.sample`` does in both sources, from a ``random.Random`` of its own so the
    stream is seeded per run.
    """

    def __init__(self, capacity: int, seed: int = 0):
        self.buffer = deque(maxlen=capacity)
        self.rng = random.Random(seed)

    def __len__(self):
        return len(self.buffer)

    def append(self, state, action, reward, terminal, next_state):
        self.buffer.append((state, action, reward, terminal, next_state))

    def sample(self, batch_size: int):
        """A batch as ``Transitions`` of arrays: states (B, 4), actions (B,), rewards (B,),
        terminals (B,), next_states (B, 4)."""
        return Transitions.of(self.rng.sample(self.buffer, batch_size))


def bellman_targets(rewards, terminals, next_q, gamma: float) -> np.ndarray:
    """y = r                          if the transition ended the episode
       y = r + gamma * max_a' Q(s', a') otherwise.
    ``next_q`` is (B, n_actions), from the online network (Meertens, pylessons) or a
    target network (Meertens's exercise)."""
    rewards = np.asarray(rewards, np.float32)
    best_next = np.max(np.asarray(next_q, np.float32), axis=1)
    return np.where(np.asarray(terminals, bool), rewards, rewards + np.float32(gamma) * best_next).astype(np.float32)


def linear_epsilon(frame: int, start: float, end: float, anneal_frames: int) -> float:
    """Epsilon annealed linearly from ``start`` to ``end`` over ``anneal_frames`` frames."""
    if anneal_frames <= 0:
        return end
    frac = min(1.0, frame / anneal_frames)
    return start + frac * (end - start)


class GreedyEvaluation:
    """``on_step`` hook for the DQN training loops: every ``cfg.eval_every`` env steps,
    play ``cfg.eval_episodes`` greedy episodes from a NumPy copy of the weights; stop
    training once their mean reaches ``cfg.eval_threshold``. ``history`` keeps (env steps,
    mean) per evaluation; ``passed_at`` the env steps of the one that passed."""

    def __init__(self, cfg, seed: int):
        self.cfg, self.seed = cfg, seed
        self.history, self.passed_at = [], None

    def __call__(self, steps, weights) -> bool:
        if steps % self.cfg.eval_every:
            return False
        from .envs import run_episodes
        from .policies import greedy_q_policy

        returns, _ = run_episodes(greedy_q_policy(weights), self.cfg.env_id, self.cfg.eval_episodes,
                                  seed=self.seed + 30_000 + steps, max_steps=self.cfg.max_steps)
        mean = float(np.mean(returns))
        self.history.append([int(steps), mean])
        if mean >= self.cfg.eval_threshold:
            self.passed_at = int(steps)
            return True
        return False
