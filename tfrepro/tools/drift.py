"""``tfrepro diff --explain``: the causes of drift between TF1-era code and its TF2 port
that this project has met on today's stack, each measured afresh on a fixed problem.

Every entry's ``measure()`` runs the comparison now, on the installed TensorFlow and
Keras, and returns its size; nothing here is a stored number. ``compat_tests/test_drift.py``
holds one test per entry that measures it and checks the size, and a test that no entry
is left without one, so the list cannot drift from the truth.
"""
from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np


@dataclass
class Measurement:
    size: float  # the headline number (its meaning is in `unit`)
    unit: str
    summary: str  # one line, the numbers measured
    values: dict  # everything measured, for --json


@dataclass(frozen=True)
class Cause:
    key: str
    title: str
    where: str  # which programs / sources it touches
    problem: str  # the fixed problem it is measured on
    remedy: str  # what this project does about it
    measure: Callable[[], Measurement]


class NotMeasurable(Exception):
    """A measurement that needs something not installed (said instead of a number)."""


def _rung4(name, **kw) -> float:
    from .ladder import climb

    rungs = climb(name, **kw)
    return float(rungs[3].max_diff or 0.0)


def _adam_epsilon() -> Measurement:
    from ..infra import programs

    ADAM = programs.names(lambda p: p.in_reproduce and p.pairing == programs.ADAM_PAIRING)
    port = {n: _rung4(n, port_optimizer=True) for n in ADAM}
    matched = {n: _rung4(n) for n in ADAM}
    worst = max(port, key=lambda n: port[n])
    summary = ("weights after 10 steps, TF1 against TF2: with Keras's epsilon 1e-7 "
               + ", ".join(f"{n} {port[n]:.2g}" for n in ADAM)
               + "; with TF1's 1e-8 at most " + f"{max(matched.values()):.2g}")
    return Measurement(port[worst], "largest |w_TF1 - w_TF2| after 10 steps", summary,
                       {"keras_epsilon_1e-7": port, "tf1_epsilon_1e-8": matched})


def _stock_against_port(program, stock, pairing, keys, text) -> Measurement:
    """Rung 4 of ``program`` twice: the TF2 form with the ``stock`` Keras optimizer, then with
    the port's own optimizer (the program's default pairing)."""
    drift = _rung4(program, tf2_optimizer=stock, pairing=pairing)
    exact = _rung4(program)
    return Measurement(drift, "largest |w_TF1 - w_TF2| after 10 steps", text.format(drift, exact),
                       dict(zip(keys, (drift, exact))))


def _tf1_rmsprop() -> Measurement:
    import keras

    return _stock_against_port(
        "dqn-meertens", lambda cfg: keras.optimizers.RMSprop(cfg.learning_rate),
        "tf.train.RMSPropOptimizer against stock Keras RMSprop", ("keras_rmsprop", "tf1_rmsprop_port"),
        "Meertens DQN, weights after 10 steps: stock Keras RMSprop(1e-4) {:.2g} from TF1; "
        "TF1RMSprop {:.2g} (float32 rounding)")


def _keras3_rmsprop() -> Measurement:
    import keras

    try:
        import tf_keras  # noqa: F401  (the TF1 form of dqn-pylessons runs Keras 2)
    except ImportError:  # pragma: no cover - tf-keras is in requirements.txt
        raise NotMeasurable("needs tf-keras (Keras 2) for the TF1 form") from None
    return _stock_against_port(
        "dqn-pylessons",
        lambda cfg: keras.optimizers.RMSprop(cfg.learning_rate, rho=cfg.rho, epsilon=cfg.rms_epsilon),
        "Keras 2 RMSprop against stock Keras 3 RMSprop", ("keras3_rmsprop", "keras2_rmsprop_port"),
        "pylessons DQN (epsilon 0.01), weights after 10 steps: stock Keras 3 RMSprop {:.2g} from "
        "Keras 2; Keras2RMSprop {:.2g}")


