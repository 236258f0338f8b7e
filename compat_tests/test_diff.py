"""Tier 7: ``tfrepro diff``: the migration ladder as a tool. Every program passes rungs 1-4 with the
matched optimizer pairing; the ports' own Keras Adam (epsilon 1e-7) is caught at rung 4; a
deliberately broken port is caught at the right rung."""
import json

import keras
import pytest

from modern_tf2 import pg_tang
from modern_tf2.common import policy_model
from tfrepro.core.errors import UsageError
from tfrepro.infra import programs
from tfrepro.tools.ladder import climb


@pytest.mark.slow
def test_diff_all_passes_every_rung(cli_here):
    proc = cli_here("diff", "--all", "--json")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    results = json.loads(proc.stdout)
    assert [r["program"] for r in results] == [n for n, p in programs.BUILTINS.items() if p.has_model]
    for r in results:
        assert [g["number"] for g in r["rungs"]] == [1, 2, 3, 4]
        trains = programs.get(r["program"]).iterations_field is not None
        for g in r["rungs"]:
            assert g["passed"] is True or (g["passed"] is None and not trains and g["number"] >= 3), r
            if g["number"] >= 2 and g["passed"]:
                assert g["max_diff"] < 1e-5


@pytest.mark.slow
def test_diff_table_and_exit_code_on_the_ports_own_adam(cli_here):
    """Keras Adam's epsilon (1e-7) against TF1's (1e-8): same gradients, other weights."""
    proc = cli_here("diff", "pg-geron", "--port-optimizer")
    assert proc.returncode == 1, proc.stderr[-2000:]
    rows = [ln for ln in proc.stdout.splitlines() if ln.startswith("| ") and ln[2].isdigit()]
    assert [r.split("|")[5].strip() for r in rows] == ["pass", "pass", "pass", "FAIL"]
    assert "epsilon 1e-7" in rows[3]


class WrongActivation(pg_tang.PolicyGradient):
    """A port with tanh where the source has ReLU."""

    def build(self, cfg):
        super().build(cfg)
        self.model = policy_model(cfg.hidden, "tanh", None, name="tang_policy")
        self.optimizer = keras.optimizers.Adam(cfg.learning_rate)
        self.optimizer.build(self.model.trainable_variables)


class DroppedBias(pg_tang.PolicyGradient):
    """A port whose hidden layer lost its bias."""

    def build(self, cfg):
        super().build(cfg)
        self.model = keras.Sequential([
            keras.Input(shape=(4,)),
            keras.layers.Dense(cfg.hidden, activation="relu", use_bias=False, name="hidden"),
            keras.layers.Dense(1, name="output")], name="tang_policy")
        self.optimizer = keras.optimizers.Adam(cfg.learning_rate)
        self.optimizer.build(self.model.trainable_variables)


@pytest.mark.parametrize("broken,first_failing", [(WrongActivation, 2), (DroppedBias, 1)])
def test_a_broken_port_is_caught_at_the_right_rung(broken, first_failing):
    rungs = climb("pg-tang", tf2_class=broken)
    results = [r.passed for r in rungs]
    assert results[:first_failing - 1] == [True] * (first_failing - 1), rungs
    assert results[first_failing - 1] is False, rungs


