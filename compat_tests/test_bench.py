"""Tier 8: ``tfrepro bench`` and ``tfrepro compare``: the results schema, resume after a killed run,
compare's verdicts on synthetic files with known differences, malformed inputs, and the
Ray backend against the local one."""
import contextlib
import copy
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tfrepro.core.errors import UsageError
from tfrepro.infra.benchfile import SCHEMA, load_results
from tfrepro.tools.bench import plan
from tfrepro.tools.compare import Thresholds, compare_pair

ROOT = Path(__file__).resolve().parents[1]
TINY = ("--programs", "pg-tang", "--seeds", "2", "--iterations", "20", "--repeats", "2", "--modes", "fast",
        "--workers", "1",
        "--speed-modes", "fast", "lockstep", "--speed-iterations", "20", "--processes", "1")  # _timed's two paths


def _only(tmp_path):
    files = list((tmp_path / "res").glob("*.json"))
    assert len(files) == 1, files
    return files[0]


@pytest.mark.slow
def test_bench_writes_a_versioned_results_file(cli, tmp_path):
    two = (*TINY, "--processes", "2")  # each speed job timed in two fresh processes
    proc = cli("bench", *two, "--out-dir", "res")
    assert proc.returncode == 0, proc.stderr[-3000:]
    path = _only(tmp_path)
    data = load_results(path)
    assert data["schema"] == SCHEMA
    meta = data["meta"]
    for key in ("machine", "cpu_model", "cpu_count", "commit", "environment", "started", "finished"):
        assert meta[key], key
    assert {"python", "tensorflow", "keras", "numpy", "gymnasium"} <= set(meta["versions"])
    assert meta["versions"]["tensorflow"] in path.name
    kinds = sorted((r["kind"], r["framework"], r["mode"]) for r in data["results"])
    assert kinds == sorted([("reward", fw, "fast") for fw in ("tf1", "tf2") for _ in range(2)]
                           + [("speed", fw, m) for fw in ("tf1", "tf2") for m in ("fast", "lockstep")])
    for r in data["results"]:
        if r["kind"] == "reward":  # raw per-seed values and the whole record, throughput, wall time
            assert r["record"]["eval_mean"] == r["eval_mean"] and r["record"]["config"]["iterations"] == 20
            assert r["train_env_steps_per_s"] > 0 and r["wall_s"] > 0
        else:  # warm-up excluded, two timed repeats in each of two processes kept raw, median and spread
            assert [s["process"] for s in r["repeats"]] == [0, 0, 1, 1] and r["processes"] == 2
            assert all(s["steps_per_s"] > 0 and s["machine_per_s"] > 0 for s in r["repeats"])  # and the yardstick
            assert r["steps_per_s_min"] <= r["steps_per_s_median"] <= r["steps_per_s_max"]
            assert r.get("lockstep_seeds") == (30 if r["mode"] == "lockstep" else None)
            assert r["iterations"] == 20 and r["key"].endswith("/it20")  # --speed-iterations
            assert all(s["updates"] == 20 * (30 if r["mode"] == "lockstep" else 1) for s in r["repeats"])
    # round trip: what load_results accepts survives being written back and read again
    again = tmp_path / "again.json"
    again.write_text(json.dumps(data))
    assert load_results(again) == data
    assert "pg-tang (20 it) | tf1 | fast |" in proc.stdout
    # a second bench into the same file needs --resume, and then has nothing to do
    proc = cli("bench", *two, "--out-dir", "res")
    assert proc.returncode == 2 and "--resume" in proc.stderr
    proc = cli("bench", *TINY, "--out-dir", "res", "--resume")
    assert proc.returncode == 2 and "written with 2 processes per timing, not 1" in proc.stderr
    before = path.read_text()
    proc = cli("bench", *two, "--out-dir", "res", "--resume")
    assert proc.returncode == 0 and "0 to run" in proc.stderr, proc.stderr[-2000:]
    assert json.loads(path.read_text())["results"] == json.loads(before)["results"]


