"""Tier 9: Real TF1: the legacy_tf1 programs on TensorFlow 1.15.0, Python 3.7 and gym 0.21, in the
environment of docker/Dockerfile.tf1 (its pip steps replayed into a Python 3.7 venv by
tf115_env.py, run with its ENV). No Docker engine runs here, so the image itself is not
built; what it installs and runs is. Needs a Python 3.7 interpreter (pyenv's on the
machines this is developed and checked on); without one these tests skip, saying so.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from compat_tests import tf115_env
from tfrepro.infra import programs
from tfrepro.infra.records import read_record

PY37 = tf115_env.find_python37()
# a Python 3.7 venv with TF 1.15 and gym 0.21, built (or found cached) by the first test: slow
pytestmark = [pytest.mark.skipif(PY37 is None, reason="no Python 3.7 here (set TFREPRO_PYTHON37)"),
              pytest.mark.slow, pytest.mark.xdist_group("tf115")]  # one venv, one worker (pytest -n)


@pytest.fixture(scope="module")
def tf115():
    """``run(*args, cwd)``: ``python -m tfrepro ARGS`` as the TF 1.15 image runs it."""
    py = tf115_env.ensure(PY37, log=lambda m: print(m, file=sys.stderr))

    def run(*args, cwd, module=("-m", "tfrepro"), timeout=600):
        return subprocess.run([str(py), *module, *map(str, args)], cwd=cwd, capture_output=True,
                              text=True, timeout=timeout, env=tf115_env.image_env())

    run.python = py
    return run


def test_the_image_installs_tf115_and_gym021_without_gymnasium(tf115, tmp_path):
    probe = ("import json, sys, tensorflow as tf, gym\n"
             "try:\n    import gymnasium; g = gymnasium.__version__\nexcept ImportError:\n    g = None\n"
             "from tfrepro.core import envs\n"
             "print(json.dumps([sys.version.split()[0], tf.__version__, gym.__version__, g, envs.backend()]))")
    proc = tf115("-c", probe, cwd=tmp_path, module=())
    assert proc.returncode == 0, proc.stderr[-2000:]
    py, tf, gym, gymnasium, backend = json.loads(proc.stdout.splitlines()[-1])
    assert py.startswith("3.7.") and tf == "1.15.0" and gym == "0.21.0"
    assert gymnasium is None and backend == "gym"
    check = subprocess.run([str(tf115.python), "-m", "pip", "check"], capture_output=True, text=True,
                           env=tf115_env.image_env({"PYTHONPATH": ""}))
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.mark.parametrize("name", list(programs.BUILTINS))
def test_every_legacy_program_runs_unchanged_on_tf115(tf115, tmp_path, name):
    """Book and fast mode of each legacy_tf1 program through `tfrepro run`, on TF 1.15 with
    gym 0.21's own environments: the same result record as on TF 2.21 (read back by this
    Python's reader), stamped with the versions, scores of CartPole."""
    prog = programs.get(name)
    if "lockstep" in prog.modes:  # replays gymnasium's seeding: refused on gym 0.21, in one line
        proc = tf115("run", name, "--framework", "tf1", "--mode", "lockstep", "--iterations", "3",
                     "--out", tmp_path / "lockstep.json", cwd=tmp_path)
        assert proc.returncode == 2 and "gymnasium back end" in proc.stderr.strip().splitlines()[-1], proc.stderr
        assert not (tmp_path / "lockstep.json").exists()
    for mode in [m for m in prog.modes if m != "lockstep"]:
        out = tmp_path / f"{name}-{mode}.json"
        args = ["run", name, "--framework", "tf1", "--mode", mode, "--out", out]
        if prog.iterations_field:
            args += ["--iterations", "3"]
        if prog.logdir:
            args += ["--logdir", tmp_path / "tb"]
        proc = tf115(*args, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr[-3000:]
        rec = read_record(out)
        assert (rec["program"], rec["framework"], rec["mode"]) == (name, "tf1", mode)
        v = rec["versions"]
        assert v["tensorflow"] == "1.15.0" and v["gym"] == "0.21.0" and "gymnasium" not in v
        assert v["python"].startswith("3.7.")
        assert len(rec["eval_returns"]) >= 20 and 8 <= rec["eval_mean"] <= 500
        assert f"{name} [tf1, {mode}, seed 0" in proc.stdout
    if prog.logdir:  # tf.summary.FileWriter wrote TensorBoard events
        assert list((tmp_path / "tb").rglob("events.out.tfevents.*"))


def test_checkpoints_cross_between_tf115_and_tf221(tf115, tmp_path, cli_here):
    """A Saver checkpoint written on TF 1.15 loads in the compat.v1 form on TF 2.21 and converts
    to the TF2 port's .keras; one written on TF 2.21 loads on TF 1.15; pylessons's Keras .h5
    from TF 1.15's Keras loads on TF 2.21 in both forms."""
    proc = tf115("run", "pg-tang", "--framework", "tf1", "--mode", "fast", "--iterations", "5",
                 "--save", tmp_path / "ck115", "--out", tmp_path / "a.json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    proc = cli_here("run", "pg-tang", "--framework", "tf1", "--iterations", "0", "--load", tmp_path / "ck115",
                    "--out", tmp_path / "b.json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    proc = cli_here("convert", "pg-tang", tmp_path / "ck115", "--out", tmp_path / "k")
    assert proc.returncode == 0, proc.stderr[-3000:]
    keras_file = next((tmp_path / "k").glob("*.keras"))
    proc = cli_here("run", "pg-tang", "--framework", "tf2", "--iterations", "0", "--load", keras_file,
                    "--out", tmp_path / "c.json")
    assert proc.returncode == 0, proc.stderr[-3000:]

    proc = cli_here("run", "pg-geron", "--framework", "tf1", "--iterations", "2", "--save", tmp_path / "ck221",
                    "--out", tmp_path / "d.json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    proc = tf115("run", "pg-geron", "--framework", "tf1", "--iterations", "0", "--load", tmp_path / "ck221",
                 "--out", tmp_path / "e.json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # a checkpoint of another program: one line, exit 2, on TF 1.15 too
    proc = tf115("run", "pg-tang", "--framework", "tf1", "--iterations", "0", "--load", tmp_path / "ck221",
                 "--out", tmp_path / "f.json", cwd=tmp_path)
    assert proc.returncode == 2 and "this program expects [4, 4]" in proc.stderr
    assert len(proc.stderr.splitlines()) == 1 and "Traceback" not in proc.stderr
    assert not (tmp_path / "f.json").exists()

    proc = tf115("run", "dqn-pylessons", "--framework", "tf1", "--mode", "book", "--iterations", "2",
                 "--save", tmp_path / "py115", "--out", tmp_path / "g.json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    h5 = tmp_path / "py115" / "cartpole-dqn.h5"
    for fw in ("tf1", "tf2"):
        proc = cli_here("run", "dqn-pylessons", "--framework", fw, "--iterations", "0", "--load", h5,
                        "--out", tmp_path / f"h-{fw}.json")
        assert proc.returncode == 0, proc.stderr[-3000:]


def test_compare_tf115_against_compat_v1(tf115, tmp_path, cli_here):
    """The same bench on TF 1.15 and on TF 2.21 (compat.v1), then `compare`: the rows pair up.
    On TF 1.15 bench's default mode, lockstep, runs fast (lockstep needs gymnasium's
    seeding); on TF 2.21 fast is asked for, so that like meets like."""
    args = ["bench", "--programs", "pg-tang", "--frameworks", "tf1", "--seeds", "3", "--iterations", "20",
            "--no-speed"]
    proc = tf115(*args, "--out", tmp_path / "tf115.json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    proc = cli_here(*args, "--modes", "fast", "--out", tmp_path / "tf221.json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    proc = cli_here("compare", tmp_path / "tf115.json", tmp_path / "tf221.json", "--out-dir", tmp_path / "cmp")
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    md = (tmp_path / "cmp" / "compare.md").read_text()
    assert "BASE: TF 1.15.0 / gym 0.21.0" in md and "NEW: TF 2.21" in md and "/ gymnasium 1." in md
    row = [ln for ln in md.splitlines() if ln.startswith("| pg-tang (20 it) | tf1 | fast |")]
    verdicts = tuple(f"| {v} |" for v in ("equivalent", "inconclusive", "worse", "better"))
    assert len(row) == 1 and row[0].endswith(verdicts), md
