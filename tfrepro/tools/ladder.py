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
from pathlib import Path

from ..core.stats import median_iqr
from ..core.protocol import shapes_map
from ..infra import programs
from ..infra.judge import judge_rewards, verdict_cell
from ..infra.twins import FORWARD_TOL, GRAD_TOL, WEIGHT_TOL, as_list, make_pair, max_diff, observations


@dataclass
class Rung:
    number: int
    name: str
    max_diff: float | None
    tolerance: str
    passed: bool | None  # None: does not apply to this program
    detail: str = ""
    stats: dict | None = None  # rung 5: per-seed values and the comparison


def _steps(spec, agent, batch, n):
    for step in spec.hook("ladder_batches")(batch, n):
        agent.fast_update(step)
    return agent.weights()


def climb(name, steps=10, seed=0, tf2_class=None, port_optimizer=False, tf2_optimizer=None,
          pairing=None) -> list[Rung]:
    """Rungs 1-4 for one program, through the agent protocol only (``forward``,
    ``loss_and_gradients``, ``fast_update`` and the spec's batch hooks); each rung reports
    even when an earlier one failed."""
    prog, cfg, a, b = make_pair(name, seed, tf2_class, port_optimizer, tf2_optimizer)
    pairing = pairing or (prog.port_pairing if port_optimizer and prog.port_pairing else prog.pairing) \
        or "each form's own optimizer"
    rungs = []
    with a, b:
        # 1. variables
        n1, n2 = a.variable_names(), b.variable_names()
        s1, s2 = [tuple(w.shape) for w in a.weights()], [tuple(w.shape) for w in b.weights()]
        bad = [f"{x} {list(p)} -> {y} {list(q)}" for x, p, y, q in zip(n1, s1, n2, s2) if not shapes_map(p, q)]
        if len(n1) != len(n2):
            bad.append(f"{len(n1)} TF1 variables, {len(n2)} TF2 variables")
        mapping = ", ".join(f"{x} -> {y}" + (f" ({list(p)} as {list(q)})" if p != q else "")
                            for x, p, y, q in zip(n1, s1, n2, s2))
        rungs.append(Rung(1, "variables", None, "names and shapes map one to one", not bad,
                          "; ".join(bad) if bad else mapping))
        same_shapes = not bad
        # 2. forward pass
        obs = observations()
        if same_shapes:
            d, ok = max_diff(as_list(a.forward(obs)), as_list(b.forward(obs)), *FORWARD_TOL)
            rungs.append(Rung(2, "forward pass", d, "rtol 1e-6, atol 1e-5", ok,
                              f"{prog.outputs_label} on {len(obs)} observations"))
        else:
            rungs.append(Rung(2, "forward pass", None, "rtol 1e-6, atol 1e-5", False, "weights do not map"))
        # 3 and 4
        if not prog.trains:
            for k, rung in ((3, "loss and gradients"), (4, f"weights after {steps} steps")):
                rungs.append(Rung(k, rung, None, "-", None, "no training in this program"))
            return rungs
        batch, what = prog.hook("record_batch")(prog, cfg, a, seed + 3)
        if same_shapes:
            l1, g1 = a.loss_and_gradients(batch)
            l2, g2 = b.loss_and_gradients(batch)
            d, ok = max_diff(g1, g2, *GRAD_TOL)
            if l1 is not None:
                dl, okl = max_diff([l1], [l2], *GRAD_TOL)
                d, ok = max(d, dl), ok and okl
                what += f"; loss {l1:.6g} / {l2:.6g}"
            rungs.append(Rung(3, "loss and gradients", d, "rtol 1e-5, atol 1e-6", ok, what))
            w1, w2 = _steps(prog, a, batch, steps), _steps(prog, b, batch, steps)
            d, ok = max_diff(w1, w2, *WEIGHT_TOL)
            rungs.append(Rung(4, f"weights after {steps} steps", d, "rtol 1e-5, atol 1e-5", ok, pairing))
        else:
            rungs.append(Rung(3, "loss and gradients", None, "rtol 1e-5, atol 1e-6", False, "weights do not map"))
            rungs.append(Rung(4, f"weights after {steps} steps", None, "rtol 1e-5, atol 1e-5", False,
                              "weights do not map"))
        return rungs


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
    assert rung.stats is not None  # rung 5 always carries its statistics
    rung.stats.update(program=programs.entry_label(prog.name, variant), seeds=list(seeds),
                      iterations=iterations, runs=str(out_dir / "runs"))
    return rung


def climb_learning_auto(entry, out_dir, pilot=5, max_seeds=60, **kw) -> Rung:
    """Rung 5 with as many seeds as the margin needs: a pilot of ``pilot`` seeds per side,
    then, while inconclusive, the seeds per side that its spread asks for (at most
    ``max_seeds``), the pilot's runs kept and the verdict taken over all of them (an internal
    pilot: the sample size re-estimated from the first runs' variance)."""
    rung = climb_learning(entry, range(pilot), out_dir, **kw)
    stats = rung.stats or {}
    need = stats.get("seeds_needed")
    if stats.get("kept"):
        need = stats["kept"].get("seeds_needed") or need
    plan = {"pilot": pilot, "needed": need, "max_seeds": max_seeds}
    if rung.passed is None and need and need > pilot:
        n = min(need, max_seeds)
        rung = climb_learning(entry, range(n), out_dir, reuse=True, **kw)
        plan["ran"] = n
        if need > max_seeds:
            rung.detail += f"; the pilot's spread asked for {need} seeds per side, --max-seeds capped it at {max_seeds}"
    else:
        plan["ran"] = pilot
    assert rung.stats is not None  # rung 5 always carries its statistics
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


def climb_entries(entries, *, steps=10, seed=0, port_optimizer=False, seeds=None, out_root=None,
                  iterations=None, workers=2, alpha=0.05, margins=None, resume=False, pilot=5, max_seeds=60,
                  show=True) -> list:
    """``tfrepro diff``: rungs 1-4 of each (program, variant) entry, and rung 5 with ``seeds``
    (K, or ``"auto"``: a pilot, then the seeds that would decide, up to ``max_seeds``), its
    records and curves in ``out_root``/ENTRY. Prints each program's table when ``show``;
    returns one ``rungs_json`` per entry."""
    results = []
    for name, variant in entries:
        rungs = climb(name, steps=steps, seed=seed, port_optimizer=port_optimizer)
        if seeds is not None:
            label = programs.entry_label(name, variant)
            out_dir = Path(out_root) / label.replace(":", "-")
            kw = dict(iterations=iterations, workers=workers, alpha=alpha, margins=margins or {})
            if not programs.get(name).iterations_field:
                rungs.append(Rung(5, "learning", None, "-", None, "no training in this program"))
            elif seeds == "auto":
                rungs.append(climb_learning_auto(label, out_dir, pilot=pilot, max_seeds=max_seeds, **kw))
            else:
                rungs.append(climb_learning(label, range(seeds), out_dir, **kw, **({"reuse": True} if resume else {})))
        results.append(rungs_json(programs.entry_label(name, variant) if seeds is not None else name, rungs))
        if show:
            print(table(name, rungs))
            print()
    return results