def _tfkeras_lr() -> Measurement:
    try:
        import tf_keras
    except ImportError:  # pragma: no cover - tf-keras is in requirements.txt
        raise NotMeasurable("needs tf-keras") from None
    import absl.logging
    import tensorflow as tf

    level = absl.logging.get_verbosity()
    absl.logging.set_verbosity(absl.logging.ERROR)  # its "`lr` is deprecated" log line
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dropped = tf_keras.optimizers.RMSprop(lr=0.00025, rho=0.95, epsilon=0.01)
    finally:
        absl.logging.set_verbosity(level)
    honoured = tf_keras.optimizers.RMSprop(learning_rate=0.00025, rho=0.95, epsilon=0.01)
    lr = float(dropped.learning_rate.numpy())
    steps = []
    for opt in (dropped, honoured):  # one step on the same weight and gradient
        v = tf.Variable([1.0, -2.0, 0.5])
        opt.apply_gradients([(tf.constant([0.3, -0.01, 2.0]), v)])
        steps.append(np.abs(v.numpy() - [1.0, -2.0, 0.5]))
    ratio = float(np.median(steps[0] / steps[1]))
    return Measurement(lr / 0.00025, "effective / intended learning rate",
                       f"tf_keras.optimizers.RMSprop(lr=0.00025) reads back learning_rate {lr:g}; "
                       f"its first step is {ratio:.2f}x the step of learning_rate=0.00025",
                       {"learning_rate_read_back": lr, "step_ratio": ratio})


def _nadam() -> Measurement:
    import keras

    nadam = _rung4("pg-geron", tf2_optimizer=lambda cfg: keras.optimizers.Nadam(cfg.learning_rate),
                   pairing="tf.train.AdamOptimizer against Keras Nadam")
    adam = _rung4("pg-geron", port_optimizer=True)
    return Measurement(nadam, "largest |w_TF1 - w_TF2| after 10 steps",
                       f"Géron REINFORCE, weights after 10 steps from TF1's Adam(0.01): Keras "
                       f"Nadam(0.01) {nadam:.2g}; Keras Adam(0.01) {adam:.2g}",
                       {"nadam": nadam, "keras_adam": adam})


def _dense_init(seeds=30) -> Measurement:
    from scipy import stats

    from ..infra import programs

    prog = programs.get("pg-tang")
    cfg = prog.config()
    tf1_k, tf2_k, same_seed, biases = [], [], [], 0.0
    for seed in range(seeds):
        with prog.make_agent("tf1", cfg, seed) as a, prog.make_agent("tf2", cfg, seed) as b:
            wa, wb = a.weights(), b.weights()
        tf1_k.append(wa[0].ravel())
        tf2_k.append(wb[0].ravel())
        same_seed.append(float(np.abs(wa[0] - wb[0]).max()))
        biases = max([biases] + [float(np.abs(w).max()) for w in (wa[1], wa[3], wb[1], wb[3])])
    x, y = np.concatenate(tf1_k), np.concatenate(tf2_k)
    ks = stats.ks_2samp(x, y)
    limit = float(np.sqrt(6 / (cfg.hidden + 4)))
    return Measurement(float(np.median(same_seed)), "median |Δ| of the same seed's hidden kernels",
                       f"pg-tang, same --seed in both forms, {seeds} seeds: hidden kernels differ "
                       f"by {np.median(same_seed):.2f} (median of the largest |Δ|; glorot bound "
                       f"{limit:.2f}); pooled, the two distributions agree (KS p={ks.pvalue:.2f})",
                       {"same_seed_max_diff_median": float(np.median(same_seed)),
                        "ks_pvalue": float(ks.pvalue), "glorot_limit": limit, "largest_bias": biases,
                        "tf1_abs_max": float(np.abs(x).max()), "tf2_abs_max": float(np.abs(y).max())})


def _clipped_bce() -> Measurement:
    import keras
    import tensorflow as tf

    z = tf.constant(np.arange(0.0, 30.01, 0.1, dtype=np.float32)[:, None])
    y = tf.zeros_like(z)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(z)
        p = tf.identity(tf.sigmoid(z))  # a probability without its cached logits
        clipped = keras.losses.binary_crossentropy(y, p)
        exact = tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=z)[:, 0]
    gc = tape.gradient(clipped, z).numpy()[:, 0]
    ge = tape.gradient(exact, z).numpy()[:, 0]
    zs = z.numpy()[:, 0]
    dead = float(zs[np.argmax(np.abs(gc) < 1e-6)])
    at20 = int(np.argmin(np.abs(zs - 20.0)))
    gap = float(np.abs(gc - ge).max())
    return Measurement(gap, "largest |gradient gap| w.r.t. the logit",
                       f"label 0, logit z: from z = {dead:.1f} (p > 1 - 1e-7) on, the clipped "
                       f"loss's gradient is 0 where the logits formula's is p - y = "
                       f"{ge[at20]:.2f}; loss at z = 20: {float(clipped[at20]):.1f} against "
                       f"{float(exact[at20]):.1f}",
                       {"gradient_dies_at_logit": dead, "max_gradient_gap": gap,
                        "loss_at_20": {"clipped": float(clipped[at20]), "logits": float(exact[at20])}})


