"""Tier 12: your own programs. `tfrepro new` writes a skeleton pair that passes `diff` and
its own test; the worked actor-critic example (examples/a2c), found through its entry point,
goes through every subcommand; broken plug-ins are one line each, exit 2, and never break the
built-in programs."""
from __future__ import annotations

import json
import shutil
import os
import subprocess
import sys
from pathlib import Path

import pytest

from compat_tests.conftest import ROOT
from tfrepro.infra import programs
from tfrepro.infra.records import read_record
from tfrepro.tools.new import new

EXAMPLE = ROOT / "examples" / "a2c"


def _tfrepro(*args, cwd, env=None, timeout=900):
    return subprocess.run([sys.executable, "-m", "tfrepro", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def _one_line(proc, *needles):
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    for n in needles:
        assert n in lines[0], lines[0]


def _rungs(stdout):
    data = json.loads(stdout)
    return (data[0] if isinstance(data, list) else data)["rungs"]


@pytest.fixture
def skeleton(tmp_path):
    new("my-prog", tmp_path / "mine")
    return tmp_path / "mine"


def test_new_writes_a_pair_that_passes_the_ladder(skeleton, tmp_path):
    """The skeleton's two forms pass rungs 1-4 through the CLI, found by --program-file."""
    assert sorted(p.name for p in skeleton.iterdir()) == ["my_prog_pair.py", "my_prog_tf1.py", "my_prog_tf2.py",
                                                          "test_my_prog.py"]
    proc = _tfrepro("diff", "my-prog", "--program-file", skeleton / "my_prog_pair.py", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rungs = _rungs(proc.stdout)
    assert [r["passed"] for r in rungs] == [True, True, True, True]
    assert rungs[2]["max_diff"] < 1e-6 and "Adam" in rungs[3]["detail"]


def test_new_refuses_what_it_should(tmp_path, skeleton, cli_here):
    before = {p.name: p.read_bytes() for p in skeleton.iterdir()}
    for args, needle in ((["my-prog", "--dir", skeleton], "already holds"),
                         (["pg-tang", "--dir", tmp_path / "x"], "built-in"),
                         (["9lives", "--dir", tmp_path / "x"], "starts with a letter"),
                         (["Bad Name", "--dir", tmp_path / "x"], "starts with a letter")):
        _one_line(cli_here("new", *args), needle)
    assert {p.name: p.read_bytes() for p in skeleton.iterdir()} == before  # untouched
    assert not (tmp_path / "x").exists()


@pytest.mark.slow
def test_new_skeleton_passes_its_own_test(skeleton):
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(skeleton)],
                          cwd=skeleton, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "3 passed" in proc.stdout


# -- broken plug-ins: one line each, exit 2 ----------------------------------------------

def _mutate(skeleton, file, old, new_text):
    path = skeleton / file
    text = path.read_text()
    assert old in text, (file, old)
    path.write_text(text.replace(old, new_text))


BROKEN = {
    "missing hook": ("my_prog_tf2.py", "    def loss(self, batch):", "    def loss_of(self, batch):",
                     ["my-prog", "lacks loss(self, batch)"]),
    "wrong signature": ("my_prog_tf1.py", "def run(cfg: Config, *, mode=\"fast\", seed=0, save=None, load=None, "
                        "progress=None, rng=None):", "def run(cfg: Config, *, mode=\"fast\", seed=0):",
                        ["my_prog_tf1.run does not take save, load, progress, rng"]),
    "form import error": ("my_prog_tf2.py", "import keras\n", "import keras\nimport no_such_module_xyz\n",
                          ["cannot import its tf2 form", "no_such_module_xyz"]),
    "file import error": ("my_prog_pair.py", "from dataclasses import dataclass\n",
                          "from dataclasses import dataclass\nimport no_such_module_xyz\n",
                          ["--program-file", "ModuleNotFoundError", "no_such_module_xyz"]),
    "name clash": ("my_prog_pair.py", 'name="my-prog"', 'name="pg-tang"',
                   ["'pg-tang'", "clashes with the one from built-in"]),
    "no spec": ("my_prog_pair.py", "PROGRAM = ProgramSpec(", "NOT_A_PROGRAM = ProgramSpec(",
                ["gives no ProgramSpec"]),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_a_broken_plugin_is_one_line(case, skeleton, tmp_path):
    file, old, new_text, needles = BROKEN[case]
    _mutate(skeleton, file, old, new_text)
    proc = _tfrepro("diff", "my-prog", "--program-file", skeleton / "my_prog_pair.py", cwd=tmp_path)
    _one_line(proc, *needles)


def test_a_program_file_that_does_not_exist(tmp_path, cli_here):
    _one_line(cli_here("run", "pg-tang", "--out", tmp_path / "r.json", "--program-file", tmp_path / "nope.py"),
              "no such file")
    assert not (tmp_path / "r.json").exists()


def _fake_distribution(site: Path, name: str, entry_points: str) -> None:
    """An installed distribution as importlib.metadata finds it: a .dist-info folder with its
    METADATA and entry_points.txt, on sys.path."""
    info = site / f"{name.replace('-', '_')}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[tfrepro.programs]\n{entry_points}\n")


def test_a_broken_entry_point_never_breaks_the_builtins(tmp_path):
    site = tmp_path / "site"
    _fake_distribution(site, "broken-plugin", "broken-one = no_such_package_xyz.pair:PROGRAM")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), str(ROOT)]))
    proc = _tfrepro("run", "basic-policy", "--quiet", "--out", tmp_path / "b.json", cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert read_record(tmp_path / "b.json")["program"] == "basic-policy"
    warning = [ln for ln in proc.stderr.splitlines() if "broken-one" in ln]
    assert len(warning) == 1 and "no_such_package_xyz" in warning[0], proc.stderr
    _one_line(_tfrepro("run", "broken-one", "--out", "x.json", cwd=tmp_path, env=env), "broken-one",
              "ModuleNotFoundError")


def test_registry_reads_entry_points_and_files(tmp_path, monkeypatch, skeleton):
    """In-process: an entry point of a fake distribution and a program file both register;
    the same program named twice (installed and by file) is kept once."""
    site = tmp_path / "site"
    _fake_distribution(site, "a2c-example", "a2c-example = a2c_example.pair:PROGRAM")
    monkeypatch.syspath_prepend(str(EXAMPLE))
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv(programs.FILES_VAR, "")
    import importlib

    importlib.invalidate_caches()
    programs._REGISTRY.clear()
    try:
        programs.use_program_files([skeleton / "my_prog_pair.py", EXAMPLE / "a2c_example" / "pair.py"])
        names = programs.names()
        assert names[:7] == list(programs.BUILTINS) and names.count("a2c-example") == 1
        assert "my-prog" in names
        assert programs.get("a2c-example").origin.startswith("entry point a2c-example")
        assert programs.get("my-prog").origin.startswith("file ")
        assert programs.margin_for("my-prog (300 it)")[0] == 25.0  # compare/report find its margin
    finally:
        programs._REGISTRY.clear()


# -- the worked example through its entry point: every subcommand ---------------------------

@pytest.fixture(scope="module")
def example_env(tmp_path_factory):
    """The example as installed: its package on the path and a distribution declaring its
    entry point (what `pip install -e examples/a2c` makes), in the environment of the CLI."""
    site = tmp_path_factory.mktemp("site")
    _fake_distribution(site, "tfrepro-a2c-example", "a2c-example = a2c_example.pair:PROGRAM")
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), str(EXAMPLE), str(ROOT)]))


