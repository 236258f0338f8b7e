"""``tfrepro diff``: TensorFlow's migration ladder between a program's TF1 graph form and
its TF2 port, rung by rung, each with the largest difference seen and its tolerance.

1. variables: the TF1 names and shapes mapped (in order) to the TF2 variables;
2. forward pass: same weights, same outputs on a fixed batch of observations;
3. loss and gradients on the same recorded batch;
4. weights after N optimizer steps on the same batches, with the optimizer pairing stated:
   for the Adam programs Keras Adam with TF1's epsilon (1e-8) by default, or the port's
   own Keras Adam (epsilon 1e-7) with ``port_optimizer=True``, which shows that drift;
   for the DQNs the TF2 optimizers that reproduce TF1's and Keras 2's RMSProp;
5. (optional, ``learning_rung``) learning over K seeds per framework in fast mode: the
   final rewards judged at the program's declared margin (equivalent, better, worse or
   inconclusive with the seeds that would decide) and both learning curves drawn.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..core.stats import median_iqr
from ..infra import programs
from ..infra.judge import judge_rewards, verdict_cell
from ..infra.twins import (
    ADAM,
    FORWARD_TOL,
    GRAD_TOL,
    WEIGHT_TOL,
    forward,
    make_pair,
    max_diff,
    observations,
)

PAIRINGS = {
    "adam-matched": "tf.train.AdamOptimizer (epsilon 1e-8) against Keras Adam with TF1's epsilon 1e-8",
    "adam-port": "tf.train.AdamOptimizer (epsilon 1e-8) against the port's Keras Adam (Keras's default "
                 "epsilon 1e-7)",
    "dqn-meertens": "tf.train.RMSPropOptimizer(1e-4) against modern_tf2.tf1_rmsprop.TF1RMSprop (TF1's "
                    "RMSProp as a Keras 3 optimizer)",
    "dqn-pylessons": "Keras 2's RMSprop (tf-keras legacy, in a TF1 graph) against "
                     "modern_tf2.tf1_rmsprop.Keras2RMSprop",
}

@dataclass
class Rung:
    number: int
    name: str
    max_diff: float | None
    tolerance: str
    passed: bool | None  # None: does not apply to this program
    detail: str = ""
    stats: dict | None = None  # rung 5: per-seed values and the comparison


def _pg_batch(name, module, agent, cfg, seed):
    from ..core.envs import VecEpisodes
    from ..core.policies import sampling_policy
    from ..core.returns import (
        discount_and_normalize_rewards,
        normalized_discounted_rewards,
    )

    venv = VecEpisodes(cfg.env_id, 3, seed=seed, max_steps=cfg.max_steps or None)
    batch = venv.play(sampling_policy(agent.weights(), module.ACTIVATION), np.random.default_rng(seed))
    rewards = batch.episode_rewards()
    if name == "pg-tang":
        weights = np.concatenate([normalized_discounted_rewards(r, cfg.discount_rate) for r in rewards])
    else:
        weights = np.concatenate(discount_and_normalize_rewards(rewards, cfg.discount_rate))
    obs, actions = batch.flat()
    return obs, actions, weights.astype(np.float32)


def _dqn_batch(cfg, seed, n):
    """A replay batch of transitions from random play (reward and terminal as the program
    stores them)."""
    from ..core.envs import make

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
    s, a, r, d, s2 = (np.asarray(x) for x in zip(*rows))
    return (s.astype(np.float32), a.astype(np.int64), r.astype(np.float32), d.astype(bool),
            s2.astype(np.float32))


def _loss_grads(name, agent, batch):
    if name in ("pg-tang", "pg-geron"):
        return None, agent.batch_gradient(*batch)
    if name == "imitation-policy":
        return agent.loss_and_gradients(batch)
    if name == "dqn-meertens":
        s, a, r, d, s2 = batch
        return agent.loss_and_gradients(s, a, r, d, s2)
    s, a, r, d, s2 = batch
    return agent.loss_and_gradients(s, a, r, s2, d)


def _steps(name, agent, batch, n):
    for k in range(n):
        if name in ("pg-tang", "pg-geron"):
            agent.fast_update(*batch)
        elif name == "imitation-policy":
            agent.train_step(batch[k % len(batch)])  # one Adam step per observation, as trained
        elif name == "dqn-meertens":
            s, a, r, d, s2 = batch
            agent.fast_update(s, a, r, d, s2, with_summary=False) if hasattr(agent, "graph") \
                else agent.fast_update(s, a, r, d, s2)
        else:
            s, a, r, d, s2 = batch
            agent.fast_update(s, a, r, s2, d)
    return agent.weights()


def climb(name, steps=10, seed=0, tf2_class=None, port_optimizer=False, tf2_optimizer=None,
          pairing=None) -> list[Rung]:
    """Rungs 1-4 for one program; each rung reports even when an earlier one failed."""
    prog, cfg, a, b = make_pair(name, seed, tf2_class, port_optimizer, tf2_optimizer)
    pairing = pairing or PAIRINGS.get(("adam-port" if port_optimizer else "adam-matched")
                                      if name in ADAM else name)
    rungs = []
    try:
        # 1. variables
        n1, n2 = a.variable_names(), b.variable_names()
        s1, s2 = [tuple(w.shape) for w in a.weights()], [tuple(w.shape) for w in b.weights()]
        bad = [f"{x} {list(p)} -> {y} {list(q)}" for x, p, y, q in zip(n1, s1, n2, s2) if p != q]
        if len(n1) != len(n2):
            bad.append(f"{len(n1)} TF1 variables, {len(n2)} TF2 variables")
        mapping = ", ".join(f"{x} -> {y}" for x, y in zip(n1, n2))
        rungs.append(Rung(1, "variables", None, "names and shapes map one to one", not bad,
                          "; ".join(bad) if bad else mapping))
        same_shapes = not bad
        # 2. forward pass
        obs = observations()
        if same_shapes:
            d, ok = max_diff([forward(name, a, obs)], [forward(name, b, obs)], *FORWARD_TOL)
            what = "Q values" if prog.q_network else "action probabilities"
            rungs.append(Rung(2, "forward pass", d, "rtol 1e-6, atol 1e-5", ok, f"{what} on 64 observations"))
        else:
            rungs.append(Rung(2, "forward pass", None, "rtol 1e-6, atol 1e-5", False, "weights do not map"))
        # 3 and 4
        if not prog.iterations_field:
            for k, rung in ((3, "loss and gradients"), (4, f"weights after {steps} steps")):
                rungs.append(Rung(k, rung, None, "-", None, "no training in this program"))
            return rungs
        if name in ("pg-tang", "pg-geron"):
            batch = _pg_batch(name, prog.form("tf1"), a, cfg, seed + 3)
            what = f"{len(batch[0])} recorded steps of 3 episodes"
        elif name == "imitation-policy":
            batch = obs
            what = "64 observations, the basic policy's labels"
        else:
            batch = _dqn_batch(cfg, seed + 3, cfg.batch_size)
            what = f"a replay batch of {cfg.batch_size} transitions"
        if same_shapes:
            l1, g1 = _loss_grads(name, a, batch)
            l2, g2 = _loss_grads(name, b, batch)
            d, ok = max_diff(g1, g2, *GRAD_TOL)
            if l1 is not None:
                dl, okl = max_diff([l1], [l2], *GRAD_TOL)
                d, ok = max(d, dl), ok and okl
                what += f"; loss {l1:.6g} / {l2:.6g}"
            rungs.append(Rung(3, "loss and gradients", d, "rtol 1e-5, atol 1e-6", ok, what))
            w1, w2 = _steps(name, a, batch, steps), _steps(name, b, batch, steps)
            d, ok = max_diff(w1, w2, *WEIGHT_TOL)
            rungs.append(Rung(4, f"weights after {steps} steps", d, "rtol 1e-5, atol 1e-5", ok, pairing))
        else:
            rungs.append(Rung(3, "loss and gradients", None, "rtol 1e-5, atol 1e-6", False, "weights do not map"))
            rungs.append(Rung(4, f"weights after {steps} steps", None, "rtol 1e-5, atol 1e-5", False,
                              "weights do not map"))
        return rungs
    finally:
        if hasattr(a, "close"):
            a.close()


def learning_rung(tf1_values, tf2_values, alpha=0.05, curves=None, label="", margins=None) -> Rung:
    """Rung 5 from the final rewards (one per seed) of each framework, judged in the four
    words of ``infra.judge`` at the program's declared margin (``margins`` overrides it):
    passes when TF2 is ``equivalent`` to TF1, fails when ``worse`` or ``better``, and is
    shown but not judged when ``inconclusive``, with the seeds per side that would decide."""
    a, b = list(map(float, tf1_values)), list(map(float, tf2_values))
    j = judge_rewards(label, a, b, alpha, margins)
    (m1, l1, h1), (m2, l2, h2) = median_iqr(a), median_iqr(b)
    ci = (f"[90% CI {j['ci_low']:+.1f}, {j['ci_high']:+.1f}]" if j.get("ci_low") is not None else "")
    detail = (f"final reward TF1 median {m1:.1f} [IQR {l1:.1f}, {h1:.1f}], TF2 {m2:.1f} "
              f"[{l2:.1f}, {h2:.1f}]; TF2-TF1 mean {j['diff_mean']:+.1f} {ci} at a margin of "
              f"±{j['margin']:.3g} ({j['margin_source']}): {verdict_cell(j)}")
    if j.get("collapse"):
        k = j["collapse"]
        detail += (f"; collapsed TF1 {k['base'][0]}/{k['base'][1]}, TF2 {k['new'][0]}/{k['new'][1]} "
                   f"({k['verdict']}), the rest {verdict_cell(j['kept'])}")
    if curves:
        detail += f"; curves: {curves}"
    passed = {"equivalent": True, "worse": False, "better": False}.get(j["verdict"])
    stats = dict(j, tf1=a, tf2=b, tf1_median=m1, tf2_median=m2)
    return Rung(5, f"learning over {len(a)}+{len(b)} seeds", abs(m2 - m1),
                f"TOST within ±{j['margin']:.3g}", passed, detail, stats)


def climb_learning(entry, seeds, out_dir, iterations=None, workers=2, alpha=0.05, margins=None,
                   reuse=False) -> Rung:
    """Rung 5 for ``entry`` (NAME or NAME:VARIANT): both forms in fast mode over ``seeds``,
    in fresh processes; records under ``out_dir/runs``, learning curves in
    ``out_dir/curves.png``."""
    from pathlib import Path

    from ..infra.grid import plot_curves, run_grid

    prog, variant = programs.parse_entry(entry)
    out_dir = Path(out_dir)
    records = run_grid([(prog.name, variant)], "fast", list(seeds), out_dir, workers=workers,
                       iterations=iterations, desc=f"diff rung 5, {entry}", reuse=reuse)
    values = {fw: [r["eval_mean"] for r in sorted(records, key=lambda r: r["seed"])
                   if r["framework"] == fw] for fw in programs.FRAMEWORKS}
    png = plot_curves(records, [(prog.name, variant)], out_dir / "curves.png")
    rung = learning_rung(values["tf1"], values["tf2"], alpha, curves=png,
                         label=programs.entry_label(prog.name, variant), margins=margins)
    rung.stats.update(program=programs.entry_label(prog.name, variant), seeds=list(seeds),
                      iterations=iterations, runs=str(out_dir / "runs"))
    return rung


def climb_learning_auto(entry, out_dir, pilot=5, max_seeds=60, **kw) -> Rung:
    """Rung 5 with as many seeds as the margin needs: a pilot of ``pilot`` seeds per side,
    then, while inconclusive, the seeds per side that its spread asks for (at most
    ``max_seeds``), the pilot's runs kept and the verdict taken over all of them (an internal
    pilot: the sample size re-estimated from the first runs' variance)."""
    rung = climb_learning(entry, range(pilot), out_dir, **kw)
    need = rung.stats.get("seeds_needed")
    if rung.stats.get("kept"):
        need = rung.stats["kept"].get("seeds_needed") or need
    plan = {"pilot": pilot, "needed": need, "max_seeds": max_seeds}
    if rung.passed is None and need and need > pilot:
        n = min(need, max_seeds)
        rung = climb_learning(entry, range(n), out_dir, reuse=True, **kw)
        plan["ran"] = n
        if need > max_seeds:
            rung.detail += f"; the pilot's spread asked for {need} seeds per side, --max-seeds capped it at {max_seeds}"
    else:
        plan["ran"] = pilot
    rung.stats["auto"] = plan
    return rung


def rungs_json(name, rungs) -> dict:
    return {"program": name, "passed": all(r.passed is not False for r in rungs),
            "rungs": [asdict(r) for r in rungs]}


def table(name, rungs) -> str:
    lines = [f"{name}:", "| rung | check | max diff | tolerance | result | detail |", "|---|---|---|---|---|---|"]
    for r in rungs:
        result = {True: "pass", False: "FAIL", None: "n/a"}[r.passed]
        diff = "–" if r.max_diff is None else f"{r.max_diff:.3g}"
        lines.append(f"| {r.number} | {r.name} | {diff} | {r.tolerance} | {result} | {r.detail} |")
    return "\n".join(lines)
