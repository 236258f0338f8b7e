"""Tier 5: every CLI entry point in seconds, and every error case: one line, exit 2,
nothing written or damaged."""
import json
from pathlib import Path

import pytest

from compat_tests.conftest import read_json
from tfrepro.infra import programs
from tfrepro.infra.records import SCHEMA, read_record

SMALL = {"basic-policy": [], "random-policy": [], "imitation-policy": ["--iterations", "3"],
         "pg-tang": ["--iterations", "3"], "pg-geron": ["--iterations", "2"],
         "dqn-meertens": ["--iterations", "1100"], "dqn-pylessons": ["--iterations", "3"]}


def _one_line_error(proc, *needles):
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for n in needles:
        assert n in lines[0], lines[0]


def _subcommands():
    import argparse

    from tfrepro.cli import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return list(sub.choices)


def test_help_on_every_subcommand(cli, capsys):
    """``--help`` on the top level (a fresh process) and on every subcommand the parser has
    (the list read from the parser itself, so a new subcommand is covered when it lands)."""
    from tfrepro import cli as cli_module
    from tfrepro.commands import NAMES

    proc = cli("--help")
    assert proc.returncode == 0 and "usage: tfrepro" in proc.stdout
    names = _subcommands()
    assert names == list(NAMES) and len(names) >= 12
    for name in names:
        with pytest.raises(SystemExit) as e:
            cli_module.main([name, "--help"])
        out = capsys.readouterr().out
        assert e.value.code == 0 and out.startswith(f"usage: tfrepro {name}"), (name, out[:200])
        assert "--program-file" in out, name


@pytest.mark.slow
@pytest.mark.parametrize("framework", ["tf1", "tf2"])
def test_run_every_program_fast(cli_here, tmp_path, framework):
    """Through the CLI's main in this process (a fresh process per run, as a user starts it,
    is test_cli_same_record_in_fresh_processes's and the error tests' part)."""
    for name, extra in SMALL.items():
        out = tmp_path / f"{name}.json"
        proc = cli_here("run", name, "--framework", framework, "--quiet", "--out", out, *extra)
        assert proc.returncode == 0, proc.stderr[-3000:]
        rec = read_record(out)
        assert rec["schema"] == SCHEMA and rec["program"] == name and rec["framework"] == framework
        assert rec["eval_mean"] > 5 and rec["env_steps"] > 0
        assert {"python", "tensorflow", "keras", "numpy", "gymnasium"} <= set(rec["versions"])
        assert name in proc.stdout and "eval mean" in proc.stdout


