"""Tier 5 (tools): ``--backend ray`` on a real Ray cluster of a head and two worker nodes,
started by the test on this machine (Ray's own multi-node harness, ``ray.cluster_utils``:
one GCS, three raylets, their object stores and workers, on loopback), with the command line
as the driver, as a user runs it against ``ray start``'s cluster:

- ``reproduce``, ``diff --seeds`` and ``legacy --seeds`` give the records the local pool gives
  (every field but the wall times, the timestamp, the command line and the node that ran it);
- a worker node killed mid-run (its raylet and workers gone) costs only its runs in flight,
  which Ray runs again elsewhere: the command ends 0 with every record;
- the driver killed with -9: the cluster's tasks end with it, the results folder holds only
  whole records, and ``--resume`` completes it.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tfrepro.infra.checkout import ROOT

ray = pytest.importorskip("ray")
from ray.cluster_utils import Cluster  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("ray")]  # one Ray at a time on the machine

VOLATILE = {"wall_s", "train_wall_s", "created", "command", "node"}
NODE = {"num_cpus": 1, "object_store_memory": 80 * 1024 * 1024, "include_dashboard": False}


@pytest.fixture
def cluster():
    c = Cluster(initialize_head=True, head_node_args=dict(NODE))
    workers = [c.add_node(**NODE) for _ in range(2)]
    c.wait_for_nodes()
    yield c, workers
    c.shutdown()


def _cli(tmp_path, *args, **kw):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("RAY_ADDRESS", None)
    return subprocess.Popen([sys.executable, "-m", "tfrepro", *map(str, args)], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def _records(folder: Path) -> dict:
    out = {}
    for f in sorted(folder.glob("**/runs/*.json")):
        rec = json.loads(f.read_text())
        out[str(f.relative_to(folder))] = {k: v for k, v in rec.items() if k not in VOLATILE}
    return out


def _busy(node) -> bool:
    """A job of ours runs on this node now: one of its raylet's workers is titled ray::_in_ray."""
    raylet = node.all_processes["raylet"][0].process.pid
    kids = subprocess.run(["pgrep", "-P", str(raylet)], capture_output=True, text=True).stdout.split()
    for k in kids:
        try:
            if Path(f"/proc/{k}/cmdline").read_bytes().startswith(b"ray::_in_ray"):
                return True
        except OSError:
            pass
    return False


def _ray_tasks_alive() -> int:
    """Ray worker processes running one of our jobs (Ray titles them ray::_in_ray)."""
    out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    return sum(1 for line in out.splitlines() if line.startswith("ray::_in_ray"))


def test_reproduce_and_diff_on_a_cluster_give_the_local_records_and_survive_a_lost_node(cluster, tmp_path):
    c, workers = cluster
    args = ("reproduce", "--seeds", "3", "--programs", "basic-policy", "pg-tang", "--mode", "fast",
            "--iterations", "40", "--workers", "3")
    local = _cli(tmp_path, *args, "--out-dir", "local")
    _, err = local.communicate(timeout=900)
    assert local.returncode == 0, err[-3000:]
    on_ray = _cli(tmp_path, *args, "--out-dir", "ray", "--backend", "ray", "--address", c.address)
    runs = tmp_path / "ray" / "runs"
    deadline = time.time() + 600
    busy = False
    while time.time() < deadline and on_ray.poll() is None and not busy:
        busy = _busy(workers[0])
        time.sleep(0.1)
    assert busy and on_ray.poll() is None, "no run of ours on the worker node before the run ended"
    c.remove_node(workers[0], allow_graceful=False)  # its raylet and workers killed, its run in flight lost
    _, err = on_ray.communicate(timeout=900)
    assert on_ray.returncode == 0, err[-3000:]
    assert "Traceback" not in err
    got, want = _records(tmp_path / "ray"), _records(tmp_path / "local")
    assert got == want and len(want) == 12
    nodes = {json.loads(f.read_text())["node"] for f in runs.glob("*.json")}
    assert nodes and all("/" in n for n in nodes)  # each record names the node that ran it
    assert (tmp_path / "ray" / "table.md").read_text() == (tmp_path / "local" / "table.md").read_text()
    # diff's rung 5 on the two nodes left
    d_args = ("diff", "pg-geron", "--seeds", "2", "--iterations", "3", "--workers", "2")
    d_local = _cli(tmp_path, *d_args, "--out-dir", "dlocal")
    d_ray = _cli(tmp_path, *d_args, "--out-dir", "dray", "--backend", "ray", "--address", c.address)
    for p in (d_local, d_ray):
        _, err = p.communicate(timeout=900)
        assert p.returncode in (0, 1), err[-3000:]
    assert _records(tmp_path / "dray") == _records(tmp_path / "dlocal") and len(_records(tmp_path / "dlocal")) == 4
    # legacy --seeds: a book's script, each run shipped to a node with its folder
    (tmp_path / "script").mkdir()
    shutil.copy(ROOT / "compat_tests" / "legacy_scripts" / "nn_random_policy.py", tmp_path / "script")
    l_args = ("legacy", "--seeds", "0..2", "--episodes", "4", "--workers", "2", "script/nn_random_policy.py")
    l_local = _cli(tmp_path, *l_args[:-1], "--out-dir", "llocal", l_args[-1])
    l_ray = _cli(tmp_path, *l_args[:-1], "--out-dir", "lray", "--backend", "ray", "--address", c.address,
                 l_args[-1])
    for p in (l_local, l_ray):
        _, err = p.communicate(timeout=900)
        assert p.returncode == 0, err[-3000:]
    for s in range(3):
        a, b = (json.loads((tmp_path / d / "runs" / f"legacy-seed{s}.json").read_text()) for d in ("llocal", "lray"))
        assert {k: v for k, v in a.items() if k not in ("wall_s", "first_step_s")} == \
            {k: v for k, v in b.items() if k not in ("wall_s", "first_step_s")} and len(a["returns"]) == 4


