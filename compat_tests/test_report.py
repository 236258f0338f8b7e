"""Tier 8 (tools): ``tfrepro report``, one self-contained HTML page from the results on disk.

The inputs are made here, as the subcommands make them, from synthetic runs (no training):
a reproduction (``tools.reproduce.reproduce`` with its runs stood in by records), a
``diff --seeds``-like folder of records and curves, and a ``compare`` of two bench files
through the CLI. The page is then opened in a real browser: headless Chromium (Debian's
``chromium``) loads it from disk, and the page's own check, run on load, counts its images
that failed to decode and its script errors into attributes of ``<body>`` that the
browser's DOM dump shows. Where Chromium is not installed the browser test is skipped,
unless ``TFREPRO_REQUIRE_BROWSER=1`` (set by ``.ci/run``) makes its absence a failure.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import numpy as np
import pytest

from tfrepro import cli
from tfrepro.infra.benchfile import SCHEMA as BENCH_SCHEMA
from tfrepro.infra.grid import plot_curves
from tfrepro.infra.records import SCHEMA, versions, write_record
from tfrepro.tools.report import GENERATOR

PROGRAMS = ("pg-geron", "basic-policy")


def _record(program, framework, seed):
    g = np.random.default_rng([seed, framework == "tf2"])
    train = list(np.linspace(20, 190, 40) + g.normal(0, 8, 40)) if program != "basic-policy" else []
    rewards = list(190 + g.normal(0, 5, 10)) if program != "basic-policy" else list(42 + g.normal(0, 3, 10))
    return {"schema": SCHEMA, "program": program, "framework": framework, "mode": "fast", "seed": seed,
            "env_id": "CartPole-v1", "eval_returns": rewards, "eval_mean": float(np.mean(rewards)),
            "train_returns": train, "env_steps": 1000, "wall_s": 1.0, "train_wall_s": 0.5,
            "versions": versions()}


def _bench(shift):
    results = [{"key": f"reward/pg-tang/tf2/fast/seed{s}", "kind": "reward", "program": "pg-tang",
                "framework": "tf2", "mode": "fast", "seed": s, "eval_mean": 190.0 + s + shift} for s in range(6)]
    results.append({"key": "speed/pg-tang/tf2/fast", "kind": "speed", "program": "pg-tang", "framework": "tf2",
                    "mode": "fast", "repeats": [{"steps_per_s": 1000.0 + i + shift} for i in range(3)],
                    "steps_per_s_median": 1001.0 + shift, "steps_per_s_min": 1000.0 + shift,
                    "steps_per_s_max": 1002.0 + shift})
    return {"schema": BENCH_SCHEMA, "meta": {"versions": {"tensorflow": f"2.{20 + shift}.0"}, "commit": "c",
                                             "machine": "m"},
            "settings": {"suite": "quick", "seeds": list(range(6)), "repeats": 3}, "results": results}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """Three folders as reproduce, diff --seeds and compare write them."""
    import tfrepro.tools.reproduce as rep

    root = tmp_path_factory.mktemp("results")
    records = [_record(p, fw, s) for p in PROGRAMS for fw in ("tf1", "tf2") for s in range(6)]
    real = rep.run_grid
    rep.run_grid = lambda *a, **k: records  # the runs stood in; everything after them is real
    try:
        assert rep.reproduce([(p, None) for p in PROGRAMS], "fast", list(range(6)), root / "reproduce") == 0
    finally:
        rep.run_grid = real
    diff = root / "diff" / "pg-geron"
    for r in records[:12]:
        write_record(diff / "runs" / f"{r['program']}_{r['framework']}_{r['seed']}.json", r)
    plot_curves(records[:12], [("pg-geron", None)], diff / "curves.png")
    for name, shift in (("base.json", 0), ("new.json", 1)):
        (root / name).write_text(json.dumps(_bench(shift)))
    assert cli.main(["compare", str(root / "base.json"), str(root / "new.json"),
                     "--out-dir", str(root / "compare")]) in (0, 1)
    return root


def _cli(argv, capsys):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


INPUTS = ["reproduce", "diff/pg-geron", "compare", "new.json"]


@pytest.fixture(scope="module")
def page(results, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    assert cli.main(["report", *[str(results / c) for c in INPUTS], "--out", str(out)]) == 0
    return out / "index.html"


def test_page_has_every_section_table_verdict_and_plot(page):
    text = page.read_text()
    assert f'<meta name="generator" content="{GENERATOR}">' in text
    titles = re.findall(r"<h2>(.*?)</h2>", text)
    assert len(titles) == len(INPUTS), titles
    assert titles[0].startswith("Reproduction") and titles[2].startswith("Comparison"), titles
    # a table per section; the reproduction's has a row per program and a verdict each
    assert text.count("<table>") == len(INPUTS)
    repro = text.split("<h2>")[1]
    for program in PROGRAMS:
        assert f"<td>{program}</td>" in repro
    assert len(re.findall(r'<span class="v v-(equivalent|inconclusive|better|worse)">', repro)) >= len(PROGRAMS)
    assert "TF 2.20.0" in text and "TF 2.21.0" in text  # the comparison's labels
    # the plots (reproduction, diff, compare) embedded; nothing fetched from anywhere
    images = re.findall(r'<img src="([^"]+)"', text)
    assert len(images) == 3 and all(src.startswith("data:image/png;base64,") for src in images)
    assert not re.search(r'(src|href)="(https?:)?//', text)


def test_same_inputs_same_page(results, page, tmp_path):
    assert cli.main(["report", *[str(results / c) for c in INPUTS], "--out", str(tmp_path)]) == 0
    assert (tmp_path / "index.html").read_bytes() == page.read_bytes()


def test_reproduce_and_compare_write_the_page_into_their_folders(results):
    for folder, table in (("reproduce", "<td>pg-geron</td>"), ("compare", "<td>pg-tang</td>")):
        text = (results / folder / "index.html").read_text()
        assert GENERATOR in text and table in text and "data:image/png;base64," in text


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    if os.environ.get("TFREPRO_REQUIRE_BROWSER") == "1":
        pytest.fail("TFREPRO_REQUIRE_BROWSER=1 but no chromium on PATH (apt-get install chromium)")
    pytest.skip("no chromium on PATH (apt-get install chromium)")


def test_page_renders_in_a_real_browser(page, tmp_path):
    """Chromium loads the page from disk with no network: every image decodes, no script
    error, every table is in the DOM; and it can take a screenshot of it."""
    browser = _chromium()
    flags = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             f"--user-data-dir={tmp_path / 'profile'}", "--no-first-run", "--virtual-time-budget=10000",
             "--enable-logging=stderr", "--v=0"]
    dom = subprocess.run(flags + ["--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=180)
    body = re.search(r"<body([^>]*)>", dom.stdout)
    assert body, dom.stderr[-2000:]
    attrs = dict(re.findall(r'data-([a-z-]+)="(\d+)"', body.group(1)))
    text = page.read_text()
    assert attrs.get("images") == str(text.count("<img ")), attrs
    assert attrs.get("broken-images") == "0", attrs
    assert attrs.get("errors") == "0", attrs
    assert attrs.get("tables") == str(text.count("<table>")), attrs
    console = [line for line in dom.stderr.splitlines() if "CONSOLE" in line and "Uncaught" in line]
    assert not console, console
    shot = tmp_path / "shot.png"
    subprocess.run(flags + ["--window-size=1400,1800", f"--screenshot={shot}", page.as_uri()],
                   capture_output=True, timeout=180)
    assert shot.is_file() and shot.stat().st_size > 10_000


# -- refusals: one line, exit 2, nothing written --------------------------------------

def test_refuses_to_replace_a_page_it_did_not_write(results, tmp_path, capsys):
    mine = tmp_path / "index.html"
    mine.write_text("<html>the user's own page</html>")
    code, _, err = _cli(["report", results / "compare", "--out", tmp_path], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "--force" in err
    assert mine.read_text() == "<html>the user's own page</html>"
    assert _cli(["report", results / "compare", "--out", tmp_path, "--force"], capsys)[0] == 0
    assert GENERATOR in mine.read_text()
    assert _cli(["report", results / "compare", "--out", tmp_path], capsys)[0] == 0  # its own: replaced


def test_reproduce_refuses_a_page_it_did_not_write_before_running(tmp_path, capsys, monkeypatch):
    import tfrepro.tools.reproduce as rep

    (tmp_path / "index.html").write_text("mine")
    monkeypatch.setattr(rep, "run_grid", lambda *a, **k: pytest.fail("ran before checking the page"))
    code, _, err = _cli(["reproduce", "--programs", "basic-policy", "--seeds", "2", "--out-dir", tmp_path], capsys)
    assert code == 2 and "refusing to" in err and (tmp_path / "index.html").read_text() == "mine"


@pytest.mark.parametrize("name, content, needle", [
    ("summary.json", b'{"mode": "fast", "versions": {}, "rows": [{"program": "x"}]}', "not a reproduce summary"),
    ("summary.json", b'{"mode": "fast", "versions": {}, "ro', "not valid JSON"),
    ("compare.json", b'{"files": ["a"], "labels": ["a", "b"], "comparisons": []}', "not a compare.json"),
    ("compare.json", b'{"files": ["a", "b"], "labels": ["a", "b"], "comparisons": [[{"program": 1}]]}',
     "not a compare.json"),
    ("notes.json", b'{"a": 1}', "nothing this package wrote"),
])
def test_malformed_inputs_are_one_line(tmp_path, capsys, name, content, needle):
    src = tmp_path / "res"
    src.mkdir()
    (src / name).write_bytes(content)
    out = tmp_path / "page"
    code, _, err = _cli(["report", src, "--out", out], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and needle in err, err
    assert not out.exists()


def test_a_plot_that_is_not_a_png_is_refused(results, tmp_path, capsys):
    src = tmp_path / "compare"
    shutil.copytree(results / "compare", src)
    (src / "compare.png").write_bytes(b"<svg/>")
    code, _, err = _cli(["report", src, "--out", tmp_path / "page"], capsys)
    assert code == 2 and "not a PNG" in err
    assert not (tmp_path / "page").exists()


def test_default_inputs_are_the_result_folders(results, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "results").symlink_to(results)
    code, out, _ = _cli(["report", "--out", "page"], capsys)
    assert code == 0 and "3 input(s)" in out  # reproduce, compare, diff/pg-geron
    titles = re.findall(r"<h2>(.*?)</h2>", (tmp_path / "page" / "index.html").read_text())
    assert titles[0].startswith("Reproduction") and len(titles) == 3, titles


def test_no_results_says_which_command_writes_them(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = _cli(["report"], capsys)
    assert code == 2 and "tfrepro reproduce" in err


