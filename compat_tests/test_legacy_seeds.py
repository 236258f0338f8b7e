"""Tier 9: ``tfrepro legacy --seeds``: a script run once per seed, every episode captured at the
environment (equal to what the script itself prints), its own constant seeds moved so that runs
differ, and ``--against PORT.py`` with the verdict plumbing on sides of known truth (the same
policy: equivalent; a policy that always pushes left: worse). None imports TensorFlow."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from compat_tests.conftest import ROOT

SCRIPT = """
import gym, random, numpy as np
env = gym.make('CartPole-v0')
env.seed(7)
np.random.seed(7)   # the script's own seeds: --seeds must still make runs differ
random.seed(7)
for e in range(40):
    obs, done, total = env.reset(), False, 0
    while not done:
        a = 0 if obs[2] + 0.1 * np.random.randn() < 0 else 1
        obs, r, done, _ = env.step(a)
        total += r
    print("return %d" % total)
"""

PORT_SAME = """
import gymnasium as gym, numpy as np
env = gym.make('CartPole-v0')
rng = np.random.default_rng(7)
obs, _ = env.reset(seed=7)
for e in range(40):
    if e:
        obs, _ = env.reset()
    done = False
    while not done:
        a = 0 if obs[2] + 0.1 * rng.standard_normal() < 0 else 1
        obs, r, term, trunc, _ = env.step(a)
        done = term or trunc
"""

PORT_LEFT = PORT_SAME.replace("a = 0 if obs[2] + 0.1 * rng.standard_normal() < 0 else 1", "a = 0")


def run(tmp_path, *args, timeout=600):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "tfrepro", "legacy", *map(str, args)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=timeout, env=env)


def write(tmp_path, name, text):
    (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / name).write_text(textwrap.dedent(text))


@pytest.mark.slow  # fresh processes, one after another
def test_capture_equals_what_the_script_prints_and_seeds_vary(tmp_path):
    write(tmp_path, "script.py", SCRIPT)
    p = run(tmp_path, "--seeds", "0..2", "--out-dir", "out", "script.py")
    assert p.returncode == 0, p.stderr[-3000:]
    docs = {s: json.loads((tmp_path / "out" / "runs" / f"legacy-seed{s}.json").read_text()) for s in range(3)}
    for s, doc in docs.items():
        printed = [int(ln.split()[1]) for ln in (tmp_path / "out" / "runs" / f"legacy-seed{s}.log").read_text()
                   .splitlines() if ln.startswith("return ")]
        assert doc["returns"] == printed and doc["lengths"] == printed  # CartPole: one point a step
        assert doc["seed"] == s and doc["env_ids"] == ["CartPole-v0"] and len(doc["script_sha256"]) == 64
        assert doc["env_steps"] == sum(printed) and doc["versions"]["gymnasium"]
    assert docs[0]["returns"] != docs[1]["returns"] != docs[2]["returns"]  # the script's own seeds moved
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["sides"]["legacy"]["n"] == 3 and "port" not in summary["sides"]
    assert (tmp_path / "out" / "curves.png").stat().st_size > 0 and (tmp_path / "out" / "index.html").exists()
    # an earlier run's folder is never written over without being asked; --resume keeps its runs
    p = run(tmp_path, "--seeds", "0..2", "--out-dir", "out", "script.py")
    assert p.returncode == 2 and "--resume" in p.stderr and len(p.stderr.strip().splitlines()) == 1
    before = (tmp_path / "out" / "runs" / "legacy-seed1.json").read_text()
    p = run(tmp_path, "--seeds", "0..3", "--out-dir", "out", "--resume", "script.py")
    assert p.returncode == 0, p.stderr[-2000:]
    assert (tmp_path / "out" / "runs" / "legacy-seed1.json").read_text() == before
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["sides"]["legacy"]["n"] == 4


@pytest.mark.slow  # 2 x (10 + 4) runs, a process each
@pytest.mark.parametrize("port, verdict, seeds", [(PORT_SAME, "equivalent", 10), (PORT_LEFT, "worse", 4)])
def test_against_a_port_of_known_truth(tmp_path, port, verdict, seeds):
    write(tmp_path, "script.py", SCRIPT)
    write(tmp_path, "port.py", port)
    p = run(tmp_path, "--seeds", seeds, "--against", "port.py", "--outcome", "mean", "--out-dir", "out", "script.py")
    assert p.returncode == 0, p.stderr[-3000:]
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["verdict"] == verdict, summary["comparison"]
    assert summary["margin"] == pytest.approx(9.75) and "reward_threshold" in summary["margin_reason"]
    assert summary["sides"]["port"]["n"] == seeds and summary["speed_ratio"] > 0
    assert f"**{verdict}**" in (tmp_path / "out" / "table.md").read_text()


@pytest.mark.slow  # fresh processes, one after another
def test_seeds_usage_errors_are_one_line(tmp_path):
    write(tmp_path, "script.py", SCRIPT)
    write(tmp_path, "noenv.py", "print('no environment here')\n")  # a port that never makes an environment
    p = run(tmp_path, "--seeds", "0..1", "--episodes", "3", "--against", "noenv.py", "--out-dir", "o", "script.py")
    assert p.returncode == 1 and "the port side recorded no episode" in p.stderr, p.stderr
    for args, needle in ((["--seeds", "3..1"], "A <= B"), (["--seeds", "0..2", "--against", "nope.py"], "nope.py"),
                         (["--against", "script.py"], "go with --seeds"),
                         (["--seeds", "0..1", "--record", "r"], "single run"),
                         (["--seeds", "0..1", "--margin", "-1"], "positive number"),
                         (["--seeds", "0..1", "--margin", "pg=3"], "invalid margin")):
        p = run(tmp_path, *args, "script.py")
        assert p.returncode == 2 and needle in p.stderr and len(p.stderr.strip().splitlines()) == 1, (args, p.stderr)


TF1_SCRIPT = """
import gym, numpy as np
import tensorflow as tf
tf.set_random_seed(1)
env = gym.make('CartPole-v0')
env.seed(1)
x = tf.placeholder(tf.float32, [None, 4])
hidden = tf.layers.dense(x, 8, activation=tf.nn.relu)
scale = tf.Variable(tf.truncated_normal([1], mean=1.0, stddev=0.1))
logit = tf.layers.dense(hidden, 1) * scale
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for e in range(6):
        obs, done, total = env.reset(), False, 0
        while not done:
            p = sess.run(tf.sigmoid(logit), {x: obs[None]})[0, 0]
            obs, r, done, _ = env.step(int(np.random.rand() < p))
            total += r
        print("return %d" % total)
