"""The machine's own speed at a moment, measured beside every timed loop, so that two benches
timed at different times can be set against each other without the machine's drift.

A shared machine is not the same machine from one hour to the next: other work on its cores,
its clock, its caches. Two benches of one build, run an hour apart here, differed by up to 42%
in every row at once (results/speed-aa), while the rows of one bench agreed. A timing that also
says how fast the machine was at that moment can be divided by it: ``measure()`` runs a fixed
piece of work of the same kind as the programs' loops (small NumPy arrays through a two-layer
network, CartPole's physics in Python floats: what an interpreter-bound RL loop spends its time
on) and no TensorFlow, so that a change in TensorFlow never moves it. ``bench`` measures it right
before each timed repeat and after the last one; ``judge.judge_speed`` divides each process's
steps/s by its yardstick when both files carry one.

Python 3.7-safe: the TF 1.15 image runs bench.
"""
from __future__ import annotations

import math
import time

import numpy as np

ROUNDS = 8000  # about 0.1 s on the 2-core development machine


def _work(rounds: int) -> float:
    rng = np.random.RandomState(0)
    w1, w2 = rng.randn(4, 32).astype(np.float32), rng.randn(32, 2).astype(np.float32)
    x, v, th, om, acc = 0.0, 0.0, 0.05, 0.0, 0.0
    for _ in range(rounds):
        obs = np.array([[x, v, th, om]], dtype=np.float32)
        h = np.maximum(obs @ w1, 0.0)
        logits = h @ w2
        p = np.exp(logits - logits.max())
        p /= p.sum()
        grad = obs.T @ (h @ w2 - p)[:, :1].repeat(32, axis=1)
        acc += float(p[0, 0]) + float(grad[0, 0]) * 1e-9
        for _ in range(4):  # CartPole's Euler step, as gym writes it
            force = 10.0 if acc % 1.0 > 0.5 else -10.0
            cos, sin = math.cos(th), math.sin(th)
            temp = (force + 0.05 * om * om * sin) / 1.1
            tacc = (9.8 * sin - cos * temp) / (0.5 * (4.0 / 3.0 - 0.1 * cos * cos / 1.1))
            xacc = temp - 0.05 * tacc * cos / 1.1
            x, v, th, om = x + 0.02 * v, v + 0.02 * xacc, th + 0.02 * om, om + 0.02 * tacc
            if abs(th) > 0.2 or abs(x) > 2.4:
                x, v, th, om = 0.0, 0.0, 0.05, 0.0
    return acc


def measure(rounds: int = ROUNDS) -> float:
    """Rounds of the fixed work per second, now, in this process: timed whole, as a program's
    loop is (its share of a contended core included: that is the moment being measured)."""
    _work(rounds // 20)  # warm: the first rounds of a fresh process pay for NumPy's first calls
    t0 = time.perf_counter()
    _work(rounds)
    return rounds / max(time.perf_counter() - t0, 1e-9)
