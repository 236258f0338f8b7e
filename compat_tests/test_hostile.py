"""Tier 11 (hostile input): generated malformed files and argument vectors, fed to the CLI
in-process with every engine replaced by a stand-in that stops before real work.

For every input: the exit code is 0, 1 or 2 (argparse's help and errors included), nothing
raises (a traceback would), exit 2 prints exactly one line on stderr and writes no file, and
the files that were there before are byte-identical afterwards. Hypothesis runs derandomized
(the same examples on every run) and keeps no database.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tfrepro import cli
from tfrepro.core.errors import UsageError
from tfrepro.infra.benchfile import SCHEMA, load_results
from tfrepro.infra.records import SCHEMA as RECORD_SCHEMA, dumps, read_record

SETTINGS = settings(derandomize=True, database=None, deadline=None, max_examples=120,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


class Reached(Exception):
    """An engine was reached: the input passed every check before real work."""


@pytest.fixture
def engines(monkeypatch):
    """Every engine the subcommands drive replaced by one that raises ``Reached``."""
    import tfrepro.infra.grid
    import tfrepro.infra.pool
    import tfrepro.infra.runner
    import tfrepro.tools.bench
    import tfrepro.tools.checkpoints
    import tfrepro.tools.convert
    import tfrepro.tools.drift
    import tfrepro.tools.ladder
    import tfrepro.tools.matrix
    import tfrepro.tools.reproduce
    import tfrepro.tools.speed

    def reached(*a, **k):
        raise Reached

    for mod, name in ((tfrepro.infra.runner, "run_program"), (tfrepro.tools.reproduce, "reproduce"),
                      (tfrepro.tools.ladder, "climb"), (tfrepro.tools.drift, "explain"),
                      (tfrepro.tools.convert, "convert"), (tfrepro.tools.checkpoints, "inspect"),
                      (tfrepro.tools.matrix, "matrix"), (tfrepro.tools.speed, "speed"),
                      (tfrepro.infra.pool, "run_each_fresh"), (tfrepro.infra.pool, "run_in_workers"),
                      (tfrepro.infra.grid, "run_in_workers"), (subprocess, "call")):
        monkeypatch.setattr(mod, name, reached)
    for module in cli.command_modules().values():
        if hasattr(module, "quiet_tensorflow"):
            monkeypatch.setattr(module, "quiet_tensorflow", lambda: None)


def _snapshot(root: Path) -> dict:
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in root.rglob("*")}


def _call(argv, root: Path):
    """Run the CLI in ``root``; returns (exit code or 'reached', stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    cwd = os.getcwd()
    os.chdir(root)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = cli.main([str(a) for a in argv])
            except SystemExit as e:  # argparse: --help (0) and usage errors (2)
                code = e.code
            except Reached:
                code = "reached"
    finally:
        os.chdir(cwd)
    return code, out.getvalue(), err.getvalue()


def _check(argv, root: Path):
    before = _snapshot(root)
    code, out, err = _call(argv, root)
    with contextlib.suppress(Exception):  # outside hypothesis (the pinned cases) there is no event log
        event(f"exit {code}")
    assert code in (0, 1, 2, "reached"), (argv, code, err)
    if code == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and "error" in lines[0], (argv, err)
        assert _snapshot(root) == before, f"{argv}: files changed on an error"
    return code, out, err


# ---- generated JSON -------------------------------------------------------------------

scalars = (st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.text(max_size=8)
           | st.floats(allow_nan=True, allow_infinity=True))
json_values = st.recursive(scalars,
                           lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=6), c, max_size=4),
                           max_leaves=12)


def _bench_file(seed_shift=0):
    results = [{"key": f"reward/p/tf2/fast/seed{s}", "kind": "reward", "program": "p", "framework": "tf2",
                "mode": "fast", "seed": s, "eval_mean": 190.0 + s + seed_shift} for s in range(4)]
    results.append({"key": "speed/p/tf2/fast", "kind": "speed", "program": "p", "framework": "tf2",
                    "mode": "fast", "repeats": [{"steps_per_s": 1000.0 + i} for i in range(3)],
                    "steps_per_s_median": 1001.0, "steps_per_s_min": 1000.0, "steps_per_s_max": 1002.0})
    return {"schema": SCHEMA, "meta": {"versions": {"tensorflow": "2.21.0"}, "commit": "c", "machine": "m"},
            "settings": {"suite": "quick", "seeds": [0, 1, 2, 3], "repeats": 3}, "results": results}