@pytest.mark.slow
def test_resume_after_a_killed_bench_loses_nothing_and_repeats_nothing(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    args = [sys.executable, "-m", "tfrepro", "bench", "--programs", "pg-tang", "--seeds", "4",
            "--iterations", "30", "--no-speed", "--workers", "1", "--modes", "fast", "--out", "res.json"]
    proc = subprocess.Popen(args, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    path = tmp_path / "res.json"
    deadline = time.time() + 300
    try:
        while time.time() < deadline:
            if path.exists() and len(json.loads(path.read_text())["results"]) >= 2:
                break
            time.sleep(0.2)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the bench and its worker, mid-run
        proc.wait()
    kept = load_results(path)["results"]  # still a valid file: written atomically
    assert 2 <= len(kept) < 8, len(kept)
    done = subprocess.run(args + ["--resume"], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"{len(kept)} already in" in done.stderr and f"{8 - len(kept)} to run" in done.stderr
    final = load_results(path)["results"]
    keys = [r["key"] for r in final]
    assert len(keys) == len(set(keys)) == 8  # nothing repeated, nothing missing
    assert final[: len(kept)] == kept  # the finished runs untouched (their records' timestamps too)


@pytest.mark.slow
def test_a_killed_worker_is_one_line_keeps_finished_runs_and_resumes(tmp_path):
    """Only a worker dies, mid-job (the bench itself lives): one line, exit 2, a valid file
    with the finished runs, and --resume completes it."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    args = [sys.executable, "-m", "tfrepro", "bench", "--programs", "pg-tang", "--seeds", "3",
            "--iterations", "60", "--no-speed", "--workers", "1", "--modes", "fast", "--out", "res.json"]
    proc = subprocess.Popen(args, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    path, deadline = tmp_path / "res.json", time.time() + 300
    while time.time() < deadline and not (path.exists() and json.loads(path.read_text())["results"]):
        time.sleep(0.1)
    time.sleep(1.2)  # into the next job (each takes a few seconds)
    kids = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
    workers = [k for k in kids if "spawn_main" in Path(f"/proc/{k}/cmdline").read_text(errors="replace")]
    assert workers, "no worker to kill"
    os.kill(int(workers[0]), signal.SIGKILL)
    _, err = proc.communicate(timeout=300)
    lines = [ln for ln in err.splitlines() if ln.startswith("tfrepro bench: error:")]
    assert proc.returncode == 2 and len(lines) == 1 and "worker process died" in lines[0], err[-2000:]
    assert "Traceback" not in err
    kept = load_results(path)["results"]
    assert 1 <= len(kept) < 6
    done = subprocess.run(args + ["--resume"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    final = load_results(path)["results"]
    assert len({r["key"] for r in final}) == len(final) == 6 and final[: len(kept)] == kept


def _synthetic(reward, speed, seeds=10, tf="2.21.0"):
    """A results file with given per-seed rewards and speeds of one program row: ``speed`` is
    a list of processes, each a list of its repeats' steps/s (or one flat list: one process)."""
    results = [{"key": f"reward/p/tf2/fast/seed{s}", "kind": "reward", "program": "p", "framework": "tf2",
                "mode": "fast", "seed": s, "eval_mean": float(v)} for s, v in zip(range(seeds), reward)]
    procs = [list(p) for p in speed] if np.ndim(speed) == 2 else [list(speed)]
    results.append({"key": "speed/p/tf2/fast", "kind": "speed", "program": "p", "framework": "tf2",
                    "mode": "fast", "repeats": [{"steps_per_s": float(x), "process": k}
                                                for k, p in enumerate(procs) for x in p],
                    "steps_per_s_median": float(np.median(speed))})
    return {"schema": SCHEMA, "meta": {"versions": {"tensorflow": tf}, "commit": "c", "machine": "m"},
            "settings": {}, "results": results}


BASE_REWARD = [190, 195, 200, 185, 199, 192, 188, 200, 196, 191]
BASE_SPEED = [[1000, 1004], [1010, 1008], [990, 995], [1005, 1003], [995, 1000]]  # 5 processes x 2 repeats


QUIET = Thresholds(speed_run_sd=0.0)  # a machine that does not drift between benches


def _verdicts(base, new, th=QUIET):
    (row,) = compare_pair(base, new, th)
    return row["reward"]["verdict"], row["speed"]["verdict"], row["verdict"]


def _with_yardstick(data, machine):
    """``data`` with the machine's yardstick beside every repeat: ``machine`` units per second."""
    out = copy.deepcopy(data)
    for r in out["results"]:
        for sample in r.get("repeats") or []:
            sample["machine_per_s"] = float(machine)
    return out


def test_the_yardstick_takes_the_machines_drift_out_and_leaves_a_change_of_the_build(tmp_path):
    """Two benches run apart on a machine 40% slower in the second (the yardstick beside every
    repeat says so): steps/s 40% lower is the machine, not the build, and is not called worse;
    the same drop with the machine as fast as before is. A file without the yardstick is judged
    on raw steps/s, with the raw drift."""
    from tfrepro.infra.judge import SPEED_RUN_SD, SPEED_RUN_SD_YARDSTICK

    base = _with_yardstick(_synthetic(BASE_REWARD, BASE_SPEED), 80000)
    slow = np.array(BASE_SPEED) * 0.6
    (row,) = compare_pair(base, _with_yardstick(_synthetic(BASE_REWARD, slow), 48000), Thresholds())
    sp = row["speed"]
    assert sp["yardstick"] and sp["ratio"] == pytest.approx(1.0) and sp["raw_ratio"] == pytest.approx(0.6)
    assert sp["machine_ratio"] == pytest.approx(0.6) and sp["run_sd"] == SPEED_RUN_SD_YARDSTICK
    assert sp["verdict"] != "worse"
    (row,) = compare_pair(base, _with_yardstick(_synthetic(BASE_REWARD, slow), 80000), Thresholds())
    assert row["speed"]["verdict"] == "worse" and row["speed"]["ratio"] == pytest.approx(0.6)
    (row,) = compare_pair(base, _synthetic(BASE_REWARD, slow), Thresholds())  # one side without it
    assert "yardstick" not in row["speed"] and row["speed"]["run_sd"] == SPEED_RUN_SD
    assert row["speed"]["ratio"] == pytest.approx(0.6)
    # the reader: a yardstick is a positive finite number or absent
    for bad in (0, -1.0, "fast", True, float("nan")):
        hostile = _with_yardstick(base, 1.0)
        hostile["results"][-1]["repeats"][0]["machine_per_s"] = bad
        path = tmp_path / "b.json"
        path.write_text(json.dumps(hostile))
        with pytest.raises(UsageError, match="machine_per_s"):
            load_results(path)


def test_compare_identical_inputs_are_equivalent():
    base = _synthetic(BASE_REWARD, BASE_SPEED)
    assert _verdicts(base, copy.deepcopy(base)) == ("equivalent", "equivalent", "equivalent")


def test_compare_flags_a_clear_regression():
    base = _synthetic(BASE_REWARD, BASE_SPEED)
    worse = _synthetic([r * 0.5 for r in BASE_REWARD], np.array(BASE_SPEED) * 0.6)
    assert _verdicts(base, worse) == ("worse", "worse", "worse")
    better = _synthetic(BASE_REWARD, np.array(BASE_SPEED) * 2)
    assert _verdicts(base, better) == ("equivalent", "better", "better")


def test_speed_interval_takes_processes_as_its_unit():
    """Repeats inside one process never narrow the speed interval: a file timed in one process
    per job is judged with the measured floor between processes (normal interval); processes
    give their own spread, pooled over the rows of both files (Student's t)."""
    from tfrepro.infra.judge import SPEED_PROCESS_SD, judge_speed, process_noise

    one = [1000.0] * 50  # fifty identical repeats in one process: no evidence about other processes
    r = judge_speed(one, one, run_sd=0.0)
    assert r["noise_df"] == 0 and r["noise_sd"] == SPEED_PROCESS_SD and "floor" in r["noise_source"]
    half = 1.959964 * SPEED_PROCESS_SD * 2 ** 0.5
    assert r["ci_high"] == pytest.approx(np.exp(half)) and r["processes"] == [1, 1]
    sd, df = process_noise([BASE_SPEED, [[1000], [1100]]])
    assert df == 4 + 1 and sd > 0
    r = judge_speed(BASE_SPEED, [[x * 1.5 for x in p] for p in BASE_SPEED], run_sd=0.0)
    assert r["verdict"] == "better" and r["ratio"] == pytest.approx(1.5) and r["processes"] == [5, 5]
    # two benches run apart also differ by the machine's drift: the same timings are not shown
    # equivalent then (a quiet machine, run_sd 0, is), and a change beyond the drift still is worse
    from tfrepro.infra.judge import SPEED_RUN_SD

    drift = judge_speed(BASE_SPEED, BASE_SPEED)
    assert drift["run_sd"] == SPEED_RUN_SD > 0 and drift["verdict"] == "inconclusive"
    assert judge_speed(BASE_SPEED, BASE_SPEED, run_sd=0.0)["verdict"] == "equivalent"
    assert judge_speed(BASE_SPEED, [[x / 2 for x in p] for p in BASE_SPEED])["verdict"] == "worse"
    base = _synthetic(BASE_REWARD, BASE_SPEED)
    same = dict(base, meta=dict(base["meta"], started="2026-12-06T10:00:00"))
    (row,) = compare_pair(same, copy.deepcopy(same), Thresholds())  # one bench: no drift between its rows
    assert row["speed"]["run_sd"] == 0.0 and row["speed"]["verdict"] == "equivalent"


def test_compare_noise_within_the_margins_is_equivalent():
    rng = np.random.default_rng(3)
    base = _synthetic(BASE_REWARD, BASE_SPEED)
    noisy = _synthetic(np.array(BASE_REWARD) + rng.normal(0, 3, 10),
                       np.array(BASE_SPEED) * rng.normal(0.97, 0.02, (5, 1)))
    assert _verdicts(base, noisy) == ("equivalent", "equivalent", "equivalent")
    # a significant but small reward change (2%, inside the 5% margin) is equivalent, not worse
    tight = [199.0, 199.5, 200.0, 199.2, 199.8, 199.4, 199.6, 199.1, 199.9, 199.3]
    base = _synthetic(tight, BASE_SPEED)
    shifted = _synthetic([r - 4 for r in tight], BASE_SPEED)
    (row,) = compare_pair(base, shifted, Thresholds())
    assert row["reward"]["ci_high"] < 0 and row["reward"]["verdict"] == "equivalent"
    assert row["reward"]["margin_source"].startswith("5% of BASE's median")
    assert compare_pair(base, shifted, Thresholds(reward_tol=0.01))[0]["reward"]["verdict"] == "worse"
    assert compare_pair(base, shifted, Thresholds(margins={"p": 1.0}))[0]["reward"]["verdict"] == "worse"


def test_compare_three_seeds_are_inconclusive_not_same():
    """Three seeds per side of one distribution: the interval is too wide to say anything;
    the row says so and how many seeds would decide."""
    rng = np.random.default_rng(11)
    base = _synthetic(rng.normal(150, 30, 3), BASE_SPEED, seeds=3)
    new = _synthetic(rng.normal(150, 30, 3), BASE_SPEED, seeds=3)
    (row,) = compare_pair(base, new, Thresholds())
    assert row["reward"]["verdict"] == "inconclusive" and row["verdict"] == "inconclusive"
    assert row["reward"]["seeds_needed"] > 3


def test_compare_uses_the_programs_declared_margin_and_collapse_rates():
    tang = [200.0] * 6 + [9.3, 9.4]
    base, new = _synthetic(tang, BASE_SPEED, seeds=8), _synthetic(tang[::-1], BASE_SPEED, seeds=8)
    for d in (base, new):
        for r in d["results"]:
            r["program"] = "pg-tang"
    (row,) = compare_pair(base, new, Thresholds())
    rw = row["reward"]
    assert rw["margin"] == 10.0 and "5% of the source's 200" in rw["margin_source"]
    assert rw["collapse"]["base"] == [2, 8] and rw["collapse"]["new"] == [2, 8]
    assert rw["kept"]["verdict"] == "equivalent" and rw["collapse"]["verdict"] == "inconclusive"
    assert rw["verdict"] == "inconclusive"


def test_compare_cli_exit_codes_and_outputs(cli_here, tmp_path):
    (tmp_path / "base.json").write_text(json.dumps(_synthetic(BASE_REWARD, BASE_SPEED)))
    (tmp_path / "same.json").write_text(json.dumps(_synthetic(BASE_REWARD, BASE_SPEED, tf="2.16.2")))
    (tmp_path / "worse.json").write_text(json.dumps(_synthetic([r * 0.5 for r in BASE_REWARD], BASE_SPEED)))
    proc = cli_here("compare", "base.json", "same.json", "--out-dir", "c1", "--speed-run-sd", "0")  # a quiet machine
    assert proc.returncode == 0, proc.stderr
    assert "Thresholds: reward: TOST at alpha 0.05" in proc.stdout
    assert "TF 2.16.2" in proc.stdout and "| p | tf2 | fast |" in proc.stdout
    assert (tmp_path / "c1" / "compare.png").read_bytes()[:4] == b"\x89PNG"
    row = json.loads((tmp_path / "c1" / "compare.json").read_text())["comparisons"][0][0]
    assert row["verdict"] == "equivalent" and row["reward"]["verdict"] == "equivalent"
    assert row["speed"]["verdict"] == "equivalent"
    assert (tmp_path / "c1" / "compare.md").read_text().count("| p |") == 1
    proc = cli_here("compare", "base.json", "worse.json", "--out-dir", "c2")
    assert proc.returncode == 1 and "**worse**" in proc.stdout and "worse: p tf2 fast" in proc.stderr


@pytest.mark.parametrize("content,needle", [
    ('{"schema": "tfrepro.bench/1", "meta": {', "not valid JSON"),
    ("[1, 2]", "not a bench results file"),
    ('{"schema": "tfrepro.bench/0", "meta": {}, "settings": {}, "results": []}', "schema"),
    ('{"schema": "tfrepro.bench/1", "meta": {}, "settings": {}}', "'results'"),
    ('{"schema": "tfrepro.bench/1", "meta": {}, "settings": {}, "results": [{"kind": "reward", "key": "k", '
     '"program": "p", "framework": "tf1", "mode": "fast"}]}', "no 'eval_mean'"),
    ('{"schema": "tfrepro.bench/1", "meta": {}, "settings": {}, "results": [{"kind": "x", "key": "k"}]}',
     "not a reward or speed entry"),
    ('{"schema": "tfrepro.bench/1", "meta": {}, "settings": {}, "results": [{"kind": "speed", "key": "k", '
     '"program": "p", "framework": "tf1", "mode": "fast", "steps_per_s_median": 1, "repeats": [{}]}]}',
     "positive steps_per_s"),
])
def test_malformed_results_files(cli, tmp_path, content, needle):
    (tmp_path / "bad.json").write_text(content)
    (tmp_path / "good.json").write_text(json.dumps(_synthetic(BASE_REWARD, BASE_SPEED)))
    with pytest.raises(UsageError, match="bad.json"):
        load_results(tmp_path / "bad.json")
    proc = cli("compare", "good.json", "bad.json")
    assert proc.returncode == 2 and needle in proc.stderr and "bad.json" in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "results").exists()  # nothing written


@pytest.mark.parametrize("args,needle", [
    (("--suite", "huge"), "unknown suite"),
    (("--programs", "nope"), "unknown program"),
    (("--seeds", "5..2"), "empty range"),
    (("--no-speed", "--no-reward"), "nothing to run"),
    (("--address", "127.0.0.1:6379"), "--backend ray"),
])
def test_bench_usage_errors(cli, args, needle):
    proc = cli("bench", *args)
    assert proc.returncode == 2 and needle in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_plan_of_the_suites():
    jobs, settings = plan("quick")
    rewards = [j for j in jobs if j.kind == "reward"]
    # 30 seeds per form, lockstep for the three (each has it)
    assert len(rewards) == 3 * 2 * 30 and {j.mode for j in rewards} == {"lockstep"}
    speed = [j for j in jobs if j.kind == "speed"]
    assert {(j.program, j.mode) for j in speed} >= {("dqn-pylessons", "book"), ("pg-geron", "book")}
    jobs, _ = plan("quick", programs_=["pg-tang", "basic-policy"], seeds=[0], speed=False,
                   modes=("book", "fast"))
    assert sorted((j.program, j.mode) for j in jobs if j.framework == "tf1") == [
        ("basic-policy", "book"), ("basic-policy", "fast"), ("pg-tang", "book"), ("pg-tang", "fast")]
    jobs, _ = plan("full", seeds=range(10))
    assert {j.program for j in jobs if j.kind == "reward"} >= {"dqn-meertens:exercises", "dqn-pylessons:evaluated"}
    assert len({j.key for j in jobs}) == len(jobs)
    jobs, settings = plan("quick", programs_=["pg-tang", "basic-policy"], seeds=[0], rewards=False,
                          speed_modes=("fast", "lockstep"))  # --speed-modes: those loops, where a program has them
    assert sorted((j.program, j.framework, j.mode) for j in jobs) == [
        ("pg-tang", fw, m) for fw in ("tf1", "tf2") for m in ("fast", "lockstep")]
    assert sorted(settings["speed_iterations"]) == ["pg-tang/fast", "pg-tang/lockstep"]
    jobs, settings = plan("quick", programs_=["pg-tang"], rewards=False, speed_its=7)  # --speed-iterations
    assert {j.iterations for j in jobs} == {7} and set(settings["speed_iterations"].values()) == {7}
    assert {j.key for j in jobs} == {f"speed/pg-tang/{fw}/{m}/it7" for fw in ("tf1", "tf2")
                                     for m in ("book", "fast", "lockstep")}


@pytest.mark.slow
@pytest.mark.xdist_group("ray")  # one Ray at a time on the machine (test_ray_cluster.py)
def test_ray_backend_gives_the_local_results(cli, tmp_path):
    pytest.importorskip("ray")
    base = ("bench", "--programs", "pg-geron", "--seeds", "2", "--iterations", "10", "--no-speed",
            "--workers", "2", "--modes", "fast")
    local = cli(*base, "--out", "local.json")
    assert local.returncode == 0, local.stderr[-3000:]
    ray = cli(*base, "--backend", "ray", "--out", "ray.json", timeout=900)
    assert ray.returncode == 0, ray.stderr[-3000:]

    def values(name):
        return {r["key"]: r["eval_mean"] for r in load_results(tmp_path / name)["results"]}

    assert values("ray.json") == values("local.json") and len(values("local.json")) == 4


@pytest.mark.slow
def test_matrix_orchestrates_bench_per_environment_and_reports(cli, tmp_path):
    """Two 'versions' whose cached environments are this interpreter (no download): the
    matrix runs bench in each, then one report with a row per version."""
    from tfrepro.tools.matrix import MARKER, requirements

    cache = tmp_path / "cache"
    for v in ("2.20", "2.21"):
        (cache / f"tf-{v}" / "bin").mkdir(parents=True)
        py = cache / f"tf-{v}" / "bin" / "python"  # a stand-in that runs this venv's Python
        py.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
        py.chmod(0o755)
        (cache / f"tf-{v}" / MARKER).write_text(json.dumps(
            {"requirements": requirements(v), "python": sys.version.split()[0]}))
    proc = cli("matrix", "--tf", "2.20", "2.21", "--cache", cache, "--programs", "pg-geron", "--seeds", "2",
               "--iterations", "5", "--repeats", "2", "--frameworks", "tf1", "--speed-modes", "fast",
               "--workers", "1", "--out-dir", "mx", timeout=900)
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    out = tmp_path / "mx"
    assert sorted(p.name for p in (out / "runs").iterdir()) == ["tf-2.20.json", "tf-2.21.json"]
    for f in (out / "runs").iterdir():  # --speed-modes reached bench: the fast loop alone is timed
        speed = [(r["framework"], r["mode"]) for r in load_results(f)["results"] if r["kind"] == "speed"]
        assert speed == [("tf1", "fast")], speed
    table = (out / "matrix.md").read_text()
    # bench's default: lockstep (pg-geron has it)
    rows = [ln for ln in table.splitlines() if ln.startswith("| pg-geron (5 it) | tf1 | lockstep | TF ")]
    assert len(rows) == 2 and "base" in rows[0]
    assert "| tf2 |" not in table  # --frameworks tf1 reached bench
    # same interpreter, same seeds: identical rewards, and 2 seeds decide nothing
    assert rows[1].endswith("| inconclusive (identical per seed) |"), rows[1]
    assert (out / "matrix.png").read_bytes()[:4] == b"\x89PNG"
    proc = cli("matrix", "--tf", "2.20", "2.21", "--cache", cache, "--out-dir", "mx")
    assert proc.returncode == 2 and "--resume" in proc.stderr


@pytest.mark.parametrize("args,needle", [
    (("--tf", "2.16"), "two or more"),
    (("--tf", "2.11", "2.16"), "starts at 2.12"),
    (("--tf", "3.0", "2.16"), "expected a TensorFlow 2 version"),
])
def test_matrix_usage_errors(cli, args, needle):
    proc = cli("matrix", *args)
    assert proc.returncode == 2 and needle in proc.stderr, proc.stderr


def test_compare_modes_sets_one_mode_against_another(cli_here, tmp_path):
    """``compare --modes fast lockstep FILE``: one file's fast rows against its lockstep rows,
    program by program; a mode pair with no rows, or twice the same mode, is one line, exit 2."""
    data = _synthetic(BASE_REWARD, BASE_SPEED)
    for r in _synthetic([v * 0.5 for v in BASE_REWARD], BASE_SPEED)["results"]:
        r["mode"], r["key"] = "lockstep", r["key"].replace("fast", "lockstep")
        data["results"].append(r)
    path = tmp_path / "both.json"
    path.write_text(json.dumps(data))
    (row,) = compare_pair(data, data, Thresholds(), modes=("fast", "lockstep"))
    assert row["mode"] == "lockstep vs fast" and row["reward"]["verdict"] == "worse"
    assert row["reward"]["new"] == [v * 0.5 for v in BASE_REWARD]
    proc = cli_here("compare", "--modes", "fast", "lockstep", str(path), "--out-dir", "cmp")
    assert proc.returncode == 1 and "| p | tf2 | lockstep vs fast |" in proc.stdout, proc.stderr
    assert (tmp_path / "cmp" / "compare.png").read_bytes()[:4] == b"\x89PNG"
    for args, needle in ((["--modes", "book", "lockstep", str(path)], "no program has book rows"),
                         (["--modes", "fast", "fast", str(path)], "two different modes"),
                         ([str(path)], "needs BASE and NEW")):
        proc = cli_here("compare", *args, "--out-dir", "cmp2")
        assert proc.returncode == 2 and needle in proc.stderr, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_matrix_never_removes_what_it_did_not_make(cli, tmp_path):
    """A folder ``tf-VERSION`` of the user's in the cache: a version the index does not have is
    refused before anything is touched, and a version it has is refused because the folder is
    not one of the matrix's environments (no marker). The user's files stay as they were."""
    cache = tmp_path / "cache"
    for v in ("2.98", "2.20"):
        (cache / f"tf-{v}").mkdir(parents=True)
        (cache / f"tf-{v}" / "notes.txt").write_text("the user's own file\n")
    proc = cli("matrix", "--tf", "2.98", "2.99", "--cache", cache, "--out-dir", "mx")
    assert proc.returncode == 2 and "not on the package index" in proc.stderr, proc.stderr
    proc = cli("matrix", "--tf", "2.20", "2.21", "--cache", cache, "--out-dir", "mx")
    assert proc.returncode == 2 and "was not made by tfrepro matrix" in proc.stderr, proc.stderr
    for v in ("2.98", "2.20"):
        assert [p.name for p in (cache / f"tf-{v}").iterdir()] == ["notes.txt"]
    assert not (cache / "tf-2.21").exists() and not (tmp_path / "mx").exists()


def test_a_failed_environment_build_leaves_nothing(tmp_path, monkeypatch):
    """The environment a failed build started is removed (it is the matrix's own)."""
    import tfrepro.tools.matrix as matrix
    from tfrepro.core.errors import UsageError

    uv = tmp_path / "uv"  # makes the venv, then fails to install, as a missing wheel would
    uv.write_text('#!/bin/sh\nif [ "$1" = venv ]; then for a; do last="$a"; done; mkdir -p "$last/bin"; exit 0; fi\n'
                  'echo "No solution found when resolving dependencies" >&2; exit 1\n')
    uv.chmod(0o755)
    monkeypatch.setattr(matrix, "_uv", lambda: str(uv))
    with pytest.raises(UsageError, match="building its environment failed: No solution found"):
        matrix.ensure_env("2.20", tmp_path / "cache", log=lambda m: None)
    assert list((tmp_path / "cache").iterdir()) == []


def _descendants(pid: int) -> set:
    """The pids of every process below ``pid`` (from /proc: Linux)."""
    children = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = set(), [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.add(c)
            todo.append(c)
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
def test_workers_die_with_a_killed_bench(tmp_path):
    """``kill -9`` of a running bench: its worker processes (and multiprocessing's resource
    tracker) are gone within seconds, not left finishing their jobs and then blocking for
    ever on a pipe to a dead parent; the results file stays valid for ``--resume``."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "tfrepro", "bench", "--programs", "pg-tang", "dqn-meertens",
                             "--seeds", "2", "--no-speed", "--modes", "fast", "--out", "b.json"], cwd=tmp_path,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline, workers = time.time() + 120, set()
        while time.time() < deadline and len(workers) < 2:
            workers = {p for p in _descendants(proc.pid)
                       if b"spawn_main" in Path(f"/proc/{p}/cmdline").read_bytes()} if proc.poll() is None else set()
            time.sleep(0.5)
        assert len(workers) >= 2, "bench started no workers"
        everyone = _descendants(proc.pid)
        time.sleep(3)  # the workers are past their initializer, into their jobs
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        deadline = time.time() + 15
        while time.time() < deadline and any(_alive(p) for p in everyone):
            time.sleep(0.5)
        assert not [p for p in everyone if _alive(p)], "processes of the bench outlived it"
    finally:
        for p in _descendants(proc.pid) | {proc.pid}:
            with contextlib.suppress(OSError):
                os.kill(p, signal.SIGKILL)
    if (tmp_path / "b.json").exists():  # written atomically: valid whenever it is there
        load_results(tmp_path / "b.json")


def test_a_timed_loop_under_the_floor_is_lengthened_or_never_judged(monkeypatch):
    """The suite's own loop length is scaled until a repeat takes at least ``FLOOR_S``; a length
    the user gave is kept and marked, and compare never says worse or better on it."""
    from tfrepro.tools import bench as b

    calls = []

    def timed(name, fw, mode, seed, its, over):
        calls.append(its)
        return its * 1e-3, its * 10, its  # 1 ms per iteration

    monkeypatch.setattr(b, "_timed", timed)
    job = b.Job("speed", "pg-tang", "tf1", "fast", 0, None)
    res = b.run_job(job, repeats=3)
    assert res["lengthened_from"] == calls[1] and res["iterations"] > calls[1]
    assert min(s["train_wall_s"] for s in res["repeats"]) >= b.FLOOR_S and "below_floor_s" not in res
    short = b.run_job(b.Job("speed", "pg-tang", "tf1", "fast", 0, 20), repeats=3)
    assert short["below_floor_s"] == b.FLOOR_S and short["iterations"] == 20
    base = {"results": [short]}
    slower = {"results": [dict(short, repeats=[dict(s, steps_per_s=s["steps_per_s"] / 3) for s in short["repeats"]])]}
    row = compare_pair(base, slower, Thresholds())[0]
    assert row["speed"]["verdict"] == "inconclusive" and "under 1 s" in row["speed"]["reason"]


@pytest.mark.parametrize("address, needle", [("not-a-host:99999", "expected HOST:PORT"),
                                             ("no-such-host.invalid:6379", "no such host"),
                                             ("127.0.0.1:9", "nothing answers there")])
def test_an_unreachable_ray_cluster_is_one_line_and_leaves_no_file(address, needle, cli_here, tmp_path):
    proc = cli_here("bench", "--programs", "random-policy", "--seeds", "1", "--no-speed", "--backend", "ray",
                    "--address", address, "--out", "r.json")
    assert proc.returncode == 2 and needle in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert not (tmp_path / "r.json").exists()


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs CPU affinity")
def test_the_yardstick_sees_a_core_shared_with_other_work():
    """The machine's yardstick falls when another process shares its core: what it is for."""
    import multiprocessing as mp

    from tfrepro.infra import yardstick

    cpu = sorted(os.sched_getaffinity(0))[0]
    saved = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {cpu})
    try:
        alone = max(yardstick.measure() for _ in range(3))
        hog = mp.get_context("fork").Process(target=_spin, args=(cpu,), daemon=True)
        hog.start()
        try:
            time.sleep(0.2)
            shared = max(yardstick.measure() for _ in range(3))
        finally:
            hog.kill()
            hog.join()
    finally:
        os.sched_setaffinity(0, saved)
    assert 0 < shared < 0.75 * alone, (alone, shared)


def _spin(cpu):
    os.sched_setaffinity(0, {cpu})
    while True:
        pass