CAUSES = {c.key: c for c in [
    Cause("adam-epsilon", "Adam's epsilon: 1e-8 in tf.train.AdamOptimizer, 1e-7 in Keras",
          "imitation-policy, pg-tang, pg-geron",
          "rung 4 of `tfrepro diff` (10 steps on the program's recorded batch)",
          "rung 4 pairs TF1's Adam with Keras Adam(epsilon=1e-8); the ports keep Keras's "
          "default as their sources would (`--port-optimizer` shows it)", _adam_epsilon),
    Cause("tf1-rmsprop", "TF1 RMSProp (accumulator starts at ones) against Keras RMSprop (zeros)",
          "dqn-meertens", "rung 4 of `tfrepro diff dqn-meertens`",
          "modern_tf2.tf1_rmsprop.TF1RMSprop computes TF1's update", _tf1_rmsprop),
    Cause("keras3-rmsprop", "Keras 3 RMSprop puts epsilon inside the root; Keras 2 outside",
          "dqn-pylessons (epsilon 0.01)", "rung 4 of `tfrepro diff dqn-pylessons`",
          "modern_tf2.tf1_rmsprop.Keras2RMSprop computes Keras 2's update", _keras3_rmsprop),
    Cause("tfkeras-lr", "tf-keras ignores RMSprop(lr=...): the rate stays 0.001 (its only "
          "sign, a log line, calls lr deprecated)",
          "dqn-pylessons (printed as RMSprop(lr=0.00025, ...))",
          "the optimizer as printed, read back; one step on a fixed weight and gradient",
          "both forms pass learning_rate= and read it back in a test", _tfkeras_lr),
    Cause("nadam", "Nadam (Géron 3rd ed.) against Adam (2nd ed.)", "pg-geron",
          "rung 4 of `tfrepro diff pg-geron` with Keras Nadam in the TF2 form",
          "pg-geron follows the 2nd edition (Adam) in both forms", _nadam),
    Cause("dense-init", "tf.layers.dense against keras.layers.Dense initialisation",
          "the TF1 forms built with tf.layers.dense: random-policy, imitation-policy, pg-tang, pg-geron",
          "initial weights of pg-tang's two forms over 30 seeds",
          "same distribution (glorot uniform kernels, zero biases), other draws: compare "
          "forms over seeds, or copy weights across (`diff`, `convert`)", _dense_init),
    Cause("clipped-bce", "Keras's clipped binary cross-entropy against "
          "sigmoid_cross_entropy_with_logits", "pg-geron (Keras BCE on a sigmoid output)",
          "loss and gradient w.r.t. the logit, label 0, logits 0 to 30",
          "the TF2 port hands the loss the Dense output (Keras uses its cached logits); "
          "the TF1 form uses the logits formula", _clipped_bce),
]}


def measure_all() -> list[dict]:
    rows = []
    for c in CAUSES.values():
        row: dict = {"key": c.key, "title": c.title, "where": c.where, "problem": c.problem,
               "remedy": c.remedy}
        try:
            m = c.measure()
            row.update(size=m.size, unit=m.unit, measured=m.summary, values=m.values)
        except NotMeasurable as e:
            row.update(size=None, unit=None, measured=f"not measured: {e}", values={})
        rows.append(row)
    return rows


def explain(as_json=False) -> int:
    from ..infra.records import versions

    rows = measure_all()
    vers = versions()
    if as_json:
        print(json.dumps({"versions": vers, "causes": rows}, indent=1))
        return 0
    print("Known causes of drift between TF1 code and its TF2 port, measured now on "
          + ", ".join(f"{k} {v}" for k, v in vers.items()) + ":\n")
    for i, r in enumerate(rows, 1):
        print(f"{i}. {r['title']} [{r['key']}]")
        print(f"   where:    {r['where']}")
        print(f"   measured: {r['measured']}")
        print(f"   on:       {r['problem']}")
        print(f"   here:     {r['remedy']}")
        print()
    return 0