def _record():
    return {"schema": RECORD_SCHEMA, "program": "pg-tang", "framework": "tf1", "mode": "fast", "seed": 0,
            "env_id": "CartPole-v0", "eval_returns": [200.0, 199.0], "eval_mean": 199.5,
            "train_returns": [10.0, 20.0], "env_steps": 30, "wall_s": 1.0, "versions": {"python": "3.11"}}


def _paths(obj, prefix=()):
    """Every path (tuple of keys/indices) into a JSON document."""
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, prefix + (i,))


@st.composite
def mutated(draw, make):
    """A valid document with one part replaced by a generated value or deleted, or as bytes:
    truncated, not UTF-8, not JSON at all, or NaN / Infinity where a number goes."""
    doc = make()
    kind = draw(st.sampled_from(["replace", "delete", "truncate", "bytes", "nonfinite"]))
    if kind in ("replace", "delete"):
        path = draw(st.sampled_from([p for p in _paths(doc) if p]))
        parent = doc
        for k in path[:-1]:
            parent = parent[k]
        if kind == "delete":
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(json_values)
        return json.dumps(doc).encode()
    text = json.dumps(doc).encode()
    if kind == "truncate":
        return text[: draw(st.integers(0, len(text) - 1))]
    if kind == "nonfinite":
        return text.replace(b"190.0", draw(st.sampled_from([b"NaN", b"Infinity", b"-Infinity", b"true"])), 1) \
            .replace(b"199.5", b"NaN", 1)
    return draw(st.binary(max_size=64))


# ---- the properties -------------------------------------------------------------------

@SETTINGS
@given(base=mutated(_bench_file), new=mutated(lambda: _bench_file(5)))
def test_compare_on_malformed_results_files(engines, base, new):
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        (root / "base.json").write_bytes(base)
        (root / "new.json").write_bytes(new)
        code, _, err = _check(["compare", "base.json", "new.json", "--out-dir", "cmp"], root)
        if code in (0, 1):  # it read both: they passed every check, so they load and compare
            load_results(root / "base.json"), load_results(root / "new.json")
            assert json.loads((root / "cmp" / "compare.json").read_text())  # strict JSON written


@SETTINGS
@given(doc=mutated(_record))
def test_read_record_is_a_record_or_one_usage_error(doc):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "r.json"
        path.write_bytes(doc)
        try:
            rec = read_record(path)
        except UsageError as e:
            assert "\n" not in str(e) and str(path) in str(e)
        else:
            assert rec["schema"] == RECORD_SCHEMA and rec["eval_mean"] == rec["eval_mean"]  # not NaN


@SETTINGS
@given(doc=mutated(_bench_file))
def test_bench_resume_on_malformed_results_files(engines, doc):
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        (root / "res.json").write_bytes(doc)
        code, _, _ = _check(["bench", "--programs", "pg-tang", "--seeds", "2", "--no-speed", "--resume",
                             "--out", "res.json"], root)
        assert code in (2, "reached")


def _summary():
    """A reproduce summary.json of four records per form."""
    from tfrepro.infra.summary import summarise

    records = [dict(_record(), framework=fw, seed=s, eval_mean=190.0 + s + (fw == "tf2"))
               for fw in ("tf1", "tf2") for s in range(4)]
    return json.loads(dumps({"mode": "fast", "versions": {"tensorflow": "2.21.0"},
                             "rows": summarise(records, [("pg-tang", None)]), "seeds": [0, 1, 2, 3]}))


def _compare_doc():
    """A compare.json of two bench files."""
    from tfrepro.tools.compare import Thresholds, compare_pair

    th = Thresholds()
    return json.loads(dumps({"files": ["a.json", "b.json"], "labels": ["TF 2.20", "TF 2.21"],
                             "thresholds": th.__dict__, "modes": None,
                             "comparisons": [compare_pair(_bench_file(), _bench_file(5), th)]}))


REPORTED = {"summary.json": _summary, "compare.json": _compare_doc, "runs/bench.json": _bench_file,
            "runs/record.json": _record}


@SETTINGS
@given(name=st.sampled_from(sorted(REPORTED)), data=st.data())
def test_report_on_malformed_results(name, data):
    doc = data.draw(mutated(REPORTED[name]))
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        (root / "res" / "runs").mkdir(parents=True)
        (root / "res" / name).write_bytes(doc)
        (root / "page").mkdir()
        (root / "page" / "index.html").write_text("the user's page\n")
        for args in (["res"], [f"res/{name}"]):
            code, _, _ = _check(["report", *args, "--out", "out"], root)
            assert code in (0, 2)
            if code == 0:
                assert "tfrepro report" in (root / "out" / "index.html").read_text()
            code, _, err = _check(["report", *args, "--out", "page"], root)
            assert code == 2 and "refusing to" in err  # checked before any input is read
        assert (root / "page" / "index.html").read_text() == "the user's page\n"


