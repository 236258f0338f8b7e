"""Tier 4: the same seed twice gives the same result, per framework and mode; and the
CLI gives the same record in two fresh processes."""
import json

import pytest

from tfrepro.infra.runner import RunSettings, run_program

SMALL_ITERATIONS = {"imitation-policy": 4, "pg-tang": 6, "pg-geron": 2, "dqn-meertens": 1300}
# fewer evaluation episodes than the sources' (their count does not change what is tested: every
# episode is seeded from the run's seed); imitation-policy's 1000 test episodes took minutes in
# TF2 book mode, one Keras call per step
FEWER_EVAL = {"imitation-policy": {"test_episodes": 50}, "pg-tang": {"test_episodes": 20},
              "pg-geron": {"eval_episodes": 20}}


def _key(rec):
    return (rec["eval_returns"], rec["train_returns"], rec["env_steps"])


# random-policy in book mode plays 1000 episodes; test_random_policy_book_deterministic
# covers it on 30.
CASES = [(n, fw, m) for n in ["basic-policy", "random-policy", "imitation-policy", "pg-tang", "pg-geron"]
         for fw in ("tf1", "tf2") for m in ("fast", "book") if (n, m) != ("random-policy", "book")]
CASES += [("dqn-meertens", fw, "book") for fw in ("tf1", "tf2")]
# book mode runs the sources' per-step loops (imitation-policy's TF2 book mode takes minutes): slow
CASES = [pytest.param(*c, marks=pytest.mark.slow) if c[2] == "book" else c for c in CASES]


@pytest.mark.parametrize("name,framework,mode", CASES)
def test_same_seed_same_result(name, framework, mode):
    its, over = SMALL_ITERATIONS.get(name), FEWER_EVAL.get(name)
    a = run_program(RunSettings(name, framework, mode, seed=5, iterations=its, overrides=over))
    b = run_program(RunSettings(name, framework, mode, seed=5, iterations=its, overrides=over))
    c = run_program(RunSettings(name, framework, mode, seed=6, iterations=its, overrides=over))
    if over:  # the shortened evaluation took effect
        assert len(a["eval_returns"]) == next(iter(over.values()))
    assert _key(a) == _key(b)
    assert _key(a) != _key(c)  # and the seed matters


@pytest.mark.parametrize("framework", ["tf1", "tf2"])
def test_random_policy_book_deterministic(framework):
    from tfrepro.core.configs import RandomPolicyConfig
    from tfrepro.infra.programs import get

    module = get("random-policy").form(framework)
    runs = [module.run(RandomPolicyConfig(episodes=30), mode="book", seed=s).eval_returns for s in (2, 2, 3)]
    assert runs[0] == runs[1] != runs[2]


@pytest.mark.slow
def test_cli_same_record_in_fresh_processes(cli, tmp_path):
    for name in ("a", "b"):
        proc = cli("run", "pg-geron", "--framework", "tf2", "--seed", "11", "--iterations", "20",
                   "--quiet", "--out", f"{name}.json")
        assert proc.returncode == 0, proc.stderr[-2000:]
    a, b = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("a", "b"))
    for volatile in ("wall_s", "train_wall_s", "created", "command"):
        a.pop(volatile), b.pop(volatile)
    assert a == b


@pytest.mark.slow
def test_a_run_gives_the_same_record_after_other_runs_in_its_worker():
    """``reproduce``, ``diff --seeds`` and ``bench`` run many learning runs per worker process
    (``infra.pool.run_in_workers``): a run's record must not depend on what its process ran
    before. Two one-worker pools run TF1 runs and TF2 runs in opposite orders, so that each
    run is once the first of a fresh process and once after the other form's runs (tf-keras
    sessions, Keras 3 state, a lockstep run)."""
    from tfrepro.infra.grid import run_chunk
    from tfrepro.infra.pool import run_in_workers

    tf1 = [("dqn-pylessons", None, "tf1", "fast", (1,), 60, False),
           ("pg-geron", None, "tf1", "lockstep", (2, 3), 3, False)]
    tf2 = [("dqn-pylessons", None, "tf2", "fast", (1,), 60, False),
           ("imitation-policy", None, "tf2", "fast", (4,), 30, False)]

    def records(jobs):
        out = {}
        run_in_workers(run_chunk, jobs, 1, lambda job, recs: out.setdefault(job, [_key(r) for r in recs]))
        return out

    first_tf1, first_tf2 = records(tf1 + tf2), records(tf2 + tf1)
    assert first_tf1 == first_tf2
    for job in (tf1[0], tf2[0]):  # the DQN runs went past the replay memory's 1000 frames: they updated
        assert sum(first_tf1[job][0][1]) > 1000, first_tf1[job][0][1]