@pytest.mark.slow
def test_the_example_through_every_subcommand(example_env, tmp_path):
    def ok(*args, timeout=900):
        proc = _tfrepro(*args, cwd=tmp_path, env=example_env, timeout=timeout)
        assert proc.returncode == 0, (args, proc.stdout[-2000:], proc.stderr[-3000:])
        return proc

    run = ok("run", "--help").stdout
    assert "a2c-example" in run  # listed among the programs
    ok("run", "a2c-example", "--framework", "tf1", "--iterations", "40", "--save", "m1", "--quiet", "--out", "r1.json")
    ok("run", "a2c-example", "--framework", "tf2", "--mode", "book", "--iterations", "5", "--quiet", "--out",
       "r2.json")
    assert read_record(tmp_path / "r1.json")["program"] == "a2c-example"
    assert "TF1 checkpoint" in ok("inspect", "m1").stdout
    ok("convert", "a2c-example", "m1", "--out", "m2")
    ok("run", "a2c-example", "--load", "m2", "--iterations", "0", "--quiet", "--out", "r3.json")
    rungs = _rungs(ok("diff", "a2c-example", "--json").stdout)
    assert [r["passed"] for r in rungs] == [True, True, True, True]
    proc = _tfrepro("diff", "a2c-example", "--port-optimizer", "--json", cwd=tmp_path, env=example_env)
    assert proc.returncode == 1 and _rungs(proc.stdout)[3]["passed"] is False
    ok("diff", "a2c-example", "--seeds", "2", "--iterations", "30", "--workers", "1", "--out-dir", "d5")
    ok("bench", "--programs", "a2c-example", "--seeds", "2", "--iterations", "30", "--repeats", "1",
       "--speed-modes", "fast", "--workers", "1", "--out", "b.json")  # every loop is timed by `speed` below
    bench = json.loads((tmp_path / "b.json").read_text())
    assert {r["program"] for r in bench["results"]} == {"a2c-example"}
    assert {r["kind"] for r in bench["results"]} == {"reward", "speed"}
    ok("compare", "b.json", "b.json", "--out-dir", "cmp")
    ok("reproduce", "--programs", "a2c-example", "--seeds", "2", "--iterations", "30", "--workers", "1",
       "--out-dir", "rep")
    assert "a2c-example" in (tmp_path / "rep" / "table.md").read_text()
    ok("report", "rep", "--out", "page")
    assert "a2c-example" in (tmp_path / "page" / "index.html").read_text()
    from tfrepro.tools.matrix import MARKER, requirements

    for v in ("2.20", "2.21"):  # two stand-in environments: this interpreter (as test_bench's matrix test)
        (tmp_path / "cache" / f"tf-{v}" / "bin").mkdir(parents=True)
        py = tmp_path / "cache" / f"tf-{v}" / "bin" / "python"
        py.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
        py.chmod(0o755)
        (tmp_path / "cache" / f"tf-{v}" / MARKER).write_text(json.dumps(
            {"requirements": requirements(v), "python": sys.version.split()[0]}))
    proc = _tfrepro("matrix", "--tf", "2.20", "2.21", "--cache", "cache", "--programs", "a2c-example", "--seeds",
                    "2", "--iterations", "30", "--repeats", "1", "--frameworks", "tf1", "--no-speed",
                    "--workers", "1", "--out-dir", "mx",
                    cwd=tmp_path, env=example_env)
    assert proc.returncode in (0, 1), proc.stderr[-3000:]  # 1: a verdict says worse (2 seeds, timings)
    assert "a2c-example" in (tmp_path / "mx" / "matrix.md").read_text()
    ok("speed", "--programs", "a2c-example", "--book-iterations", "2", "--fast-iterations", "20", "--repeats", "1",
       "--lockstep-seeds", "0")