def test_a_driver_killed_with_9_takes_its_tasks_and_resume_completes(cluster, tmp_path):
    c, _ = cluster
    args = ("reproduce", "--seeds", "4", "--programs", "pg-tang", "--mode", "fast", "--iterations", "60",
            "--workers", "3", "--backend", "ray", "--address", c.address, "--out-dir", "r")
    proc = _cli(tmp_path, *args, start_new_session=True)
    deadline = time.time() + 600
    while time.time() < deadline and _ray_tasks_alive() == 0 and proc.poll() is None:
        time.sleep(0.2)
    assert proc.poll() is None and _ray_tasks_alive() > 0
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.time() + 60
    while time.time() < deadline and _ray_tasks_alive():
        time.sleep(0.5)
    assert _ray_tasks_alive() == 0, "the dead driver's tasks still run on the cluster"
    runs = tmp_path / "r" / "runs"
    kept = {f.name: f.read_bytes() for f in runs.glob("*.json")} if runs.is_dir() else {}
    for data in kept.values():
        json.loads(data)  # whole records only
    done = _cli(tmp_path, *args, "--resume")
    _, err = done.communicate(timeout=900)
    assert done.returncode == 0, err[-3000:]
    assert len(list(runs.glob("*.json"))) == 8
    for name, data in kept.items():
        assert (runs / name).read_bytes() == data  # the finished runs untouched


def test_a_job_that_dies_on_every_retry_is_named_and_every_other_job_is_kept(cluster, tmp_path):
    """A job whose worker dies each time Ray runs it: after Ray's retries it is named in one
    error, and every other job has run and been handed to the driver."""
    c, _ = cluster
    code = ("from tfrepro.infra import pool\nfrom compat_tests.ray_jobs import crash_on_two\n"
            f"pool.use_backend('ray', {c.address!r})\ngot = []\n"
            "try:\n    pool.run_in_workers(crash_on_two, [(i,) for i in range(5)], 2, lambda j, r: got.append(r))\n"
            "except pool.WorkerDied as e:\n    print('DIED', e)\nprint('GOT', sorted(got))\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("RAY_ADDRESS", None)
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=600)
    out = proc.stdout.splitlines()
    assert proc.returncode == 0 and out[-1] == "GOT [0, 10, 30, 40]", proc.stdout + proc.stderr[-2000:]
    died = [ln for ln in out if ln.startswith("DIED")]
    assert len(died) == 1 and "1 job failed on 4 tries" in died[0] and "crash_on_two" not in died[0], died


def test_matrix_runs_each_releases_bench_on_the_cluster_in_that_releases_environment(cluster, tmp_path):
    """``matrix --backend ray``: each release's bench is a driver on the cluster whose tasks run
    in that release's environment (its interpreter, named to Ray as the tasks' ``py_executable``),
    with the rewards the local matrix gets. The two 'releases' are stand-ins that run this
    interpreter and log every start, so the test sees the cluster's workers start through them."""
    from tfrepro.tools.matrix import MARKER, env_spec

    c, _ = cluster
    cache = tmp_path / "cache"
    for v in ("2.20", "2.21"):
        for ray_env in (False, True):
            env, want = env_spec(v, cache, ray=ray_env)
            (env / "bin").mkdir(parents=True)
            py = env / "bin" / "python"
            py.write_text(f'#!/bin/sh\necho "$@" >> "{env}/started.log"\nexec "{sys.executable}" "$@"\n')
            py.chmod(0o755)
            (env / MARKER).write_text(json.dumps(want))
    args = ("matrix", "--tf", "2.20", "2.21", "--cache", cache, "--programs", "pg-geron", "--seeds", "2",
            "--iterations", "5", "--frameworks", "tf1", "--no-speed", "--workers", "2")
    for name, extra in (("mlocal", ()), ("mray", ("--backend", "ray", "--address", c.address))):
        p = _cli(tmp_path, *args, "--out-dir", name, *extra)
        _, err = p.communicate(timeout=900)
        assert p.returncode in (0, 1), err[-3000:]
    for v in ("2.20", "2.21"):
        local, on_ray = (json.loads((tmp_path / d / "runs" / f"tf-{v}.json").read_text()) for d in ("mlocal", "mray"))

        def rewards(doc):
            return sorted((r["program"], r["framework"], r["seed"], r["eval_mean"]) for r in doc["results"]
                          if r["kind"] == "reward")

        assert rewards(on_ray) == rewards(local) and len(rewards(local)) == 2
        started = (env_spec(v, cache, ray=True)[0] / "started.log").read_text()
        assert "default_worker.py" in started  # the cluster's workers ran this release's interpreter
        assert "default_worker.py" not in (env_spec(v, cache)[0] / "started.log").read_text()
