"""DQN pieces that belong to no framework: the replay memory and the Bellman targets."""
from __future__ import annotations

import random
from collections import deque
from dataclasses import asdict, replace

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
        self.buffer: deque = deque(maxlen=capacity)
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
        self.history: list = []
        self.passed_at: int | None = None

    def __call__(self, steps, weights) -> bool:
        if self.passed_at is not None:  # passed: stays passed (a run serving two rules goes on)
            return True
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


STOP_FIELDS = ("solved_score", "eval_every")  # the pylessons DQN's two stopping rules


def shared_config(own, also):
    """The config of one training run serving two variants of the pylessons DQN that differ
    only in their stopping rule: the source's (stop at the first episode scoring
    ``solved_score``) and the ``evaluated`` one (stop when a greedy evaluation every
    ``eval_every`` env steps passes). Until a rule stops, the run is each variant's own: the
    evaluations draw nothing from the training's streams."""
    a, b = asdict(own), asdict(also)
    differ = sorted(k for k in a if a[k] != b[k] and k not in STOP_FIELDS)
    if differ:
        raise ValueError(f"one run cannot serve both variants: they differ in {', '.join(differ)}")
    return replace(own, **{k: a[k] or b[k] for k in STOP_FIELDS})


class SharedRun:
    """The ``stop`` hook of a training loop that serves two stopping rules ("solved",
    "evaluated"): at a rule's first stopping point, ``finish(rule, scores, steps, updates,
    episode)`` records what that rule's own run returns there (its test episodes on the
    weights of that moment); training goes on, as the other rule's own run does, until
    both have stopped. ``end`` finishes the rules the budget ended first, as their own runs
    end."""

    RULES = ("solved", "evaluated")

    def __init__(self, finish):
        self.finish, self.outs = finish, {}

    def __call__(self, rule, scores, steps, updates, episode) -> bool:
        if rule not in self.outs:
            self.outs[rule] = self.finish(rule, list(scores), steps, updates, episode)
        return len(self.outs) == len(self.RULES)

    def end(self, scores, steps, updates):
        for rule in self.RULES:
            if rule not in self.outs:
                self.outs[rule] = self.finish(rule, list(scores), steps, updates, None)
        return self.outs


def stop_rule(cfg) -> str:
    """The stopping rule of a pylessons DQN config that has one of them (``SharedRun``)."""
    return "evaluated" if cfg.eval_every else "solved"