WORDS = ["run", "reproduce", "diff", "convert", "inspect", "bench", "compare", "matrix", "report", "legacy", "speed",
         "pg-tang", "pg-geron:notebook", "dqn-meertens", "basic-policy", "nope", "--seed", "--seeds",
         "--out", "--out-dir", "--iterations", "--mode", "book", "fast", "--framework", "tf1", "tf2",
         "--programs", "--workers", "--alpha", "--tf", "2.16", "2.21", "--suite", "quick", "full",
         "--resume", "--force", "--save", "--load", "--gif", "--json", "--all", "--explain", "-1", "0", "3",
         "1..2", "99999999999", "1e9", "nan", "x.json", "r.json", "--help", "--variant", "exercises",
         "--no-speed", "--no-reward", "--repeats", "--reward-tol", "--speed-tol", "--backend", "ray",
         "--steps", "--qplot", "--takeover", "basic", "--env", "CartPole-v0", "", "-", "/dev/null", ".",
         "dir/", "dir/x.json", "script.py", "--margin", "pg-geron=5", "auto", "--pilot", "--max-seeds",
         "--report-only", "2.15"]


@SETTINGS
@given(argv=st.tuples(st.sampled_from(WORDS[:11]), st.lists(st.sampled_from(WORDS) | st.text(max_size=6),
                                                            max_size=7)))
def test_generated_argument_vectors(engines, argv):
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        (root / "r.json").write_text(json.dumps(_record()))  # a record of ours, and a file of the user's
        (root / "notes.txt").write_text("the user's own file\n")
        (root / "script.py").write_text("print('hi')\n")
        _check([argv[0], *argv[1]], root)


# ---- the cases found by hand, each pinned -----------------------------------------------

def _bench_with(**entry):
    doc = _bench_file()
    doc["results"][0].update(entry)
    return doc


@pytest.mark.parametrize("entry, needle", [
    ({"seed": None}, "seed is not an integer"),
    ({"program": 7}, "program is not a string"),
    ({"eval_mean": True}, "eval_mean is not a finite number"),
    ({"eval_mean": "NaN"}, "eval_mean is not a finite number"),
])
def test_compare_refuses_entries_it_cannot_judge(entry, needle, tmp_path):
    (tmp_path / "a.json").write_text(json.dumps(_bench_with(**entry)))
    (tmp_path / "b.json").write_text(json.dumps(_bench_file()))
    code, _, err = _check(["compare", "a.json", "b.json", "--out-dir", "c"], tmp_path)
    assert code == 2 and needle in err and "a.json" in err


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity"])
def test_compare_refuses_non_finite_rewards(literal, tmp_path):
    (tmp_path / "a.json").write_bytes(json.dumps(_bench_file()).encode().replace(b"190.0", literal, 1))
    (tmp_path / "b.json").write_text(json.dumps(_bench_file()))
    code, _, err = _check(["compare", "a.json", "b.json", "--out-dir", "c"], tmp_path)
    assert code == 2 and "a number no file of this package holds" in err


@pytest.mark.parametrize("argv, needle", [
    (["bench", "--seeds", "99999999999..99999999999"], "below 2**31"),
    (["bench", "--seeds", "1000000000000"], "give 1 to 10000"),
    (["reproduce", "--seeds", "1000000000000"], "give 1 to 10000"),
    (["matrix", "--tf", "2.16", "2.21", "--seeds", "0..20000"], "at most 10000"),
    (["diff", "pg-tang", "--seeds", "0"], "give 1 to 10000"),
])
def test_seed_counts_and_ranges_are_bounded(argv, needle, tmp_path):
    code, _, err = _check(argv, tmp_path)
    assert code == 2 and needle in err


def test_run_out_never_replaces_what_is_not_ours(tmp_path, engines):
    notes = tmp_path / "important.txt"
    notes.write_text("the user's notes\n")
    notes.chmod(0o644)
    code, _, err = _check(["run", "basic-policy", "--out", "important.txt"], tmp_path)
    assert code == 2 and "not a file this package wrote" in err and "--force" in err
    assert notes.read_text() == "the user's notes\n" and (notes.stat().st_mode & 0o777) == 0o644
    code, _, err = _check(["run", "basic-policy", "--out", "/dev/null"], tmp_path)
    assert code == 2 and "not a regular file" in err
    (tmp_path / "link.json").symlink_to(tmp_path / "r.json")
    code, _, err = _check(["run", "basic-policy", "--out", "link.json"], tmp_path)
    assert code == 2 and "symbolic link" in err
    code, _, err = _check(["run", "basic-policy", "--out", "x" * 251 + ".json"], tmp_path)
    assert code == 2 and "file name too long (256 bytes; at most 255)" in err