"""


@pytest.mark.slow  # builds (once, cached) and runs TensorFlow 1.15 on Python 3.7
def test_against_real_tf115(tmp_path):
    from tfrepro.infra import tf115

    if tf115.find_python37() is None:
        pytest.skip("no Python 3.7 here to build TensorFlow 1.15's environment")
    write(tmp_path, "script.py", TF1_SCRIPT)
    p = run(tmp_path, "--seeds", "0..2", "--against", "tf1.15", "--out-dir", "out", "script.py", timeout=1800)
    assert p.returncode == 0, p.stderr[-3000:]
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert (summary["base"], summary["new"]) == ("tf1.15", "legacy")
    for s in range(3):
        doc = json.loads((tmp_path / "out" / "runs" / f"tf1.15-seed{s}.json").read_text())
        assert doc["versions"]["tensorflow"] == "1.15.0" and doc["versions"]["gym"] == "0.21.0"
        printed = [int(ln.split()[1]) for ln in (tmp_path / "out" / "runs" / f"tf1.15-seed{s}.log").read_text()
                   .splitlines() if ln.startswith("return ")]
        assert doc["returns"] == printed and len(printed) == 6  # captured at gym 0.21's environment
    assert summary["sides"]["legacy"]["n"] == 3 and summary["sides"]["tf1.15"]["n"] == 3
    # gym 0.21's seeding, TF 1.15's op seeds and the same float32 network: the same episodes, every one
    assert summary["identical_episodes"] == {"0": 6, "1": 6, "2": 6}
    assert summary["verdict"] == "equivalent" and summary["comparison"]["paired"]


SHADOWS = """
import imp, signal   # the script's own modules, named like standard ones the boots import for themselves
import gym
print("mine %s %s" % (imp.WHO, signal.WHO))
env = gym.make('CartPole-v0')
env.seed(0)
env.reset()
for _ in range(30):
    if env.step(0)[2]:
        env.reset()
