"""Tier 5 (tools): what the package wrote, and nothing else, is what it replaces; every input
file passes one bounded reader.

The user's own files (a PNG, a GIF, a text file named like a model, a table, a summary, a
page, a figure) sit where each output option of each subcommand points; every command refuses
in one line before any work and leaves them byte for byte as they were. A file of the package's
is replaced; one the user edited afterwards is the user's again. A file that appears while a
command runs is not replaced at the rename. Manifests keep every entry when worker processes
write side by side. Generated JSON (hypothesis) reaches the reader as one line or as data
within bounds, never as a traceback.
"""
from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from tfrepro.core.errors import UsageError
from tfrepro.infra import provenance
from tfrepro.infra.records import MAX_NUMBER, atomic_write_text, out_of_bounds, read_json

PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478"
                    "9c6360000002000154a24f5d0000000049454e44ae426082")
GIF = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"


def _user_files(folder: Path, names) -> dict:
    """The user's own files at ``names`` under ``folder``: {path: sha256}."""
    out = {}
    for name in names:
        p = folder / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(PNG if name.endswith(".png") else GIF if name.endswith(".gif") else
                      b'{"mine": 1}\n' if name.endswith(".json") else b"the user's own " + name.encode() + b"\n")
        out[p] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _untouched(files: dict):
    for p, h in files.items():
        assert p.is_file() and hashlib.sha256(p.read_bytes()).hexdigest() == h, f"{p} was replaced"


def _refused(proc, needle="this package"):
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