def test_a_bad_program_file_is_not_left_named(tmp_path, monkeypatch):
    """In-process: a file that fails to load raises one UsageError and leaves the process's
    list of program files as it was (its workers never see it)."""
    from tfrepro.core.errors import UsageError

    monkeypatch.setenv(programs.FILES_VAR, "")
    bad = tmp_path / "bad_pair.py"
    bad.write_text("def broken(:\n")
    with pytest.raises(UsageError, match="SyntaxError"):
        programs.use_program_files([bad])
    assert os.environ[programs.FILES_VAR] == ""


def test_a_run_result_is_typed_and_a_plugins_dict_is_checked():
    """``run`` returns a ``RunResult``; a plug-in's dict of its fields reads the same, and a
    dict with an unknown or a missing key is a one-line error naming them."""
    from tfrepro.core.errors import UsageError
    from tfrepro.core.protocol import RunResult

    out = RunResult.of({"train_returns": [1.0], "eval_returns": [2.0], "env_steps": 3,
                        "also": {"train_returns": [], "eval_returns": [4.0], "env_steps": 4}})
    assert isinstance(out, RunResult) and isinstance(out.also, RunResult) and out.also.eval_returns == [4.0]
    assert RunResult.of(out) is out
    with pytest.raises(UsageError, match="unknown eval_wall_s; missing env_steps"):
        RunResult.of({"train_returns": [], "eval_returns": [1.0], "eval_wall_s": 0.1}, "mine (tf1) run")
    with pytest.raises(UsageError, match="returned list, not a RunResult"):
        RunResult.of([1.0])


