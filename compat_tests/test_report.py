"""Tier 1 (tools): ``tfrepro report``, one self-contained HTML page from the results on disk.

The page is built from the committed results (the reproduction, the seeds of ``diff``, the
lockstep-against-fast comparisons, the TensorFlow matrix, TF 1.15 against today's) and
opened in a real browser: headless Chromium (Debian's ``chromium``) loads it from disk, and
the page's own check, run on load, counts its images that failed to decode and its script
errors into attributes of ``<body>`` that the browser's DOM dump shows. Where Chromium is
not installed the browser test is skipped, unless ``TFREPRO_REQUIRE_BROWSER=1`` (set by
``.ci/run``) makes its absence a failure.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tfrepro import cli
from tfrepro.infra.checkout import ROOT
from tfrepro.tools.report import GENERATOR

RESULTS = ROOT / "results"
COMMITTED = ["reproduce", "diff/pg-geron", "lockstep-vs-fast/pg-compare", "matrix", "tf115"]


def _cli(argv, capsys):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    code = cli.main(["report", *[str(RESULTS / c) for c in COMMITTED], "--out", str(out)])
    assert code == 0
    return out / "index.html"


def test_page_has_every_section_table_verdict_and_plot(page):
    text = page.read_text()
    assert f'<meta name="generator" content="{GENERATOR}">' in text
    titles = re.findall(r"<h2>(.*?)</h2>", text)
    assert len(titles) == len(COMMITTED), titles
    assert titles[0].startswith("Reproduction")
    # one table per section at least; the reproduction's has a row per program
    assert text.count("<table>") >= len(COMMITTED)
    repro = text.split("<h2>")[1]
    for program in ("basic-policy", "random-policy", "imitation-policy", "pg-tang", "pg-geron",
                    "dqn-meertens", "dqn-pylessons"):
        assert f"<td>{program}" in repro
    assert re.search(r'<span class="v v-(equivalent|inconclusive)">', repro)
    # plots embedded, nothing fetched from anywhere
    images = re.findall(r'<img src="([^"]+)"', text)
    assert len(images) >= 4 and all(src.startswith("data:image/png;base64,") for src in images)
    assert not re.search(r'(src|href)="(https?:)?//', text)


def test_same_inputs_same_page(page, tmp_path):
    assert cli.main(["report", *[str(RESULTS / c) for c in COMMITTED], "--out", str(tmp_path)]) == 0
    assert (tmp_path / "index.html").read_bytes() == page.read_bytes()


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

def test_refuses_to_replace_a_page_it_did_not_write(tmp_path, capsys):
    mine = tmp_path / "index.html"
    mine.write_text("<html>the user's own page</html>")
    code, _, err = _cli(["report", RESULTS / "tf115", "--out", tmp_path], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "--force" in err
    assert mine.read_text() == "<html>the user's own page</html>"
    assert _cli(["report", RESULTS / "tf115", "--out", tmp_path, "--force"], capsys)[0] == 0
    assert GENERATOR in mine.read_text()
    assert _cli(["report", RESULTS / "tf115", "--out", tmp_path], capsys)[0] == 0  # its own: replaced


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


def test_a_plot_that_is_not_a_png_is_refused(tmp_path, capsys):
    src = tmp_path / "tf115"
    shutil.copytree(RESULTS / "tf115", src)
    (src / "compare.png").write_bytes(b"<svg/>")
    code, _, err = _cli(["report", src, "--out", tmp_path / "page"], capsys)
    assert code == 2 and "not a PNG" in err
    assert not (tmp_path / "page").exists()


def test_no_results_says_which_command_writes_them(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = _cli(["report"], capsys)
    assert code == 2 and "tfrepro reproduce" in err


def test_compare_writes_the_page_beside_its_tables(tmp_path, capsys):
    out = tmp_path / "cmp"
    runs = sorted((RESULTS / "matrix" / "runs").glob("*.json"))
    code, _, _ = _cli(["compare", runs[0], runs[-1], "--out-dir", out], capsys)
    assert code in (0, 1)
    text = (out / "index.html").read_text()
    assert GENERATOR in text and "<table>" in text and "data:image/png;base64," in text