@pytest.mark.slow
def test_inspect_lists_variables_of_all_three_formats(cli_here, tmp_path):
    for fw in ("tf1", "tf2"):
        assert cli_here("run", "pg-tang", "--framework", fw, "--iterations", "2", "--quiet",
                        "--save", fw, "--out", f"{fw}.json").returncode == 0
    import tf_keras as K

    m = K.Sequential([K.layers.Input((4,)), K.layers.Dense(3, name="hidden"), K.layers.Dense(2, name="out")])
    m.save(tmp_path / "old.h5")
    expect = {
        "tf1": ("TF1 checkpoint", {"dense/kernel": [4, 4], "dense_1/bias": [1], "dense/kernel/Adam": [4, 4]}),
        "tf2/model.keras": ("Keras .keras model", {"hidden/kernel": [4, 4], "output/bias": [1]}),
        "old.h5": ("Keras 2 .h5 model", {"hidden/kernel:0": [4, 3], "out/bias:0": [2]}),
    }
    for path, (kind, variables) in expect.items():
        proc = cli_here("inspect", path, "--json")
        assert proc.returncode == 0, proc.stderr[-2000:]
        out = json.loads(proc.stdout)
        assert out["kind"].startswith(kind)
        found = {v["name"]: v["shape"] for v in out["variables"]}
        assert all(found[k] == v for k, v in variables.items()), found
        assert {v["dtype"] for v in out["variables"]} == {"float32"}
    table = cli_here("inspect", "tf1").stdout
    assert "| dense/kernel | [4, 4] | float32 |" in table and "14 variables" in table