TARGET_NET_TF1 = (
    ('                return dense(h, 2, name="out")',
     '                w = tf.get_variable("out/kernel", [cfg.hidden, 2], initializer=tf.glorot_uniform_initializer())\n'
     '                b = tf.get_variable("out/bias", [1, 2], initializer=tf.zeros_initializer())\n'
     '                return tf.matmul(h, w) + b'),
    ('        next_q = q_network(s2, True)  # the same variables on the next states\n',
     '        next_q = q_network(s2, True)  # the same variables on the next states\n'
     '        with tf.variable_scope("target"):  # a target network as TF1 code made it: trainable\n'
     '            tf.get_variable("hidden/kernel", [4, cfg.hidden])\n'),
)
WEIGHTS_OVERRIDE = '\n    def weight_variables(self):\n        return tf.trainable_variables("q")\n'


@pytest.mark.slow  # fresh processes, one after another
def test_a_plugins_weights_can_be_chosen_and_a_tf1_bias_of_1_by_n_maps(skeleton, tmp_path):
    """A TF1 form that keeps a target network made with ``tf.get_variable`` (trainable in TF1)
    says which variables are its weights (``weight_variables``), and its ``[1, n]`` output
    bias maps to the Keras ``[n]`` one: rungs 1-4 pass, rung 1 naming the reshape. Without
    the override, rung 1 fails on the count."""
    tf1 = skeleton / "my_prog_tf1.py"
    text = tf1.read_text()
    for old, new_text in TARGET_NET_TF1:
        assert old in text
        text = text.replace(old, new_text)
    tf1.write_text(text.replace("\n\ndef train(", WEIGHTS_OVERRIDE + "\n\ndef train(", 1))
    proc = _tfrepro("diff", "my-prog", "--program-file", skeleton / "my_prog_pair.py", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rungs = _rungs(proc.stdout)
    assert [r["passed"] for r in rungs] == [True, True, True, True], rungs
    assert "([1, 2] as [2])" in rungs[0]["detail"], rungs[0]["detail"]
    tf1.write_text(text)  # no override: the target network's variable counts as a weight
    proc = _tfrepro("diff", "my-prog", "--program-file", skeleton / "my_prog_pair.py", "--json", cwd=tmp_path)
    rungs = _rungs(proc.stdout)
    assert not rungs[0]["passed"] and "5 TF1 variables, 4 TF2 variables" in rungs[0]["detail"], rungs[0]


OWN_LAYER_TF2 = (
    ("class Agent(KerasProgram):",
     '@keras.saving.register_keras_serializable(package="my_prog")\n'
     "class Halve(keras.layers.Layer):\n"
     "    def call(self, x):\n"
     "        return x * 0.5\n\n\n"
     "class Agent(KerasProgram):"),
    ('            keras.layers.Dense(2, name="out"),\n',
     '            keras.layers.Dense(2, name="out"),\n            Halve(name="halve"),\n'),
)


@pytest.mark.slow  # fresh processes, one after another
def test_inspect_with_the_program_file_reads_a_keras_file_of_its_own_layers(skeleton, tmp_path):
    """A port whose model holds a layer of its own (registered with Keras) saves a .keras that
    ``inspect --program-file`` reads (the forms are imported first); without the file, one line."""
    tf2 = skeleton / "my_prog_tf2.py"
    text = tf2.read_text()
    for old, new_text in OWN_LAYER_TF2:
        assert old in text
        text = text.replace(old, new_text)
    tf2.write_text(text)
    pair = skeleton / "my_prog_pair.py"
    proc = _tfrepro("run", "my-prog", "--framework", "tf2", "--iterations", "300", "--save", tmp_path / "m",
                    "--out", tmp_path / "rec.json",
                    "--program-file", pair, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    proc = _tfrepro("inspect", tmp_path / "m" / "model.keras", "--program-file", pair, "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "hidden/kernel" in [v["name"] for v in json.loads(proc.stdout)["variables"]], proc.stdout
    _one_line(_tfrepro("inspect", tmp_path / "m" / "model.keras", cwd=tmp_path), "give its --program-file")


TWO_PAIRS = """
import os, sys
from tfrepro.infra import programs
programs.use_program_files(sys.argv[1:])
for name in ("a2c-example", "a2c-second"):
    spec = programs.get(name)
    agent = spec.make_agent("tf2", spec.make_config(), 0)
    print(name, *(os.path.basename(os.path.dirname(spec.form(fw).__file__)) for fw in ("tf1", "tf2")),
          os.path.basename(os.path.dirname(sys.modules[type(agent).__module__].__file__)), sep=" ")
"""


def test_two_program_files_both_named_pair_py_load_side_by_side(tmp_path):
    """Two folders' ``pair.py`` (the example's layout, copied twice): the second is imported in a
    package of its own folder, so each program's forms, and what they import from their
    ``pair``, are its own folder's; through the CLI too."""
    for folder, name in (("one", "a2c-example"), ("two", "a2c-second")):
        shutil.copytree(EXAMPLE / "a2c_example", tmp_path / folder)
        pair = tmp_path / folder / "pair.py"
        pair.write_text(pair.read_text().replace('name="a2c-example"', f'name="{name}"'))
    files = [tmp_path / "one" / "pair.py", tmp_path / "two" / "pair.py"]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", TWO_PAIRS, *map(str, files)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split("\n")[:2] == ["a2c-example one one one", "a2c-second two two two"], done.stdout
    proc = _tfrepro("diff", "a2c-second", *(x for f in files for x in ("--program-file", f)), "--json",
                    cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert all(r["passed"] for r in _rungs(proc.stdout)[:4]), proc.stdout


def test_a_second_pair_py_whose_forms_are_named_from_the_top_level_is_one_line(tmp_path, skeleton):
    """A second ``pair.py`` whose forms are top-level modules (``my_prog_tf1``) would find the
    first folder's: refused in one line that says how to name them."""
    for folder, name in (("one", "my-prog"), ("two", "my-other")):
        shutil.copytree(skeleton, tmp_path / folder)
        (tmp_path / folder / "my_prog_pair.py").rename(tmp_path / folder / "pair.py")
        pair = tmp_path / folder / "pair.py"
        pair.write_text(pair.read_text().replace('name="my-prog"', f'name="{name}"'))
        for form in ("my_prog_tf1.py", "my_prog_tf2.py"):
            text = (tmp_path / folder / form).read_text()
            (tmp_path / folder / form).write_text(text.replace("my_prog_pair", "pair"))
    proc = _tfrepro("diff", "my-other", "--program-file", tmp_path / "one" / "pair.py", "--program-file",
                    tmp_path / "two" / "pair.py", cwd=tmp_path)
    _one_line(proc, "two/pair.py", "named from the top level", "__package__")
