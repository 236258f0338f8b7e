"""Tier 2: group-sequential verdicts (``tfrepro.core.sequential``) on runs of known truth:
the boundaries against published values, the error rate over looks at and beyond the margin
(thousands of simulated trials, looks skipped as a budget may skip them), the naive procedure
shown to exceed it, the expected seeds against the fixed design's, and the simulation's rule
against ``compare_means`` itself."""
from __future__ import annotations

import math

import numpy as np
import pytest

from tfrepro.core import sequential
from tfrepro.core.verdicts import compare_means

TRIALS = 4000
MC = 3 * math.sqrt(0.05 * 0.95 / TRIALS)  # three Monte Carlo standard errors at a 5% rate


def test_boundaries_are_the_published_ones():
    """Lan-DeMets spending, five equally spaced looks, one-sided 0.025 (gsDesign's sfLDOF and
    sfLDPocock tables)."""
    obf = sequential.boundaries([0.2, 0.4, 0.6, 0.8, 1.0], alpha=0.025, kind="obf")
    assert obf == pytest.approx([4.877, 3.357, 2.680, 2.290, 2.031], abs=2e-3)
    poc = sequential.boundaries([0.2, 0.4, 0.6, 0.8, 1.0], alpha=0.025, kind="pocock")
    assert poc == pytest.approx([2.438, 2.427, 2.410, 2.397, 2.386], abs=3e-3)
    assert sequential.boundaries([1.0]) == pytest.approx([1.6449], abs=1e-4)  # one look: the fixed design
    for bad in ([], [0.5, 0.5], [0.0, 1.0], [0.5, 1.2]):
        with pytest.raises(ValueError):
            sequential.boundaries(bad)


@pytest.mark.parametrize("kind", sequential.SPENDING)
@pytest.mark.parametrize("skip", [0.0, 0.5])
def test_wrong_equivalent_stays_at_alpha_over_looks(kind, skip):
    """Two forms that differ by exactly the margin (the hardest case) or by more are called
    `equivalent` at most alpha of the time over all looks, whether every look is read or a
    budget skips half of them."""
    for delta in (0.5, 0.75):
        sim = sequential.simulate(delta, 0.5, look_size=10, n_max=100, trials=TRIALS, kind=kind, skip=skip, seed=1)
        assert sim["rates"]["equivalent"] <= 0.05 + MC, sim


def test_the_naive_procedure_exceeds_alpha():
    """Reading every look at alpha itself (what repeated looks without spending do) calls a
    difference of the margin `equivalent` more often than alpha: the check above can fail."""
    sim = sequential.simulate(0.5, 0.5, look_size=10, n_max=100, trials=TRIALS, adjusted=False, seed=1)
    assert sim["rates"]["equivalent"] > 0.05 + MC, sim


@pytest.mark.parametrize("kind", sequential.SPENDING)
def test_a_true_equivalence_is_found_with_about_the_fixed_designs_seeds(kind):
    """With no true difference and at most 1.4 times the fixed design's seeds (70 per side for
    80% power here), the sequential procedure decides `equivalent` at least as often as the
    fixed design (80%) with at most 10% more seeds on average (it stops early where the spread
    allows and goes on where a fixed design would have stopped undecided); wrong `worse` /
    `better` stay rare."""
    sim = sequential.simulate(0.0, 0.5, look_size=10, n_max=100, trials=TRIALS, kind=kind, seed=2)
    fixed = sim["fixed_design_seeds"]
    assert fixed == 70 and sim["rates"]["equivalent"] >= 0.80, sim
    assert sim["mean_seeds"] <= 1.1 * fixed, sim
    assert sim["rates"]["worse"] + sim["rates"]["better"] <= 0.01, sim