def test_inspect_bad_files(cli, tmp_path):
    from tfrepro.core.errors import UsageError
    from tfrepro.tools.checkpoints import inspect

    (tmp_path / "text.bin").write_bytes(b"not a model")
    (tmp_path / "hdf.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 64)
    for path, needle in (("text.bin", "neither a TF1 checkpoint"), ("hdf.h5", "cannot read"),
                         ("missing", "no checkpoint or model")):
        with pytest.raises(UsageError, match=needle):
            inspect(tmp_path / path)
    proc = cli("inspect", "text.bin")  # and through the CLI: one line, exit 2
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr


@pytest.mark.parametrize("name", programs.names(lambda p: p.has_model))
def test_convert_round_trip(name, tmp_path, cli_here):
    """TF1 checkpoint -> .keras -> TF1 checkpoint: the same outputs everywhere."""
    import numpy as np

    from tfrepro.infra.twins import as_list, make_pair, observations
    from tfrepro.tools.convert import convert

    prog, cfg, a, _ = make_pair(name, seed=7)
    obs = observations()
    want = as_list(a.forward(obs))
    a.save(tmp_path / "tf1")
    a.close()
    path, world, diff = convert(name, tmp_path / "tf1", tmp_path / "tf2")
    assert world == "tf1" and diff <= 1e-5
    back, world, _ = convert(name, path, tmp_path / "tf1-again")
    assert world == "tf2"
    for form, src in (("tf2", path), ("tf1", tmp_path / "tf1-again")):
        with prog.make_agent(form, cfg, 0) as agent:
            agent.restore(src)
            np.testing.assert_allclose(as_list(agent.forward(obs)), want, rtol=1e-6, atol=1e-6)
    # never over a model already there (unless --force), never into the source's own folder
    before = sorted((p.name, p.read_bytes()) for p in (tmp_path / "tf2").iterdir())
    with pytest.raises(UsageError, match="already holds a model.*--force"):
        convert(name, tmp_path / "tf1", tmp_path / "tf2")
    assert sorted((p.name, p.read_bytes()) for p in (tmp_path / "tf2").iterdir()) == before
    with pytest.raises(UsageError, match="the source's own directory"):
        convert(name, tmp_path / "tf1", tmp_path / "tf1")
    assert convert(name, tmp_path / "tf1", tmp_path / "tf2", force=True)[1] == "tf1"
    for out, needle in (("tf2", "already holds a model"), ("tf1", "the source's own directory")):
        proc = cli_here("convert", name, str(tmp_path / "tf1"), "--out", str(tmp_path / out))
        assert proc.returncode == 2 and needle in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert cli_here("convert", name, str(tmp_path / "tf1"), "--out", str(tmp_path / "tf2"), "--force").returncode == 0


@pytest.mark.slow
def test_convert_errors_write_nothing(cli, tmp_path):
    assert cli("run", "pg-tang", "--framework", "tf1", "--iterations", "2", "--quiet",
               "--save", "tang", "--out", "t.json").returncode == 0
    proc = cli("convert", "pg-geron", "tang", "--out", "geron")  # another architecture
    assert proc.returncode == 2 and "shape" in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and not (tmp_path / "geron").exists()
    proc = cli("convert", "pg-tang", "t.json", "--out", "x")  # not a checkpoint
    assert proc.returncode == 2 and not (tmp_path / "x").exists()


@pytest.mark.slow
def test_run_loads_a_checkpoint_of_the_other_world(cli_here, tmp_path):
    """A TF1-trained policy evaluated by the TF2 port, and the reverse: the same weights and
    the same seed give the same evaluation episodes as in the form that trained them."""
    for fw in ("tf1", "tf2"):
        assert cli_here("run", "pg-tang", "--framework", fw, "--iterations", "20", "--quiet",
                        "--save", f"ck-{fw}", "--out", f"train-{fw}.json").returncode == 0
    evals = {}
    for trained in ("tf1", "tf2"):
        for fw in ("tf1", "tf2"):
            proc = cli_here("run", "pg-tang", "--framework", fw, "--load", f"ck-{trained}", "--iterations", "0",
                            "--seed", "4", "--quiet", "--out", f"e-{trained}-{fw}.json")
            assert proc.returncode == 0, proc.stderr[-2000:]
            assert ("converted for" in proc.stdout) == (trained != fw)
            evals[trained, fw] = json.loads((tmp_path / f"e-{trained}-{fw}.json").read_text())["eval_returns"]
    assert evals["tf1", "tf1"] == evals["tf1", "tf2"]
    assert evals["tf2", "tf2"] == evals["tf2", "tf1"]


def _missing_variable_checkpoint(prefix):
    """A name-based checkpoint of pg-tang's graph without ``dense_1/bias``."""
    import tensorflow.compat.v1 as tf

    g = tf.Graph()
    with g.as_default():
        tf.get_variable("dense/kernel", [4, 4])
        tf.get_variable("dense/bias", [4])
        tf.get_variable("dense_1/kernel", [4, 1])
        with tf.Session() as s:
            s.run(tf.global_variables_initializer())
            tf.train.Saver().save(s, str(prefix))


@pytest.mark.slow
def test_convert_truncated_corrupt_and_incomplete_checkpoints(cli, cli_here, tmp_path):
    """Each bad input: exit 2, one line naming the problem, nothing written, the source
    files untouched."""
    import shutil

    for fw in ("tf1", "tf2"):  # the checkpoints, in this process; each bad input in a fresh one
        assert cli_here("run", "pg-tang", "--framework", fw, "--iterations", "2", "--quiet",
                        "--save", fw, "--out", f"{fw}.json").returncode == 0
    data = next((tmp_path / "tf1").glob("model.ckpt.data-*")).name
    for bad in ("truncated", "corrupt", "badindex"):
        shutil.copytree(tmp_path / "tf1", tmp_path / bad)
    raw = (tmp_path / "tf1" / data).read_bytes()
    (tmp_path / "truncated" / data).write_bytes(raw[:100])
    (tmp_path / "corrupt" / data).write_bytes(bytes(b ^ 0xFF for b in raw))
    (tmp_path / "badindex" / "model.ckpt.index").write_bytes(
        (tmp_path / "tf1" / "model.ckpt.index").read_bytes()[:50])
    keras_raw = (tmp_path / "tf2" / "model.keras").read_bytes()
    (tmp_path / "half.keras").write_bytes(keras_raw[: len(keras_raw) // 2])
    _missing_variable_checkpoint(tmp_path / "missing" / "model.ckpt")
    cases = {"truncated": "truncated data file", "corrupt": "corrupt data file",
             "badindex": "cannot read checkpoint", "half.keras": "truncated or corrupt",
             "missing": "no variable 'dense_1/bias'"}
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    for src, needle in cases.items():
        proc = cli("convert", "pg-tang", src, "--out", f"out-{src}")
        assert proc.returncode == 2 and needle in proc.stderr, (src, proc.stderr[-2000:])
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        assert not (tmp_path / f"out-{src}").exists()
    assert {p: p.read_bytes() for p in before} == before
