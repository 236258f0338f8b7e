"""Tier 9: ``tfrepro legacy SCRIPT.py``: TF1-era scripts, typed as printed (Tang, Meertens, pylessons,
with their Python 2 habits), run unchanged on today's TensorFlow; their printed results
are checked for sense, and the shims apply to the script only."""
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from compat_tests.conftest import ROOT

SCRIPTS = Path(__file__).resolve().parent / "legacy_scripts"


def _run(tmp_path, name, *args, stdin=None, report=True):
    """``tfrepro legacy [--json --report-out report.json] NAME`` in ``tmp_path`` (scripts from
    legacy_scripts/ are copied there first: they write their files beside themselves)."""
    if (SCRIPTS / name).exists():
        shutil.copy(SCRIPTS / name, tmp_path / name)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    rep = ["--json", "--report-out", str(tmp_path / "report.json")] if report else []
    cmd = [sys.executable, "-m", "tfrepro", "legacy"] + rep + [name, *args]
    return subprocess.run(cmd, cwd=tmp_path, input=stdin, capture_output=True, text=True, timeout=900, env=env)


def _shims(proc, tmp_path):
    """The constructs the migration report lists (what the script ran through the shims)."""
    return {c["construct"] for c in json.loads((tmp_path / "report.json").read_text())["constructs"]}


def test_tang_random_policy_with_python2_habits(cli, tmp_path):
    src = (SCRIPTS / "nn_random_policy.py").read_text()
    assert "\t" in src and "raw_input(" in src  # the habits are really in the file
    proc = _run(tmp_path, "nn_random_policy.py", stdin="\n")
    assert proc.returncode == 0, proc.stderr[-3000:]
    mean = float(proc.stdout.strip().splitlines()[-1].replace("press enter to start", ""))  # the prompt has no newline
    # Tang: "around 20-something" for the untrained network; the script is unseeded, so
    # between the one-sided minimum (~9 steps) and far below a trained policy
    assert 8 < mean < 60
    ran = _shims(proc, tmp_path)
    assert {"python2.tabs", "python2.raw_input", "gym.make", "env.reset", "env.step", "tf.placeholder",
            "tf.Session"} <= ran, ran
    assert (tmp_path / "nn_random_policy.py").read_text() == src  # unchanged


@pytest.mark.slow
def test_meertens_dqn_graph_rmsprop_and_filewriter(cli, tmp_path):
    proc = _run(tmp_path, "meertens_dqn.py")
    assert proc.returncode == 0, proc.stderr[-3000:]
    losses = [float(x) for x in re.findall(r"^Epoch \d+, loss: ([\d.]+)$", proc.stdout, re.M)]
    assert len(losses) == 2 and all(0 < x < 100 for x in losses), proc.stdout
    frames = int(re.search(r"^Test episode: (\d+) frames$", proc.stdout, re.M).group(1))
    assert 8 <= frames <= 200
    assert list((tmp_path / "trainsummary").glob("events.out.tfevents.*"))
    ran = _shims(proc, tmp_path)
    assert {"python2.xrange", "env.render", "tf.train.RMSPropOptimizer", "tf.summary.FileWriter"} <= ran, ran


@pytest.mark.slow
def test_pylessons_keras2_dqn_with_lr_and_spaced_name(cli, tmp_path):
    proc = _run(tmp_path, "pylessons_dqn.py")
    assert proc.returncode == 0, proc.stderr[-3000:]
    train = re.findall(r"^episode: (\d+)/8, score: (\d+), e: ([\d.]+)$", proc.stdout, re.M)
    assert [int(e) for e, _, _ in train] == list(range(8))
    assert all(8 <= int(s) <= 500 for _, s, _ in train)
    eps = [float(x) for _, _, x in train]
    assert eps[0] == 1.0 and eps[-1] < 1.0 and eps == sorted(eps, reverse=True)  # replay ran
    assert len(re.findall(r"^episode: \d/2, score: \d+$", proc.stdout, re.M)) == 2  # test() loaded the .h5
    assert 'Model: "CartPole_DQN_model"' in proc.stdout
    ran = _shims(proc, tmp_path)
    assert {"keras.optimizers.*(lr=)", "keras.name-with-spaces", "keras.model.predict", "keras.model.fit",
            "env.render", "gym.make"} <= ran, ran
    out = cli("inspect", "cartpole-dqn.h5", "--json")
    assert out.returncode == 0 and json.loads(out.stdout)["kind"].startswith("Keras 2 .h5")


PROBE = '''
import sys
import tensorflow as tf
import keras
from keras.optimizers import RMSprop
import keras.backend as K
import helper
opt = RMSprop(lr=0.00025, rho=0.95, epsilon=0.01)
print("lr", K.get_value(opt.learning_rate))
print("tf", tf.__name__, sys.modules["tensorflow"].__name__, helper.tf_name)
print("gym" in sys.modules, tf.executing_eagerly())
sys.exit(3)
'''


def test_shims_are_the_scripts_own_and_lr_is_honoured(cli, tmp_path):
    (tmp_path / "helper.py").write_text("import tensorflow\ntf_name = tensorflow.__name__\n")
    (tmp_path / "probe.py").write_text(PROBE)
    proc = _run(tmp_path, "probe.py", report=False)
    assert proc.returncode == 3, proc.stderr[-3000:]  # the script's exit code
    lines = proc.stdout.splitlines()
    assert lines[0] == "lr 0.00025"  # tf-keras alone would train at 0.001
    # the script and modules beside it get tf.compat.v1; TensorFlow's own sys.modules entry
    # (what tf-keras and NumPy-side code import) stays the real package
    assert lines[1] == "tf tensorflow.compat.v1 tensorflow tensorflow.compat.v1"
    assert lines[2] == "False False"  # no gym module installed anywhere; graph mode
    assert "Migration report" not in proc.stderr  # no --report, no report


@pytest.mark.parametrize("args,needle", [(("missing.py",), "no such script"),
                                         (("notes.txt",), "expected a Python script")])
def test_legacy_usage_errors(cli, tmp_path, args, needle):
    (tmp_path / "notes.txt").write_text("x")
    proc = cli("legacy", *args)
    assert proc.returncode == 2 and needle in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_a_script_killed_by_a_signal_is_named(cli, tmp_path):
    """A script that ends by a signal: the signal named in one line, exit 128 + N as a shell
    reports it (not 256 - N)."""
    (tmp_path / "suicide.py").write_text("import os, signal\nos.kill(os.getpid(), signal.SIGTERM)\n")
    proc = cli("legacy", "suicide.py")
    assert proc.returncode == 128 + 15, (proc.returncode, proc.stderr[-500:])
    assert "suicide.py was killed by SIGTERM" in proc.stderr


def test_inspect_and_compare_refuse_a_fifo_instead_of_blocking(cli_here, tmp_path):
    import os

    os.mkfifo(tmp_path / "pipe")
    for args in (("inspect", "pipe"), ("compare", "pipe", "pipe", "--out-dir", "c")):
        proc = cli_here(*args)
        assert proc.returncode == 2 and "not a regular file" in proc.stderr, proc.stderr