"""

SHADOWS_PORT = """
import imp, signal
import gymnasium
print("mine %s %s" % (imp.WHO, signal.WHO))
env = gymnasium.make('CartPole-v0')
env.reset(seed=0)
for _ in range(30):
    if any(env.step(0)[2:4]):
        env.reset()
"""


@pytest.mark.slow  # three interpreters (one on TF 1.15's Python 3.7 where it can be built)
def test_the_scripts_own_modules_win_over_the_boots(tmp_path):
    """``python script.py`` finds the script's ``imp.py`` and ``signal.py`` before the standard
    library's (which its interpreter has not loaded yet): so does every side's boot, although it
    imported both for itself first (once, ``imp`` ended the run with a traceback)."""
    from tfrepro.infra import tf115

    for name in ("imp", "signal"):
        write(tmp_path, f"{name}.py", f"WHO = 'own-{name}'\n")
    write(tmp_path, "script.py", SHADOWS)
    write(tmp_path, "port.py", SHADOWS_PORT)
    p = run(tmp_path, "script.py")
    assert p.returncode == 0 and "mine own-imp own-signal" in p.stdout, p.stderr[-2000:]
    against = "tf1.15" if tf115.find_python37() is not None else "port.py"
    for side in dict.fromkeys([against, "port.py"]):
        out = tmp_path / f"out-{side}"
        p = run(tmp_path, "--seeds", "0..0", "--against", side, "--out-dir", out, "script.py", timeout=1800)
        assert p.returncode == 0, p.stderr[-2000:]
        for log in sorted((out / "runs").glob("*.log")):
            assert "mine own-imp own-signal" in log.read_text(), (log.name, log.read_text()[-2000:])
        assert len(list((out / "runs").glob("*.log"))) == 2


UNLIMITED = """
import gym
env = gym.make('CartPole-v0').unwrapped   # no time limit: a balancing policy plays on past 200 steps
env.seed(0)
for e in range(4):
    obs, done, t = env.reset(), False, 0
    while not done and t < 450:
        obs, r, done, _ = env.step(1 if obs[2] + 0.5 * obs[3] > 0 else 0)
        t += 1
    print("return %d" % t)