# every output option, pointed at the user's files: (argv, the user's files it points at)
CASES = {
    "run --gif over a PNG of the user's": (["run", "random-policy", "--framework", "tf1", "--gif", "mine.png",
                                            "--out", "r.json"], ["mine.png"]),
    "run --gif over a GIF of the user's": (["run", "random-policy", "--framework", "tf1", "--gif", "mine.gif",
                                            "--out", "r.json"], ["mine.gif"]),
    "run --qplot over a PNG": (["run", "dqn-meertens", "--framework", "tf1", "--qplot", "holiday.png",
                                "--out", "r.json"], ["holiday.png"]),
    "run --save into a folder with the user's model.keras": (
        ["run", "pg-geron", "--framework", "tf2", "--iterations", "1", "--save", "ck", "--out", "r.json"],
        ["ck/model.keras"]),
    "run --save over a TF1 checkpoint state file": (
        ["run", "pg-geron", "--framework", "tf1", "--iterations", "1", "--save", "ck", "--out", "r.json"],
        ["ck/checkpoint"]),
    "run --save over a cartpole-dqn.h5": (
        ["run", "dqn-pylessons", "--framework", "tf1", "--iterations", "1", "--save", "ck", "--out", "r.json"],
        ["ck/cartpole-dqn.h5"]),
    "run --logdir into the user's folder": (
        ["run", "dqn-meertens", "--framework", "tf1", "--logdir", "logs", "--out", "r.json"], ["logs/notes.txt"]),
    "reproduce --resume into the user's results-like folder": (
        ["reproduce", "--programs", "random-policy", "--seeds", "2", "--resume", "--out-dir", "res"],
        ["res/table.md", "res/summary.json", "res/curves.png"]),
    "reproduce --force is the only way in": (
        ["reproduce", "--programs", "random-policy", "--seeds", "2", "--out-dir", "res"],
        ["res/table.md", "res/summary.json", "res/curves.png"]),
    "diff --seeds into the user's folder": (["diff", "pg-geron", "--seeds", "2", "--out-dir", "d"], ["d/notes.md"]),
    "legacy --figures over the user's figure": (["legacy", "--figures", "figs", "s.py"], ["figs/figure-001.png"]),
    "legacy --record over the user's episode": (["legacy", "--record", "rec", "s.py"], ["rec/env0-episode0001.gif"]),
    "legacy --report-out over the user's notes": (["legacy", "--report-out", "notes.md", "s.py"], ["notes.md"]),
    "legacy --seeds --out-dir into the user's folder": (["legacy", "--seeds", "0..1", "--out-dir", "o", "s.py"],
                                                        ["o/table.md"]),
    "compare --out-dir over the user's compare.*": (["compare", "a.json", "a.json", "--out-dir", "c"],
                                                    ["c/compare.md", "c/compare.png", "c/compare.json"]),
    "matrix --report-only --out-dir over the user's matrix.*": (
        ["matrix", "--tf", "2.15", "2.16", "--report-only", "--out-dir", "m"], ["m/matrix.md", "m/matrix.json"]),
    "report --out into the user's folder": (["report", "a.json", "--out", "page"], ["page/index.html"]),
    "convert --out into the user's folder": (["convert", "pg-geron", "ck0", "--out", "conv"], ["conv/notes.txt"]),
    "bench --out over the user's JSON": (["bench", "--programs", "random-policy", "--seeds", "1", "--no-speed",
                                          "--out", "mine.json"], ["mine.json"]),
    "speed --out over the user's JSON": (["speed", "--programs", "pg-tang", "--out", "mine.json"], ["mine.json"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_no_output_option_replaces_or_writes_into_the_users_files(case, cli_here, tmp_path):
    argv, names = CASES[case]
    (tmp_path / "s.py").write_text("print('hello')\n")
    (tmp_path / "a.json").write_text(json.dumps({"schema": "tfrepro.bench/1"}))
    (tmp_path / "ck0").mkdir()
    mine = _user_files(tmp_path, names)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    _refused(cli_here(*argv))
    _untouched(mine)
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before  # nothing new either


def test_the_package_replaces_its_own_files_and_not_those_edited_since(tmp_path):
    page = tmp_path / "out" / "table.md"
    atomic_write_text(page, "ours\n")
    assert provenance.ours(page) and provenance.our_folder(page.parent)
    atomic_write_text(page, "ours again\n")  # its own file: replaced
    page.write_text("edited by the user\n")
    assert not provenance.ours(page)
    with pytest.raises(UsageError, match="not a file this package wrote"):
        atomic_write_text(page, "ours a third time\n")
    assert page.read_text() == "edited by the user\n"
    provenance.allow(page)  # --force
    try:
        atomic_write_text(page, "forced\n")
    finally:
        os.environ.pop(provenance.ALLOW_ENV, None)
    assert page.read_text() == "forced\n" and provenance.ours(page)


def test_a_file_that_appears_while_the_command_runs_is_not_replaced(tmp_path, monkeypatch):
    """The check before the work passes (nothing there); the user's file lands during the
    work; the rename refuses it."""
    from tfrepro.infra import records

    target = tmp_path / "late.png"
    real_fsync = os.fsync

    def user_writes_meanwhile(fd):
        real_fsync(fd)
        if not target.exists():
            target.write_bytes(PNG)

    monkeypatch.setattr(records.os, "fsync", user_writes_meanwhile)
    with pytest.raises(UsageError, match="not a file this package wrote"):
        records.atomic_write_bytes(target, b"\x89PNG ours")
    assert target.read_bytes() == PNG
    assert [p.name for p in tmp_path.iterdir()] == ["late.png"]  # no temporary file left


def _note_many(args):
    folder, k = args
    for i in range(20):
        p = Path(folder) / f"w{k}-{i}.log"
        p.write_text(f"{k} {i}\n")
        provenance.note(p)


def test_manifests_keep_every_entry_when_processes_write_side_by_side(tmp_path):
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        pool.map(_note_many, [(str(tmp_path), k) for k in range(4)])
    files = provenance.manifest(tmp_path)
    assert len(files) == 80 and all(provenance.listed(tmp_path / n) for n in files)


def test_a_forged_or_broken_manifest_claims_nothing(tmp_path):
    mine = tmp_path / "mine.png"
    mine.write_bytes(PNG)
    for text in ("{", json.dumps({"schema": "other", "files": {"mine.png": "x"}}), "[]",
                 json.dumps({"schema": provenance.SCHEMA, "files": {"mine.png": "0" * 64}})):
        (tmp_path / provenance.MANIFEST).write_text(text)
        assert not provenance.ours(mine)
        with pytest.raises(UsageError):
            provenance.guard(mine)


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True)
                    | st.text(max_size=8), lambda kids: st.lists(kids, max_size=4)
                    | st.dictionaries(st.text(max_size=6), kids, max_size=4), max_leaves=30)


@settings(max_examples=300, deadline=None)
@given(doc=JSON, digits=st.integers(1, 6000), depth=st.integers(0, 3000))
def test_every_json_file_is_read_within_bounds_or_refused_in_one_line(doc, digits, depth, tmp_path_factory):
    folder = tmp_path_factory.mktemp("json")
    texts = [json.dumps(doc), json.dumps({"eval_mean": int("9" * digits)}) if digits < 4300 else
             '{"eval_mean": ' + "9" * digits + "}", "[" * depth + "]" * depth, json.dumps(doc)[:-1]]
    for i, text in enumerate(texts):
        p = folder / f"f{i}.json"
        p.write_text(text)
        try:
            data = read_json(p)
        except UsageError as e:
            assert "\n" not in str(e) and str(p) in str(e)
            continue
        assert out_of_bounds(data) is None
        json.dumps(data, allow_nan=False)  # what was read is finite and bounded: strict JSON again
        # (a NaN or an infinity would raise here; the text "NaN" may be a key or a string)


def test_bounds_name_the_field(tmp_path):
    p = tmp_path / "b.json"
    p.write_text('{"results": [{"eval_mean": 1e308}]}')
    with pytest.raises(UsageError, match=r"results\[0\]\.eval_mean holds 1e\+308"):
        read_json(p)
    p.write_text('{"x": %d}' % MAX_NUMBER)
    assert read_json(p) == {"x": MAX_NUMBER}


def test_a_runner_output_that_cannot_be_written_ends_a_legacy_run_in_one_line(cli, tmp_path):
    """A file of the user's lands in ``--figures`` while the script runs (the check before the
    run passed): the runner's save refuses it at the rename, the run ends with one line naming
    it, exit 2, and the user's file stays."""
    (tmp_path / "figs").mkdir()
    (tmp_path / "s.py").write_text(
        "import os\nimport matplotlib.pyplot as plt\n"
        "open(os.path.join(%r, 'figure-001.png'), 'wb').write(b'mine')\n"
        "plt.plot([1, 2])\nplt.show()\nprint('not reached')\n" % str(tmp_path / "figs"))
    proc = cli("legacy", "--figures", "figs", "s.py")
    assert proc.returncode == 2 and "not reached" not in proc.stdout, proc.stdout + proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("tfrepro legacy: --figures: cannot write")
    assert "Traceback" not in proc.stderr and (tmp_path / "figs" / "figure-001.png").read_bytes() == b"mine"


@pytest.mark.parametrize("content", [b"", b'{"cells": [', b"\xfc\xfd binary", b"[1, 2]", b"[" * 5000 + b"]" * 5000,
                                     b'{"nbformat": 12, "cells": []}', b'{"nbformat": 1e308}', b'{"nbformat": NaN}',
                                     b'{"metadata": {}}', b'{"nbformat": 4, "cells": [{"x": ' + b"9" * 5000 + b"}]}"])
def test_a_notebook_nbformat_cannot_read_is_one_line(content, cli_here, tmp_path):
    (tmp_path / "nb.ipynb").write_bytes(content)
    _refused(cli_here("legacy", "--episodes", "1", "nb.ipynb"), "not a notebook nbformat can read")


@pytest.mark.parametrize("damage", ["state file not UTF-8", "empty data file"])
def test_a_damaged_tf1_checkpoint_is_one_line_everywhere_it_is_read(damage, cli_here, tmp_path):
    proc = cli_here("run", "pg-tang", "--framework", "tf1", "--iterations", "1", "--save", "ck", "--out", "r.json")
    assert proc.returncode == 0, proc.stderr
    if damage == "state file not UTF-8":
        (tmp_path / "ck" / "checkpoint").write_bytes(b'model_checkpoint_path: "\xff\xfe"\n')
    else:
        (data,) = (tmp_path / "ck").glob("*.data-*")
        data.write_bytes(b"")
    for argv in (["inspect", "ck"], ["convert", "pg-tang", "ck", "--out", "conv"],
                 ["run", "pg-tang", "--framework", "tf1", "--load", "ck", "--iterations", "0", "--out", "a.json"],
                 ["run", "pg-tang", "--framework", "tf2", "--load", "ck", "--iterations", "0", "--out", "b.json"]):
        proc = cli_here(*argv)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, (argv, proc.stderr)
        assert len(proc.stderr.strip().splitlines()) == 1 and "ck" in proc.stderr, (argv, proc.stderr)


@pytest.mark.slow  # fresh processes (the runner's child reads the script)
@pytest.mark.parametrize("text", [b"def f(:\n  pass\n", bytes(range(256)) * 4, b"x = " + b"9" * 5000 + b"\n",
                                  b"x = " + b"[" * 3000 + b"]" * 3000 + b"\n", b"\xef\xbb\xbfprint 'py2' +\n"])
def test_a_script_python_cannot_read_is_one_line(text, cli, tmp_path):
    (tmp_path / "h.py").write_bytes(text)
    proc = cli("legacy", "--episodes", "1", "h.py")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "h.py:1:" in proc.stderr, proc.stderr


@pytest.mark.parametrize("seeds", ["1000000000000", "0..99999999999", "0..10000", "5," * 20000 + "5"])
def test_legacy_seed_counts_are_bounded_before_any_list_is_made(seeds, cli_here, tmp_path):
    (tmp_path / "s.py").write_text("print(1)\n")
    proc = cli_here("legacy", "--seeds", seeds, "s.py")
    assert proc.returncode == 2 and "at most 10000" in proc.stderr and len(proc.stderr.splitlines()) == 1


def test_a_failed_command_leaves_no_partial_outputs_and_keeps_its_records(tmp_path):
    """What a command created before it failed goes (newest first, only files as it wrote them,
    then its folders where empty); records stay for ``--resume``; what was there before stays."""
    from tfrepro.infra.records import write_record

    (tmp_path / "mine.txt").write_text("the user's")
    provenance.begin()
    atomic_write_text(tmp_path / "out" / "deep" / "table.md", "partial\n")
    atomic_write_text(tmp_path / "compare.md", "partial\n")
    rec = tmp_path / "res" / "runs" / "r.json"
    write_record(rec, {"schema": "tfrepro.result/1", "program": "p", "framework": "tf1", "mode": "fast", "seed": 0,
                       "env_id": "E", "eval_returns": [1.0], "eval_mean": 1.0, "train_returns": [],
                       "env_steps": 1, "wall_s": 1.0, "versions": {}})
    atomic_write_text(tmp_path / "res" / "summary.json", '{"schema": "tfrepro.summary/1"}')
    provenance.rollback()
    left = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    assert left == ["mine.txt", "res", "res/runs", "res/runs/r.json", "res/summary.json"], left