@pytest.mark.slow
def test_records_say_whether_onednn_ran():
    """oneDNN's kernels change results in the last bits (lockstep's stacked products:
    docs/traps.md) and TensorFlow turns them on by default on some CPUs only: a record's
    versions say which, as the environment set it."""
    import os
    import subprocess
    import sys

    code = ("import tensorflow, json; from tfrepro.infra.records import versions; "
            "print(json.dumps(versions()))")
    seen = {}
    for flag in ("0", "1"):
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              env={**os.environ, "TF_ENABLE_ONEDNN_OPTS": flag})
        assert proc.returncode == 0, proc.stderr[-2000:]
        seen[flag] = json.loads(proc.stdout.strip().splitlines()[-1])["onednn"]
    assert seen == {"0": "off", "1": "on"}


@pytest.mark.slow
def test_rerun_gives_a_record_back_from_its_batch(cli, tmp_path):
    """A lockstep record names its batch and CPU; ``tfrepro rerun`` runs that batch again in a
    fresh process and finds the record identical (exit 0); a record that does not come back
    (here one edited by hand) is named at its first difference (exit 1)."""
    proc = cli("reproduce", "--programs", "pg-tang", "--seeds", "3", "--iterations", "15", "--out-dir", "r")
    assert proc.returncode == 0, proc.stderr
    path = tmp_path / "r" / "runs" / "pg-tang_tf2_lockstep_seed1.json"
    rec = json.loads(path.read_text())
    assert rec["lockstep"]["batch"] == list(range(30)) and rec["cpu"] and rec["lockstep"]["batch_invariant"] is False
    proc = cli("rerun", path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "in its batch of 30 seeds (the record's batch)" in proc.stdout
    assert "identical: 100 test and 15 training episodes" in proc.stdout
    rec["train_returns"][7] += 1
    (tmp_path / "edited.json").write_text(json.dumps(rec))
    proc = cli("rerun", "edited.json")
    assert proc.returncode == 1 and "differs: train_returns[7]" in proc.stderr, proc.stdout + proc.stderr


@pytest.mark.slow
def test_a_table_grown_by_more_seeds_keeps_its_earlier_rows(cli, tmp_path):
    """``reproduce`` at 2 seeds, at 4 seeds, and the 2-seed folder grown to 4 with ``--resume``:
    seeds 0 and 1 have the same records in all three, seeds 2 and 3 in the last two (a lockstep
    seed runs in its block whatever the command asks for); the grown folder keeps its first
    records and runs only the new seeds."""
    base = ("reproduce", "--programs", "pg-tang", "--iterations", "15")
    for out, n in (("two", "2"), ("four", "4")):
        proc = cli(*base, "--seeds", n, "--out-dir", out)
        assert proc.returncode == 0, proc.stderr[-2000:]
    first = {p.name: p.read_bytes() for p in (tmp_path / "two" / "runs").glob("*.json")}
    proc = cli(*base, "--seeds", "4", "--out-dir", "two", "--resume")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "4 records reused from" in proc.stderr and "4 runs to go" in proc.stderr, proc.stderr[-1500:]
    key = ("train_returns", "eval_returns", "env_steps", "lockstep")
    for fw in ("tf1", "tf2"):
        for seed in range(4):
            name = f"pg-tang_{fw}_lockstep_seed{seed}.json"
            grown = json.loads((tmp_path / "two" / "runs" / name).read_text())
            fresh = json.loads((tmp_path / "four" / "runs" / name).read_text())
            assert [grown[k] for k in key if k != "lockstep"] == [fresh[k] for k in key if k != "lockstep"], name
            assert grown["lockstep"]["batch"] == fresh["lockstep"]["batch"] == list(range(30))
            if seed < 2:
                assert (tmp_path / "two" / "runs" / name).read_bytes() == first[name]  # kept, not rerun