def test_run_out_creates_directories_saying_so_with_the_usual_mode(tmp_path):
    old = os.umask(0o022)
    try:
        code, out, err = _call(["run", "basic-policy", "--quiet", "--out", "new/dir/r.json"], tmp_path)
        assert code == 0 and "will create new, new/dir" in out, out
        rec = tmp_path / "new" / "dir" / "r.json"
        assert read_record(rec)["program"] == "basic-policy" and (rec.stat().st_mode & 0o777) == 0o644
        # a record of ours is replaced; with --force anything regular is
        code, _, _ = _call(["run", "basic-policy", "--quiet", "--out", "new/dir/r.json"], tmp_path)
        assert code == 0
        # the longest legal name (255 bytes) works: the temporary file's name is kept short
        code, _, _ = _call(["run", "basic-policy", "--quiet", "--out", "x" * 250 + ".json"], tmp_path)
        assert code == 0 and read_record(tmp_path / ("x" * 250 + ".json"))["program"] == "basic-policy"
        (tmp_path / "notes.txt").write_text("mine")
        code, _, _ = _call(["run", "basic-policy", "--quiet", "--force", "--out", "notes.txt"], tmp_path)
        assert code == 0 and read_record(tmp_path / "notes.txt")["program"] == "basic-policy"
    finally:
        os.umask(old)


def test_bench_resumes_only_what_this_machine_commit_and_suite_started(engines, tmp_path):
    from tfrepro.tools.bench import machine_meta

    doc = _bench_file()  # machine "m", commit "c"
    (tmp_path / "res.json").write_text(json.dumps(doc))
    argv = ["bench", "--programs", "pg-tang", "--seeds", "2", "--no-speed", "--resume", "--out", "res.json"]
    code, _, err = _check(argv, tmp_path)
    assert code == 2 and "started on machine 'm'" in err, err
    meta = machine_meta()
    doc["meta"].update(machine=meta["machine"], commit=meta["commit"], environment=meta["environment"])
    doc["settings"]["suite"] = "full"
    (tmp_path / "res.json").write_text(json.dumps(doc))
    code, _, err = _check(argv, tmp_path)
    assert code == 2 and "a full suite, not quick" in err, err


def test_results_files_beyond_what_bench_writes_are_refused(engines, tmp_path):
    """More seeds in one row than bench takes (10,000), or more than 1,000 timed repeats: one
    line, before any statistics (whose bootstrap would otherwise grow with them)."""
    doc = _bench_file()
    doc["results"] += [dict(doc["results"][0], key=f"reward/p/tf2/fast/x{s}", seed=s) for s in range(10_001)]
    (tmp_path / "big.json").write_text(json.dumps(doc))
    code, _, err = _check(["compare", "big.json", "big.json", "--out-dir", "cmp"], tmp_path)
    assert code == 2 and "more than 10000 seeds" in err, err
    doc = _bench_file()
    doc["results"][-1]["repeats"] = [{"steps_per_s": 1000.0}] * 1001
    (tmp_path / "big.json").write_text(json.dumps(doc))
    code, _, err = _check(["compare", "big.json", "big.json", "--out-dir", "cmp"], tmp_path)
    assert code == 2 and "more than 1000 repeats" in err, err


def test_probability_of_improvement_is_the_pairwise_count():
    """From mid-ranks, as all pairs would count it (ties half), also batched as the bootstrap calls it."""
    import numpy as np

    from tfrepro.core.verdicts import prob_improvement

    g = np.random.default_rng(3)
    for n, m in ((1, 1), (2, 5), (30, 30), (64, 17)):
        b, a = np.round(g.normal(size=(4, n)), 1), np.round(g.normal(size=(4, m)), 1)
        pairs = [(x[:, None] > y[None, :]).mean() + 0.5 * (x[:, None] == y[None, :]).mean() for x, y in zip(b, a)]
        np.testing.assert_allclose(prob_improvement(b, a), pairs, rtol=0, atol=1e-12)
        assert prob_improvement(b[0], a[0]) == pytest.approx(pairs[0], abs=1e-12)


def test_a_failed_write_names_the_users_file_not_the_temporary_one(tmp_path, monkeypatch):
    """A full disk at the end of a run: the error names the file asked for, and nothing of
    the temporary file remains."""
    import errno

    from tfrepro.infra import records

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(records.os, "fsync", full)
    with pytest.raises(OSError) as e:
        records.atomic_write_text(tmp_path / "r.json", "{}")
    assert e.value.filename == str(tmp_path / "r.json") and "No space" in e.value.strerror
    assert list(tmp_path.iterdir()) == []
