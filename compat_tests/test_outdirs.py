"""Tier 5 (tools): ``reproduce`` and ``diff --seeds`` never write over results already on
disk unasked, and ``reproduce``'s default is a 10-minute budget.

A user's run lands in a new folder (``results/reproduce-DATE-TIME``); a folder that holds an
earlier run's results needs ``--resume`` (reuse its runs) or ``--force`` (write over them),
said in one line before any run starts. The runs themselves are stood in (``run_grid``
returns synthetic records): what is tested is everything around them.
"""
from __future__ import annotations

import numpy as np
import pytest

from tfrepro.infra import programs
from tfrepro.infra.records import SCHEMA, versions


def _records(entries, seeds):
    out = []
    for (name, variant) in entries:
        for fw in ("tf1", "tf2"):
            for s in (seeds[(name, variant)] if isinstance(seeds, dict) else seeds):
                g = np.random.default_rng([s, fw == "tf2"])
                rewards = list(100 + g.normal(0, 5, 4))
                out.append({"schema": SCHEMA, "program": name, "variant": variant or "book", "framework": fw,
                            "mode": "fast", "seed": s, "env_id": "CartPole-v0", "eval_returns": rewards,
                            "eval_mean": float(np.mean(rewards)), "train_returns": list(g.normal(50, 5, 20)),
                            "env_steps": 10, "wall_s": 1.0, "versions": versions()})
    return out


@pytest.fixture
def grid(monkeypatch):
    """``run_grid`` stood in: records what it was asked to run."""
    import tfrepro.tools.reproduce as rep

    asked = []

    def fake(entries, mode, seeds, out_dir, **kw):
        asked.append({"entries": entries, "seeds": seeds, "out_dir": out_dir})
        return _records(entries, seeds)

    monkeypatch.setattr(rep, "run_grid", fake)

    def fake_budget(entries, mode, out_dir, budget, workers, iterations, margins, max_seeds, spending, reuse=False,
                    prior=None):
        from tfrepro.tools.budget import Track

        seeds = {e: list(range(programs.get(e[0]).quick_seeds)) for e in entries}
        asked.append({"entries": entries, "seeds": seeds, "out_dir": out_dir, "budget": budget,
                      "max_seeds": max_seeds, "spending": spending, "prior": prior})
        tracks = [Track(n, v, "fast", programs.get(n).quick_seeds, max_seeds, looks=[len(seeds[n, v])])
                  for n, v in entries]
        return _records(entries, seeds), tracks

    import tfrepro.tools.budget as budget

    monkeypatch.setattr(budget, "run_budget", fake_budget)
    return asked


def _one_line(proc, needle):
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and needle in proc.stderr, proc.stderr


def test_default_is_a_new_folder_each_time(cli_here, grid, tmp_path):
    for _ in range(2):
        proc = cli_here("reproduce", "--programs", "pg-geron", "--seeds", "3")
        assert proc.returncode == 0, proc.stderr
    made = sorted(p.name for p in (tmp_path / "results").iterdir())
    assert len(made) == 2 and all(m.startswith("reproduce-") for m in made), made
    for m in made:
        assert (tmp_path / "results" / m / "summary.json").is_file()
        assert (tmp_path / "results" / m / "index.html").is_file()


def test_a_folder_with_results_needs_resume_or_force(cli_here, grid, tmp_path):
    assert cli_here("reproduce", "--programs", "pg-geron", "--seeds", "3", "--out-dir", "rep").returncode == 0
    before = (tmp_path / "rep" / "summary.json").read_bytes()
    proc = cli_here("reproduce", "--programs", "pg-geron", "--seeds", "3", "--out-dir", "rep")
    _one_line(proc, "--resume reuses its runs, --force writes over them")
    assert (tmp_path / "rep" / "summary.json").read_bytes() == before and len(grid) == 1
    assert cli_here("reproduce", "--programs", "pg-geron", "--seeds", "3", "--out-dir", "rep",
                    "--force").returncode == 0
    assert cli_here("reproduce", "--programs", "pg-geron", "--seeds", "3", "--out-dir", "rep",
                    "--resume").returncode == 0


def test_resume_needs_the_folder_it_continues(cli_here, grid):
    _one_line(cli_here("reproduce", "--resume"), "give its --out-dir")
    _one_line(cli_here("diff", "pg-geron", "--seeds", "2", "--resume"), "give its --out-dir")
    assert not grid


def test_diff_seeds_refuses_a_folder_with_results(cli_here, tmp_path):
    runs = tmp_path / "d" / "pg-geron" / "runs"
    runs.mkdir(parents=True)
    (runs / "pg-geron_tf1_fast_seed0.json").write_text('{"schema": "tfrepro.result/1"}')  # a run of ours
    _one_line(cli_here("diff", "pg-geron", "--seeds", "2", "--out-dir", "d"), "--resume reuses its runs")
    (runs / "pg-geron_tf1_fast_seed0.json").write_text("{}")  # a file of the user's: no hint to --resume into it
    _one_line(cli_here("diff", "pg-geron", "--seeds", "2", "--out-dir", "d"), "did not write")
    _one_line(cli_here("diff", "pg-geron", "--force"), "--force applies to rung 5")


def test_a_ten_minute_budget_is_the_default(cli_here, grid, tmp_path):
    proc = cli_here("reproduce")
    assert proc.returncode == 0, proc.stderr
    assert grid[0]["budget"] == 600 and grid[0]["max_seeds"] == 300 and grid[0]["spending"] == "pocock"
    assert "budget 10 min" in proc.stdout and "--seeds N for a fixed design" in proc.stdout
    _one_line(cli_here("reproduce", "--budget", "5m", "--seeds", "4"), "without --seeds or --full")
    _one_line(cli_here("reproduce", "--budget", "0s"), "a budget of 1 s to 7 days")
    _one_line(cli_here("reproduce", "--budget", "ten"), "expected a duration")
    # planned from this checkout's --full run: every program's spread, blind to its difference
    assert "planned from the spreads in results/reproduce-full/summary.json" in proc.stdout
    assert set(grid[0]["prior"].needs) == set(grid[0]["entries"])
    # costs measured by that run's records: only where they were made on this CPU
    assert all(isinstance(v, float) and v > 0 for v in grid[0]["prior"].scales.values())
    _one_line(cli_here("reproduce", "--plan-from", "nosuch.json"), "--plan-from nosuch.json: no such file")
    (tmp_path / "other.json").write_text('{"rows": []}')
    _one_line(cli_here("reproduce", "--plan-from", "other.json"), "no per-seed values of these programs")
    out = tmp_path / grid[0]["out_dir"]
    assert out.name.startswith("reproduce-") and (out / "summary.json").is_file()
