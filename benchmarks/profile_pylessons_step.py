"""Where one fast-mode env step of the pylessons DQN goes, as shares measured in one run:
the compiled update (target, gradient, RMSprop step, new weights) in each form, acting
greedily from the NumPy copy of the weights, and sampling the replay memory; plus the TF2
update under XLA (``jit_compile=True``), which the port does not use.

    python benchmarks/profile_pylessons_step.py
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def bench(f, n):
    for _ in range(20):  # warm-up: tracing, first-call allocations
        f()
    t = time.perf_counter()
    for _ in range(n):
        f()
    return (time.perf_counter() - t) / n * 1e6


def main():
    from tfrepro.infra.tfquiet import quiet_tensorflow

    quiet_tensorflow()
    import numpy as np
    import tensorflow as tf

    from legacy_tf1 import dqn_pylessons as p1
    from modern_tf2 import dqn_pylessons as p2
    from tfrepro.core.configs import PylessonsDQNConfig
    from tfrepro.core.policies import mlp_q
    from tfrepro.core.protocol import Transitions

    cfg = PylessonsDQNConfig()
    rng = np.random.default_rng(0)
    s = rng.normal(size=(64, 4)).astype(np.float32)
    s2, a = s + 0.01, rng.integers(0, 2, 64)
    r, d = np.ones(64, np.float32), np.zeros(64, bool)
    batch = Transitions(s, a, r, d, s2)
    tf1, tf2 = p1.DQNAgent(cfg, 0), p2.DQNAgent(cfg, 0)
    us = {"tf1 update": bench(lambda: tf1.fast_update(batch), 300),
          "tf2 update": bench(lambda: tf2.fast_update(batch), 300)}
    f = p2.DQNAgent._fast_train.python_function
    tf2._fast_train = tf.function(lambda *x: f(tf2, *x), jit_compile=True)
    us["tf2 update, XLA"] = bench(lambda: tf2.fast_update(batch), 300)
    w = tf1.weights()
    us["act (NumPy)"] = bench(lambda: mlp_q(w, s[:1]), 2000)
    for i in range(2000):
        tf2.memory.append(s[i % 64], 1, 1.0, False, s2[i % 64])
    us["sample 64"] = bench(lambda: tf2.memory.sample(64), 2000)
    for form in ("tf1", "tf2"):
        step = us[f"{form} update"] + us["act (NumPy)"] + us["sample 64"]
        print(f"{form}: update {us[f'{form} update'] / step:.0%} of update + act + sample; "
              f"act {us['act (NumPy)'] / step:.1%}, sample {us['sample 64'] / step:.1%}")
    print({k: round(v, 1) for k, v in us.items()})
    print(f"tf2 update under XLA / without: {us['tf2 update, XLA'] / us['tf2 update']:.2f}")
    print(f"tf2 update / tf1 update: {us['tf2 update'] / us['tf1 update']:.2f}")
    tf1.close()


if __name__ == "__main__":
    main()