@pytest.mark.slow
def test_run_book_mode_and_options(cli_here, tmp_path):
    out = tmp_path / "g.json"
    proc = cli_here("run", "pg-geron", "--framework", "tf2", "--mode", "book", "--iterations", "1",
                    "--variant", "notebook", "--seed", "3", "--save", "ck", "--gif", "g.gif", "--out", out)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rec = read_json(out)
    assert rec["mode"] == "book" and rec["config"]["max_steps"] == 500 and rec["seed"] == 3
    gif = (tmp_path / "g.gif").read_bytes()
    assert gif[:6] in (b"GIF87a", b"GIF89a")
    from PIL import Image

    with Image.open(tmp_path / "g.gif") as im:
        assert im.n_frames > 5
    assert (tmp_path / "ck" / "model.keras").exists()
    # evaluate the saved model without training
    proc = cli_here("run", "pg-geron", "--framework", "tf2", "--load", "ck", "--iterations", "0",
                    "--out", "e.json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert read_json(tmp_path / "e.json")["train_returns"] == []


@pytest.mark.slow
def test_dqn_run_writes_tensorboard_qplot_and_checkpoint(cli_here, tmp_path):
    proc = cli_here("run", "dqn-meertens", "--framework", "tf2", "--iterations", "1300", "--variant",
                    "exercises", "--logdir", "tb", "--qplot", "q.png", "--save", "ck", "--quiet",
                    "--gif", "d.gif",
                    "--out", "d.json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    rec = read_json(tmp_path / "d.json")
    assert rec["mode"] == "fast" and rec["config"]["epsilon_greedy"] is True
    assert len(rec["q_trace"]) == rec["eval_returns"][0] and len(rec["q_trace"][0]) == 2
    assert (tmp_path / "q.png").read_bytes()[:4] == b"\x89PNG"
    assert list((tmp_path / "tb").glob("events.out.tfevents.*"))
    assert (tmp_path / "ck" / "model.keras").exists()
    assert (tmp_path / "d.gif").read_bytes()[:3] == b"GIF"


@pytest.mark.slow
@pytest.mark.parametrize("who", ["human", "basic"])
def test_dqn_takeover_through_the_cli(tmp_path, who):
    import os
    import subprocess
    import sys

    from compat_tests.conftest import ROOT

    answers = "abc\n" + "0\n1\n" * 150 if who == "human" else ""
    proc = subprocess.run([sys.executable, "-m", "tfrepro", "run", "dqn-meertens", "--iterations",
                           "3000", "--variant", "exercises", "--takeover", who, "--quiet",
                           "--takeover-margin", "-1000",  # always below: every frame asks
                           "--out", "d.json"], input=answers, capture_output=True, text=True,
                          cwd=tmp_path, timeout=600, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert proc.returncode == 0, proc.stderr[-3000:]
    t = read_json(tmp_path / "d.json")["takeover"]
    assert t["frames"] == t["agent_frames"] + t["takeover_frames"] > 0
    assert "takeover episode" in proc.stdout
    assert t["agent_frames"] == 0 and t["takeover_frames"] > 5
    if who == "human":
        assert proc.stdout.count("Performing:") == t["takeover_frames"]
        assert proc.stdout.count("left (0) or right(1)") >= t["takeover_frames"]


@pytest.mark.slow
def test_reproduce_smoke(cli, tmp_path):
    proc = cli("reproduce", "--seeds", "2", "--iterations", "2", "--programs", "basic-policy",
               "pg-geron", "--out-dir", "rep", "--workers", "2")
    assert proc.returncode == 0, proc.stderr[-3000:]
    table = (tmp_path / "rep" / "table.md").read_text()
    assert "| pg-geron |" in table and "| basic-policy |" in table
    assert (tmp_path / "rep" / "curves.png").read_bytes()[:4] == b"\x89PNG"
    assert len(list((tmp_path / "rep" / "runs").glob("*.json"))) == 8
    summary = read_json(tmp_path / "rep" / "summary.json")
    assert [r["program"] for r in summary["rows"]] == ["basic-policy", "pg-geron"]


@pytest.mark.slow
def test_speed_smoke(cli, tmp_path):
    proc = cli("speed", "--programs", "pg-geron", "--book-iterations", "1", "--fast-iterations", "3",
               "--repeats", "1", "--out", "s.json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = read_json(tmp_path / "s.json")["rows"]
    assert rows[0]["tf2_speedup"] > 1 and "| pg-geron | tf1 |" in proc.stdout


@pytest.mark.slow
def test_speed_times_the_dqns(cli, tmp_path):
    proc = cli("speed", "--programs", "dqn-meertens", "--book-iterations", "200", "--fast-iterations", "400",
               "--repeats", "1", "--out", "s.json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    row = read_json(tmp_path / "s.json")["rows"][0]
    assert row["program"] == "dqn-meertens" and row["tf1_fast_us_per_step"] > 0
    assert row["tf2_book_steps"] == 200 and row["tf2_fast_steps"] == 400
    assert "| dqn-meertens | tf2 |" in proc.stdout


def test_python_dash_m_and_console_script_agree(cli):
    import shutil
    import subprocess

    exe = shutil.which("tfrepro")
    if exe is None:
        pytest.skip("package not installed with pip install -e . (console script missing)")
    proc = subprocess.run([exe, "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout == cli("--help").stdout


@pytest.mark.parametrize("args,needle", [
    (["run", "no-such-program", "--out", "x.json"], "unknown program"),
    (["run", "pg-tang", "--framework", "tf3", "--out", "x.json"], "--framework"),
    (["run", "pg-tang", "--mode", "slow", "--out", "x.json"], "--mode"),
    (["run", "pg-tang", "--seed", "-1", "--out", "x.json"], "invalid seed"),
    (["run", "pg-tang", "--seed", "abc", "--out", "x.json"], "invalid seed"),
    (["run", "pg-tang", "--iterations", "-3", "--out", "x.json"], "--iterations"),
    (["run", "pg-tang", "--env", "CartPole-v9", "--out", "x.json"], "--env"),
    (["run", "pg-geron", "--variant", "bogus", "--out", "x.json"], "no variant"),
    (["run", "random-policy", "--iterations", "5", "--out", "x.json"], "does not train"),
    (["run", "basic-policy", "--save", "d", "--out", "x.json"], "no weights"),
    (["run", "pg-tang", "--load", "missing-dir", "--out", "x.json"], "no such file"),
    (["run", "pg-tang"], "--out"),
    (["reproduce", "--programs", "nope"], "unknown program"),
    (["reproduce", "--seeds", "0"], "--seeds"),
    (["speed", "--programs", "basic-policy"], "learning programs"),
    (["reproduce", "--programs", "dqn-meertens:bogus"], "no variant 'bogus'"),
    (["run", "dqn-pylessons", "--takeover", "basic", "--out", "x.json"], "no takeover mode"),
    (["run", "dqn-pylessons", "--load", "file.txt", "--out", "x.json"], "file.txt is neither a TF1 checkpoint"),
    (["frobnicate"], "invalid choice"),
    (["diff"], "give one PROGRAM, --all or --explain"),
    (["diff", "basic-policy"], "no weights"),
    (["diff", "pg-tang", "--steps", "5"], "takes 10 to"),
    (["diff", "nope"], "unknown program"),
    (["run", "pg-tang", "--takeover", "basic", "--out", "x.json"], "no Q values"),
    (["run", "pg-tang", "--qplot", "q.png", "--out", "x.json"], "no Q values"),
    (["reproduce", "--out-dir", "file.txt"], "not a directory"),
    (["reproduce", "--full", "--plan-from", "nope.json"], "no such file"),
    (["reproduce", "--full", "--plan-from", "file.txt"], "not valid JSON"),
    (["run", "basic-policy", "--out", "/proc/no/such.json"], "/proc/no"),
    # every output checked before any work, the user's path named
    (["run", "basic-policy", "--gif", "file.txt", "--out", "x.json"], "--gif file.txt: exists and is not a file"),
    (["run", "basic-policy", "--gif", "/proc/no/e.gif", "--out", "x.json"], "--gif /proc/no/e.gif"),
    (["run", "basic-policy", "--gif", "x.json", "--out", "x.json"], "name the same file"),
    (["run", "dqn-meertens", "--qplot", "file.txt", "--out", "x.json"], "--qplot file.txt: exists and is not"),
    (["run", "dqn-meertens", "--logdir", "file.txt", "--out", "x.json"],
     "--logdir file.txt: exists and is not a directory"),
    (["run", "pg-tang", "--save", "file.txt", "--out", "x.json"], "--save file.txt: exists and is not a directory"),
    (["run", "pg-tang", "--save", "/proc/no/ckpt", "--out", "x.json"], "--save /proc/no/ckpt"),
])
def test_bad_input_is_one_line_exit_2(cli_here, tmp_path, args, needle):
    (tmp_path / "file.txt").write_text("not a directory")
    proc = cli_here(*args)
    _one_line_error(proc, needle)
    assert not (tmp_path / "x.json").exists()


def test_bad_input_in_a_fresh_process_too(cli, tmp_path):
    """The same through ``python -m tfrepro`` (what a user runs), for one case of each kind:
    an argparse error, a check in a command, a missing directory."""
    (tmp_path / "file.txt").write_text("not a directory")
    for args, needle in ((["run", "pg-tang", "--seed", "-1", "--out", "x.json"], "invalid seed"),
                         (["run", "pg-geron", "--variant", "bogus", "--out", "x.json"], "no variant"),
                         (["reproduce", "--out-dir", "file.txt"], "not a directory")):
        _one_line_error(cli(*args), needle)
    assert not (tmp_path / "x.json").exists()


@pytest.mark.slow
@pytest.mark.parametrize("framework", ["tf1", "tf2"])
def test_bad_checkpoints_leave_results_alone(cli, tmp_path, framework):
    # a checkpoint of another architecture (pg-tang 4 hidden units into pg-geron's 5)
    assert cli("run", "pg-tang", "--framework", framework, "--iterations", "2", "--quiet",
               "--save", "tang", "--out", "t.json").returncode == 0
    out = tmp_path / "keep.json"  # a record of ours, which --out may replace: only a good run does
    precious = (tmp_path / "t.json").read_text()
    out.write_text(precious)
    proc = cli("run", "pg-geron", "--framework", framework, "--load", "tang", "--out", out)
    _one_line_error(proc, "shape")
    assert out.read_text() == precious
    # an empty directory, a truncated checkpoint
    (tmp_path / "empty").mkdir()
    _one_line_error(cli("run", "pg-tang", "--framework", framework, "--load", "empty", "--out", out))
    ckpt = tmp_path / "tang"
    victim = (next(ckpt.glob("model.ckpt.data-*")) if framework == "tf1" else ckpt / "model.keras")
    victim.write_bytes(victim.read_bytes()[:50])
    _one_line_error(cli("run", "pg-tang", "--framework", framework, "--load", "tang", "--out", out))
    assert out.read_text() == precious


def test_malformed_result_files(tmp_path):
    from tfrepro.core.errors import UsageError

    bad = tmp_path / "bad.json"
    bad.write_text("{ not json")
    with pytest.raises(UsageError, match="not valid JSON"):
        read_record(bad)
    bad.write_text(json.dumps({"schema": "other/9"}))
    with pytest.raises(UsageError, match="schema"):
        read_record(bad)
    with pytest.raises(UsageError, match=r"no such file \(tfrepro run PROGRAM --out FILE writes"):
        read_record(tmp_path / "absent.json")


def test_record_round_trip(tmp_path):
    from tfrepro.infra.records import write_record
    from tfrepro.infra.runner import RunSettings, run_program

    rec = run_program(RunSettings("basic-policy", "tf2", "fast", 1))
    write_record(tmp_path / "r.json", rec)
    assert read_record(tmp_path / "r.json") == json.loads(json.dumps(rec))
    assert set(programs.BUILTINS) == set(SMALL)
    assert not list(Path(tmp_path).glob(".*.tmp"))  # no temporary left behind


def test_out_dash_is_standard_output(cli_here, tmp_path):
    """``--out -``: the record on standard output (strict JSON, nothing else there), the
    summary on standard error, and no file named ``-``."""
    proc = cli_here("run", "basic-policy", "--out", "-")
    assert proc.returncode == 0, proc.stderr
    rec = json.loads(proc.stdout)
    assert rec["program"] == "basic-policy" and "eval mean" in proc.stderr
    assert not (tmp_path / "-").exists()


def test_a_commands_settings_are_one_dataclass_with_help_per_field():
    """``bench``'s options come from ``BenchSettings`` (``core.settings``): every field has its
    help, the parser's defaults are the dataclass's, and parsed arguments read back into it."""
    from dataclasses import fields

    from tfrepro.cli import build_parser
    from tfrepro.commands import argtypes
    from tfrepro.tools.bench import BenchSettings

    assert all(f.metadata.get("help") for f in fields(BenchSettings))
    args = build_parser().parse_args(["bench"])
    assert argtypes.settings_from(args, BenchSettings, backend="local", address=None) == BenchSettings()
    args = build_parser().parse_args(["bench", "--programs", "pg-tang", "--seeds", "3", "--no-speed",
                                      "--speed-iterations", "7", "--out-dir", "X"])
    s = argtypes.settings_from(args, BenchSettings, backend="local", address=None)
    assert (s.entries, s.seeds, s.speed, s.rewards, s.speed_iterations, s.out_dir) == (
        ["pg-tang"], [0, 1, 2], False, True, 7, "X")