"""


@pytest.mark.slow  # fresh processes, one after another
def test_an_episode_counts_within_its_environments_registered_time_limit(tmp_path):
    """A script that plays ``env.unwrapped`` runs episodes past the limit its environment is
    registered with; the outcome counts each episode's return within that limit (the scale the
    margin is declared on), while ``returns`` keep what the script got. Old captures without the
    field are read by their returns."""
    from tfrepro.tools.legacy.runs import episode_returns

    write(tmp_path, "script.py", UNLIMITED)
    p = run(tmp_path, "--seeds", "0..1", "--out-dir", "out", "script.py")
    assert p.returncode == 0, p.stderr[-3000:]
    for s in range(2):
        doc = json.loads((tmp_path / "out" / "runs" / f"legacy-seed{s}.json").read_text())
        assert doc["lengths"][:3] == [450, 450, 450] and doc["returns"][:3] == [450.0, 450.0, 450.0]
        assert doc["returns_within_limit"][:3] == [200.0, 200.0, 200.0]  # CartPole-v0's registered 200
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["sides"]["legacy"]["outcomes"] == {"0": 200.0, "1": 200.0}
    assert episode_returns({"returns": [3.0, 4.0]}) == [3.0, 4.0]
    assert episode_returns({"returns": [3.0, 4.0], "returns_within_limit": [3.0]}) == [3.0, 4.0]  # not its own
    assert episode_returns({"returns": [300.0], "returns_within_limit": [200.0]}) == [200.0]


def test_op_seeds_follow_tf115s_derivation(tmp_path):
    """A random op without a seed of its own, in a graph with a seed: TF 1.15 gives it the graph's
    operation count as its op seed (measured on TF 1.15: 4 for a dense kernel made after one
    placeholder; TF 2.21 counts seeded ops instead and gives 0)."""
    write(tmp_path, "probe.py", '''
        import tensorflow as tf
        tf.set_random_seed(1)
        x = tf.placeholder(tf.float32, [None, 4])
        h = tf.layers.dense(x, 2)
        w = tf.Variable(tf.random_normal([3]))
        seeds = [(op.name, op.get_attr("seed"), op.get_attr("seed2")) for op in tf.get_default_graph().get_operations()
                 if op.type in ("RandomUniform", "RandomStandardNormal")]
        print("SEEDS", seeds)
        ''')
    p = subprocess.run([sys.executable, "-m", "tfrepro", "legacy", "probe.py"], cwd=tmp_path, capture_output=True,
                       text=True, timeout=300)
    line = next(ln for ln in p.stdout.splitlines() if ln.startswith("SEEDS"))
    assert eval(line[6:]) == [("dense/kernel/Initializer/random_uniform/RandomUniform", 1, 4),
                              ("random_normal/RandomStandardNormal", 1, 20)], p.stderr[-2000:]


def test_seeds_never_replace_a_users_files(tmp_path):
    write(tmp_path, "script.py", SCRIPT)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "index.html").write_text("<p>my page</p>")
    p = run(tmp_path, "--seeds", "1", "--out-dir", "mine", "script.py")
    assert p.returncode == 2 and "index.html" in p.stderr and len(p.stderr.strip().splitlines()) == 1
    assert (tmp_path / "mine" / "index.html").read_text() == "<p>my page</p>"



def test_every_seed_starts_from_one_snapshot_of_the_folder(tmp_path, monkeypatch):
    """Runs copy a snapshot taken once, without the results folder inside the script's folder, and a file
    that vanishes while it is copied (a worker's temporary record) is left out rather than failing the run."""
    from tfrepro.tools.legacy import runs

    src = tmp_path / "proj"
    write(src, "script.py", SCRIPT)
    write(src, "lib/helper.py", "X = 1\n")
    write(src, "out/runs/.legacy-seed4.json.tmp", "{}")
    write(src, "gone.tmp", "")
    real = runs.shutil.copy2

    def copy2(a, b, **kw):
        if Path(a).name == "gone.tmp":
            raise FileNotFoundError(a)
        return real(a, b, **kw)

    monkeypatch.setattr(runs.shutil, "copy2", copy2)
    runs.snapshot(src, tmp_path / "snap", skip=[src / "out"])
    got = sorted(str(p.relative_to(tmp_path / "snap")) for p in (tmp_path / "snap").rglob("*") if p.is_file())
    assert got == ["lib/helper.py", "script.py"]
    assert runs._folder_bytes(src, skip=[src / "out"]) == len(SCRIPT) + len("X = 1\n")


SEEDING = """
import gym, json
out = {}
for env_id in ('CartPole-v0', 'MountainCar-v0', 'Acrobot-v1', 'Pendulum-v1', 'FrozenLake-v1', 'Taxi-v3'):
    env = gym.make(env_id)
    env.seed(3)
    env.action_space.seed(5)
    rows = []
    for e in range(3):
        obs = env.reset()
        rows.append([repr(obs), repr([env.action_space.sample() for _ in range(4)])])
    if env_id == 'FrozenLake-v1':
        env.reset()
        rows.append([repr([env.step(2)[0] for _ in range(6)])])  # the slips
    out[env_id] = rows
print("SEEDS=" + json.dumps(out))
"""


@pytest.mark.slow  # real gym 0.21 in TensorFlow 1.15's environment (built once, cached)
def test_env_seed_draws_what_gym_021_drew(tmp_path):
    """env.seed(n) / action_space.seed(n) through the shim: the same start states, samples and
    FrozenLake slips as real gym 0.21, to the last printed digit and dtype."""
    from tfrepro.infra import tf115

    py37 = tf115.find_python37()
    if py37 is None:
        pytest.skip("no Python 3.7 here to build gym 0.21's environment")
    write(tmp_path, "seeding.py", SEEDING)
    py = tf115.ensure(py37, log=lambda m: print(m, file=sys.stderr))
    real = subprocess.run([str(py), "seeding.py"], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env=tf115.image_env({"PYTHONPATH": ""}))
    ours = run(tmp_path, "seeding.py")
    assert real.returncode == 0 and ours.returncode == 0, real.stderr[-2000:] + ours.stderr[-2000:]
    pick = lambda out: json.loads(next(ln for ln in out.splitlines() if ln.startswith("SEEDS="))[6:])  # noqa: E731
    assert pick(ours.stdout) == pick(real.stdout)


@pytest.mark.slow  # fresh processes, one after another
def test_against_another_release_runs_the_script_there(tmp_path):
    """``--against tfX.Y`` runs the runner with that release's Python (matrix's cached environment,
    found through XDG_CACHE_HOME here: a stand-in that is this interpreter, so no download): the same
    script, seeds and stops on both sides, every episode identical, the verdict exact."""
    from tfrepro.tools.matrix import MARKER, env_spec

    cache = tmp_path / "xdg"
    env, want = env_spec("2.20", cache / "tfrepro" / "matrix", legacy=True)
    (env / "bin").mkdir(parents=True)
    (env / "bin" / "python").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    (env / "bin" / "python").chmod(0o755)
    (env / MARKER).write_text(json.dumps(want))
    write(tmp_path, "script.py", SCRIPT)
    p = subprocess.run([sys.executable, "-m", "tfrepro", "legacy", "--seeds", "0..1", "--against", "tf2.20",
                        "--episodes", "5", "--out-dir", "out", "script.py"], cwd=tmp_path, capture_output=True,
                       text=True, timeout=600, env=dict(os.environ, PYTHONPATH=str(ROOT), XDG_CACHE_HOME=str(cache)))
    assert p.returncode == 0, p.stderr[-3000:]
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert (summary["base"], summary["new"]) == ("tf2.20", "legacy")
    assert summary["identical_episodes"] == {"0": 5, "1": 5} and summary["verdict"] == "equivalent"
    bad = run(tmp_path, "--seeds", "0..1", "--against", "tf2.9", "script.py")
    assert bad.returncode == 2 and "2.12" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    bad = run(tmp_path, "--seeds", "0..1", "--against", "tf9.99", "script.py")
    assert bad.returncode == 2 and "TensorFlow 2 releases" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


def test_an_environment_that_cannot_be_built_offline_is_one_line_before_any_build(tmp_path, monkeypatch):
    """With the package index out of reach, a release whose environment is not built yet is
    refused in one line before anything is built; one already built goes ahead."""
    from tfrepro.core.errors import UsageError
    from tfrepro.tools import matrix

    monkeypatch.setattr(matrix, "published_versions", lambda package="tensorflow": None)
    with pytest.raises(UsageError, match="cannot be reached .* no environment for it is built yet"):
        matrix.check_published(["2.19"], tmp_path, legacy=True)
    env, want = matrix.env_spec("2.19", tmp_path, legacy=True)
    (env / "bin").mkdir(parents=True)
    (env / "bin" / "python").write_text("")
    (env / matrix.MARKER).write_text(json.dumps(want))
    matrix.check_published(["2.19"], tmp_path, legacy=True)
    assert [p.name for p in tmp_path.iterdir()] == [env.name], "the check never builds"


PY2_SCRIPT = """
import gym, numpy as np
import tensorflow as tf
env = gym.make('CartPole-v0')
x = tf.placeholder(tf.float32, [None, 4])
p = tf.layers.dense(tf.layers.dense(x, 4, activation=tf.nn.relu), 1, activation=tf.nn.sigmoid)
action = tf.multinomial(tf.log(tf.concat([p, 1 - p], 1)), 1)
raw_input("press enter to start")
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for e in xrange(5):
        obs, done, total = env.reset(), False, 0
        while not done:
            obs, r, done, _ = env.step(sess.run(action, {x: obs.reshape(1, 4)})[0][0])
            total += r
        print "return %d" % total
"""


@pytest.mark.slow  # installs (once, cached) TF 1.15's Python 2.7 wheel
@pytest.mark.xdist_group("tf115")
def test_python2_script_against_real_tf115_on_python27(tmp_path):
    from tfrepro.infra import tf115

    if tf115.find_python27() is None:
        pytest.skip("no UCS4 Python 2.7 here for TensorFlow 1.15's cp27mu wheel")
    write(tmp_path, "script.py", PY2_SCRIPT)
    p = run(tmp_path, "--seeds", "0..1", "--against", "tf1.15", "--out-dir", "out", "script.py", timeout=1800)
    assert p.returncode == 0, p.stderr[-3000:]
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    doc = json.loads((tmp_path / "out" / "runs" / "tf1.15-seed0.json").read_text())
    assert doc["versions"]["python"].startswith("2.7") and doc["versions"]["tensorflow"] == "1.15.0"
    log = (tmp_path / "out" / "runs" / "tf1.15-seed0.log").read_text()  # the prompt shares the first line
    printed = [int(n) for n in re.findall(r"return (\d+)", log)]
    assert doc["returns"] == printed and len(printed) == 5
    # gym 0.16's seeding is 0.21's; TF 1.15's op seeds, tf.multinomial's draws: the same episodes
    assert summary["identical_episodes"] == {"0": 5, "1": 5}


def _seeds_folder(folder, side, returns_by_seed, script="script.py"):
    """A legacy --seeds folder as the runner writes it, with the given returns (synthetic sides of
    known truth)."""
    from tfrepro.tools.legacy.capture import CAPTURE_SCHEMA
    from tfrepro.tools.legacy.runs import summarise

    (folder / "runs").mkdir(parents=True)
    docs = {}
    for s, rets in returns_by_seed.items():
        doc = {"schema": CAPTURE_SCHEMA, "side": side, "script": script, "script_sha256": "ab" * 32, "seed": s,
               "status": 0, "returns": rets, "lengths": [int(r) for r in rets], "env_ids": ["CartPole-v0"],
               "env_steps": int(sum(rets)), "wall_s": 1.0, "versions": {"tensorflow": "x"}}
        (folder / "runs" / f"{side}-seed{s}.json").write_text(json.dumps(doc))
        docs[s] = doc
    summary = summarise({side: docs}, "last10", 9.75, "declared", sorted(returns_by_seed))
    (folder / "summary.json").write_text(json.dumps(summary))


def test_compare_reads_two_seeds_folders_and_report_shows_them(tmp_path):
    rng = np.random.default_rng(0)
    base = {s: list(rng.normal(100, 30, 10)) for s in range(12)}
    _seeds_folder(tmp_path / "before", "legacy", base)
    _seeds_folder(tmp_path / "same", "legacy", base)
    _seeds_folder(tmp_path / "up", "legacy", {s: [r + 40 for r in v] for s, v in base.items()})

    def compare(*args):
        return subprocess.run([sys.executable, "-m", "tfrepro", "compare", *args], cwd=tmp_path,
                              capture_output=True, text=True, timeout=300, env=dict(os.environ, PYTHONPATH=str(ROOT)))

    p = compare("before", "same", "--out-dir", "c1")
    assert p.returncode == 0, p.stderr[-2000:]
    got = json.loads((tmp_path / "c1" / "compare.json").read_text())
    assert got["verdict"] == "equivalent" and got["identical_episodes"] == {str(s): 10 for s in range(12)}
    p = compare("before:legacy", "up", "--out-dir", "c2")
    assert p.returncode == 0 and "**better**" in p.stdout, p.stderr[-2000:]
    assert "not side by side" in p.stdout
    for args, needle in ((("before:port", "up"), "no side 'port'"), (("before", tmp_path / "nowhere"), "NEW"),
                         (("before", "up", "--margin", "pg-tang=3"), "no program name")):
        p = compare(*map(str, args), "--out-dir", "c3")
        assert p.returncode in (1, 2) and len(p.stderr.strip().splitlines()) == 1, (args, p.stderr)
        assert needle in p.stderr, (args, p.stderr)
    r = subprocess.run([sys.executable, "-m", "tfrepro", "report", "before", "c2", "--out", "page"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=300, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert r.returncode == 0, r.stderr[-2000:]
    page = (tmp_path / "page" / "index.html").read_text()
    assert "Script seeds" in page and "better" in page


VECTOR_PORT = """
import gymnasium as gym, numpy as np
envs = {MAKE}
n = envs.num_envs
obs, _ = envs.reset(seed=5)
ret, resetting, count = np.zeros(n), np.zeros(n, bool), 0
while count < 9:
    obs, r, term, trunc, _ = envs.step((obs[:, 2] > 0).astype(int))
    for i in range(n):
        if resetting[i]:  # gymnasium's NEXT_STEP autoreset: this step reset copy i
            resetting[i] = False
            continue
        ret[i] += r[i]
        if term[i] or trunc[i]:
            print("episode %.1f" % ret[i])
            ret[i], resetting[i], count = 0, True, count + 1
envs.close()
"""


@pytest.mark.slow  # fresh processes, one after another
@pytest.mark.parametrize("make", ["gym.make_vec('CartPole-v1', num_envs=3)",
                                  "gym.vector.AsyncVectorEnv([lambda: gym.make('CartPole-v1')] * 2)"])
def test_a_ports_vector_environments_are_recorded(tmp_path, make):
    """A port's vector environment (one made by make_vec, or an AsyncVectorEnv whose copies live in
    other processes): every copy's episodes, recorded at the vector, equal what the port counts."""
    write(tmp_path, "script.py", SCRIPT)
    (tmp_path / "port.py").write_text(VECTOR_PORT.replace("{MAKE}", make))
    p = run(tmp_path, "--seeds", "0..0", "--episodes", "30", "--against", "port.py", "--out-dir", "o", "script.py")
    assert p.returncode == 0, p.stderr[-2000:]
    doc = json.loads((tmp_path / "o" / "runs" / "port-seed0.json").read_text())
    printed = [float(x) for x in re.findall(r"episode (\S+)", (tmp_path / "o" / "runs" / "port-seed0.log").read_text())]
    assert len(printed) >= 9 and doc["returns"][:len(printed)] == printed
    assert len(set(doc["env_of_episode"])) > 1 and doc["env_ids"][0] == "CartPole-v1"


def test_collapse_rates_apart_where_runs_are_bimodal():
    """--collapse-below: runs below it collapsed; the verdict weighs the rates (Fisher) apart from the
    means of the rest. Known truth: the same rates and means are not 'worse'; a side that collapses on
    half its seeds is."""
    from tfrepro.tools.legacy.runs import summarise
    from tfrepro.tools.legacy.table import table_markdown

    rng = np.random.default_rng(1)

    def docs(vals):
        return {s: {"returns": [float(v)], "lengths": [1], "env_steps": 1, "wall_s": 1.0, "status": 0,
                    "versions": {}, "script": "a.py", "script_sha256": str(s), "env_ids": []}
                for s, v in enumerate(vals)}

    good = [9.0] * 2 + list(rng.normal(190, 3, 58))
    same = [9.0] * 2 + list(rng.normal(190, 3, 58))
    bad = [9.0] * 30 + list(rng.normal(190, 3, 30))
    s = summarise({"legacy": docs(good), "port": docs(same)}, "mean", 10, "declared", list(range(60)), 50)
    assert s["verdict"] == "equivalent" and s["comparison"]["collapse"]["base"] == [2, 60]
    s = summarise({"legacy": docs(good), "port": docs(bad)}, "mean", 10, "declared", list(range(60)), 50)
    assert s["verdict"] == "worse" and "Collapsed (outcome below 50)" in table_markdown(s)