def test_the_simulation_decides_as_compare_means_does():
    """The vectorised rule of ``simulate`` is ``compare_means``'s at the look's nominal level:
    the same verdicts on the same samples."""
    rng = np.random.default_rng(5)
    alphas = sequential.nominal_alphas([0.1, 0.2, 0.3], kind="pocock")
    for _ in range(60):
        n = int(rng.integers(5, 40))
        a, b = rng.normal(0, 1, n), rng.normal(rng.uniform(-1, 1), 1, n)
        a_k = float(rng.choice(alphas))
        want = compare_means(a, b, 0.5, alpha=a_k, n_boot=0)["verdict"]
        from scipy.stats import t as student

        va, vb = a.var(ddof=1) / n, b.var(ddof=1) / n
        se, df = math.sqrt(va + vb), (va + vb) ** 2 / (va ** 2 / (n - 1) + vb ** 2 / (n - 1))
        d = b.mean() - a.mean()
        lo, hi = d - student.isf(a_k, df) * se, d + student.isf(a_k, df) * se
        got = ("equivalent" if -0.5 < lo and hi < 0.5 else "worse" if hi < -0.5 else
               "better" if lo > 0.5 else "inconclusive")
        assert got == want, (n, a_k, d, lo, hi)


def test_a_look_reads_the_judge_at_its_nominal_level_and_says_when_it_is_futile():
    rng = np.random.default_rng(3)
    base, new = rng.normal(100, 10, 30), rng.normal(100, 10, 30)
    seen = []

    def judge(b, n, a):
        seen.append(a)
        return compare_means(b, n, 2.0, alpha=a, n_boot=0)

    out = sequential.read_look(judge, base, new, [30], 300, kind="pocock")
    assert seen == [pytest.approx(out["nominal_alpha"])] and 0 < out["nominal_alpha"] < 0.05
    assert out["look"] == 1 and out["looks"] == [30] and out["n_max"] == 300
    # late in the plan, a difference of exactly the margin: neither equivalence nor a verdict beyond
    # the margin can come within the 300 seeds: futile, stopped without a verdict
    b = rng.normal(100, 10, 280)
    at = sequential.read_look(judge, b, b[::-1] + 2.0, list(range(28, 281, 28)), 300, kind="pocock")
    assert at["verdict"] == "inconclusive" and "would neither fit" in at["futile"], at
    # early, the same difference is not futile: its interval is still wide enough to go either way
    early = sequential.read_look(judge, b[:30], b[:30][::-1] + 2.0, [30], 300, kind="pocock")
    assert "futile" not in early, early
    spent = sequential.read_look(judge, base, new, [10, 20, 30], 30, kind="pocock")
    assert spent["verdict"] != "inconclusive" or "spent" in spent["futile"]


@pytest.mark.slow
def test_a_budget_run_reads_looks_and_resumes_without_running_again(cli, tmp_path):
    """``reproduce --budget``: basic-policy is decided at its first look; random-policy (whose
    spread needs hundreds of seeds) takes looks of 30 until the plan's seeds are spent, it is
    futile, or the budget ends; every look reuses the earlier looks' records. ``--resume``
    reads the same looks from disk without a run."""
    import json

    args = ("reproduce", "--budget", "45s", "--programs", "basic-policy", "random-policy", "--max-seeds", "90",
            "--out-dir", "b")
    proc = cli(*args)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = {r["program"]: r for r in json.loads((tmp_path / "b" / "summary.json").read_text())["rows"]}
    basic, rand = rows["basic-policy"], rows["random-policy"]
    assert basic["sequential"]["looks"] == [30] and basic["tf2_vs_tf1"]["verdict"] == "equivalent"
    assert basic["tf2_vs_tf1"]["nominal_alpha"] < 0.05 and basic["sequential"]["state"] == "decided"
    looks = rand["sequential"]["looks"]
    assert looks and all(b - a == 30 for a, b in zip([0] + looks, looks)) and looks[-1] <= 90
    assert rand["sequential"]["state"] in ("decided", "futile", "spent", "out of time", "waiting")
    assert len(rand["tf1"]["seeds"]) == looks[-1]
    table = (tmp_path / "b" / "table.md").read_text()
    assert "equivalent at look 1 (30+30 seeds, nominal alpha" in table and "group-sequential" in table
    runs = {p.name: p.read_bytes() for p in (tmp_path / "b" / "runs").glob("*.json")}
    proc = cli(*args, "--resume")
    assert proc.returncode == 0, proc.stderr[-2000:]
    again = {r["program"]: r for r in json.loads((tmp_path / "b" / "summary.json").read_text())["rows"]}
    assert again["basic-policy"]["sequential"]["looks"] == [30]
    assert again["random-policy"]["sequential"]["looks"][: len(looks)] == looks
    for name, data in runs.items():
        assert (tmp_path / "b" / "runs" / name).read_bytes() == data, name


