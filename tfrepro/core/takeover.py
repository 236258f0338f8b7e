"""Human takeover during test play (Meertens, "Handling difficult situations").

The agent plays greedily while its predicted max Q stays above
``max Q(initial state) - margin``; below it, someone else chooses the action. That
someone is a person at the terminal (``HumanAsker``: invalid input asks again, end of
input ends the episode cleanly) or a scripted stand-in (``PolicyAsker``, e.g. the
hard-coded basic policy), so the mode runs in tests and CI.
"""
from __future__ import annotations

import sys

import numpy as np

from .envs import episode_limit, make
from .policies import basic_policy

END = None  # an asker returns END when there is no more input


class HumanAsker:
    """Asks on the terminal, as the source's ``raw_input`` loop did."""

    def __init__(self, stdin=None, stdout=None):
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout

    def __call__(self, observation, max_expected):
        while True:
            self.stdout.write(f"Max expected: {max_expected:.3f} left (0) or right(1): ")
            self.stdout.flush()
            line = self.stdin.readline()
            if line == "":  # end of input
                self.stdout.write("\n")
                return END
            try:
                action = int(line.strip())
            except ValueError:
                continue
            if action in (0, 1):
                self.stdout.write(f"Performing: {action}\n")
                return action


class PolicyAsker:
    """A scripted stand-in for the person: the hard-coded basic policy by default."""

    def __init__(self, policy=basic_policy):
        self.policy = policy

    def __call__(self, observation, max_expected):
        return int(self.policy(observation))


def play_with_takeover(q_values, env_id: str, seed: int, ask, margin: float = 0.2,
                       max_steps: int = 0) -> dict:
    """One test episode. ``q_values(states) -> (n, 2)``. Returns the episode's return,
    the frames the agent played, the frames the asker handled, and how it ended."""
    env = make(env_id)
    observation, _ = env.reset(seed=seed)
    threshold = float(np.max(q_values([observation]))) - margin
    limit = episode_limit(env_id, max_steps)
    frames = agent_frames = taken_over = 0
    ended = "limit"
    while frames < limit:
        pred = q_values([observation])[0]
        max_expected = float(np.max(pred))
        if max_expected > threshold:
            action = int(np.argmax(pred))
            agent_frames += 1
        else:
            action = ask(observation, max_expected)
            if action is END:
                ended = "end of input"
                break
            taken_over += 1
        observation, _, terminated, truncated, _ = env.step(action)
        frames += 1
        if terminated:
            ended = "terminated"
            break
        if truncated:
            break
    return {"return": float(frames), "frames": frames, "agent_frames": agent_frames,
            "takeover_frames": taken_over, "threshold": threshold, "ended": ended}