def test_the_plan_puts_first_what_its_spread_can_decide_and_leaves_out_what_the_budget_cannot(tmp_path):
    """``reproduce --budget`` with planning spreads: a program with no spread to plan on gets
    its first look first; then the program cheapest to decide by its planning spread; a program
    whose spread asks for more than the time left is left out (no look taken, its need said)
    rather than spending the budget on a look that cannot settle it. With time enough, it runs."""
    from tfrepro.tools.budget import Plan, Scheduler

    entries = [("dqn-pylessons", None), ("pg-geron", None), ("basic-policy", None)]
    prior = {("dqn-pylessons", None): 120, ("pg-geron", None): 27}

    def order(budget_s):
        sched = Scheduler(entries, "lockstep", tmp_path / "runs", budget_s, 2, prior=Plan(prior), log=lambda m: None)
        names = []
        while (job := sched.next_job()) is not None:
            if job[0] not in names:
                names.append(job[0])
        return names, {t.name: t for t in sched.tracks}

    names, tracks = order(120)
    assert names == ["basic-policy", "pg-geron"]
    left = tracks["dqn-pylessons"]
    assert left.state == "out of time" and not left.looks and left.prior == 120 and left.prior_cost > 120
    names, tracks = order(7 * 86400)
    assert names == ["basic-policy", "pg-geron", "dqn-pylessons"]


def test_planning_spreads_come_from_per_seed_values_blind_to_the_difference(tmp_path):
    """``prior_needs``: both sides' per-seed values pooled, the fixed design's count at a
    difference of 0 (the verdict in the file is not read); rows missing or unreadable files
    leave a program to plan from its own first look."""
    import json

    from tfrepro.core.verdicts import seeds_needed
    from tfrepro.tools.budget import prior_needs

    rng = np.random.default_rng(0)
    a, b = rng.normal(190, 15, 30), rng.normal(190, 15, 30)
    row = {"program": "pg-geron", "tf1": {"eval_means": a.tolist()}, "tf2": {"eval_means": b.tolist()},
           "tf2_vs_tf1": {"verdict": "worse"}}
    path = tmp_path / "summary.json"
    path.write_text(json.dumps({"rows": [row]}))
    need = prior_needs(path, [("pg-geron", None), ("basic-policy", None)])
    sd = float(np.std(np.concatenate([a, b]), ddof=1))
    assert need == {("pg-geron", None): seeds_needed(sd, 0.0, 10.0)}
    row["tf2_vs_tf1"] = {"verdict": "equivalent"}  # the verdict does not move the plan
    path.write_text(json.dumps({"rows": [row]}))
    assert prior_needs(path, [("pg-geron", None)]) == need
    assert prior_needs(path, [("pg-geron", None)], margins={"*": 20.0})[("pg-geron", None)] < need[("pg-geron", None)]
    for bad in ("{", "[]", '{"rows": 3}', '{"rows": [{"program": "pg-geron", "tf1": 5}]}'):
        path.write_text(bad)
        assert prior_needs(path, [("pg-geron", None)]) == {}


def test_a_program_not_yet_run_is_never_assumed_faster_than_its_cost_model(tmp_path):
    """Cheap programs' jobs end far under their estimate (a warm worker does not pay the fixed
    cost the estimate counts); that must not promise a costly program's first look in a
    fraction of its time: before its own jobs, a program is planned at its cost model or slower."""
    from tfrepro.tools.budget import Plan, Scheduler

    entries = [("random-policy", None), ("dqn-pylessons", None)]
    sched = Scheduler(entries, "fast", tmp_path / "runs", 7 * 86400, 2, prior=Plan({("dqn-pylessons", None): 6}),
                      log=lambda m: None)
    rand, pyl = sched.tracks
    rand.seconds, rand.estimated, sched.scale = 2.0, 20.0, 0.1  # random's jobs ran at a tenth of the estimate
    look = sched._look_jobs(pyl, pyl.look_size)
    full = sched._estimate(look, pyl)
    assert sched._scale(pyl) == 1.0 and sched._scale(rand) == pytest.approx(0.1)
    sched.t0 -= sched.budget - 0.5 * full  # half the look's cost left: it must not start
    pyl.state = "waiting"
    rand.state = "decided"
    assert sched.next_job() is None and pyl.state == "out of time" and not pyl.looks


def test_a_programs_first_look_is_planned_at_what_an_earlier_run_measured_on_this_cpu(tmp_path):
    """``measured_scales``: an earlier run's records (made on this CPU, at this run's iterations)
    give each program its seconds over ``job_cost``'s estimate, a lockstep batch counted once;
    records of another CPU or another training length count for nothing. Before its own jobs,
    the scheduler plans the program's look at that measured cost, not its ``Timing``'s."""
    import json

    from tfrepro.infra import programs
    from tfrepro.infra.grid import PROCESS_SECONDS, job_cost
    from tfrepro.infra.records import cpu_model
    from tfrepro.tools.budget import Plan, Scheduler, measured_scales

    cpu, its = cpu_model(), programs.get("pg-geron").make_config().iterations
    batch = list(range(30))
    work = job_cost(("pg-geron", None, "tf1", "lockstep", batch, None, False)) - PROCESS_SECONDS
    runs = tmp_path / "runs"
    runs.mkdir()

    def rec(fw, seed, cpu=cpu, iterations=its, wall=0.25 * work, variant="book"):
        return {"program": "pg-geron", "variant": variant, "framework": fw, "mode": "lockstep", "seed": seed,
                "cpu": cpu, "config": {"iterations": iterations}, "wall_s": 1.0,
                "lockstep": {"batch": batch, "wall_s": wall, "seeds": 30}}

    for fw in ("tf1", "tf2"):
        for s in batch:
            (runs / f"pg-geron_{fw}_lockstep_seed{s}.json").write_text(json.dumps(rec(fw, s)))
    (runs / "other-cpu.json").write_text(json.dumps(rec("tf1", 0, cpu="Another CPU", wall=50 * work)))
    (runs / "other-length.json").write_text(json.dumps(rec("tf1", 0, iterations=its + 1, wall=50 * work)))
    (runs / "junk.json").write_text("{")
    entries = [("pg-geron", None), ("pg-tang", None)]
    scales = measured_scales(runs, entries, "lockstep")
    assert scales == {("pg-geron", None): pytest.approx(0.25)}
    assert measured_scales(tmp_path / "none", entries, "lockstep") == {}
    sched = Scheduler(entries, "lockstep", tmp_path / "new", 7 * 86400, 2, prior=Plan({}, scales), log=lambda m: None)
    geron, tang = sched.tracks
    assert sched._scale(geron) == pytest.approx(0.25) and sched._scale(tang) == 1.0
    geron.seconds, geron.estimated = 30.0, 10.0  # its own jobs, once run, outweigh what was measured before
    assert sched._scale(geron) == pytest.approx(3.0)
