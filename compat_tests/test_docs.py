"""Tier 11: The README stays a front page, the docs/ pages stay whole and linked, and the docs site builds
with --strict. Fast: no TensorFlow, one mkdocs build (skipped, saying so, without mkdocs)."""
from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from compat_tests.conftest import ROOT

README = ROOT / "README.md"
DOCS = ROOT / "docs"
MKDOCS_YML = ROOT / "mkdocs.yml"
README_MAX_LINES = 250
TABLE_START, TABLE_END = "<!-- reproduce-table:start -->", "<!-- reproduce-table:end -->"

# [text](target) and ![alt](target), an optional "title" after the target.
LINK = re.compile(r"!?\[(?:[^\]`]|`[^`]*`)*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
EXTERNAL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")  # http:, https:, mailto:, ...


def _pages():
    return sorted(DOCS.glob("*.md"))


def _outside_fences(text: str) -> list[str]:
    """The lines outside fenced code blocks."""
    out, fence = [], None
    for line in text.splitlines():
        m = re.match(r"^\s*(`{3,}|~{3,})", line)
        if m and (fence is None or m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence)):
            fence = m.group(1) if fence is None else None
            continue
        if fence is None:
            out.append(line)
    return out


def _prose(text: str) -> str:
    """The Markdown outside fenced code blocks and inline code spans (links there are not links)."""
    return "\n".join(re.sub(r"(`+)(?!`).*?(?<!`)\1(?!`)", "", ln) for ln in _outside_fences(text))


def _links(path: Path):
    return LINK.findall(_prose(path.read_text(encoding="utf-8")))


def _github_anchors(path: Path) -> set[str]:
    """The heading anchors GitHub makes for a Markdown file (its slugger: lower case, punctuation
    dropped, spaces to hyphens, repeats numbered)."""
    anchors, seen = set(), {}
    for line in _outside_fences(path.read_text(encoding="utf-8")):
        line = line.replace("`", "")
        m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not m:
            continue
        title = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", m.group(1))  # a link's text only
        slug = re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        anchors.add(slug if n == 0 else f"{slug}-{n}")
    return anchors


def _nav_pages(nav) -> list[str]:
    if isinstance(nav, str):
        return [nav]
    if isinstance(nav, dict):
        return [p for v in nav.values() for p in _nav_pages(v)]
    return [p for item in nav for p in _nav_pages(item)]


def _mkdocs_config() -> dict:
    return yaml.safe_load(MKDOCS_YML.read_text(encoding="utf-8"))


def _table_block(text: str, where: str) -> str:
    assert text.count(TABLE_START) == 1 and text.count(TABLE_END) == 1, \
        f"{where}: one {TABLE_START} ... {TABLE_END} block expected"
    return text.split(TABLE_START, 1)[1].split(TABLE_END, 1)[0].strip("\n")


def test_readme_is_a_front_page():
    lines = README.read_text(encoding="utf-8").count("\n")
    assert lines <= README_MAX_LINES, (f"README.md has {lines} lines, at most {README_MAX_LINES}: "
                                       "move the detail into a page under docs/ and link it")


def test_every_docs_page_is_in_the_nav_and_every_nav_entry_exists():
    nav = _nav_pages(_mkdocs_config()["nav"])
    on_disk = {p.name for p in _pages()}
    assert not on_disk - set(nav), f"pages missing from mkdocs.yml's nav: {sorted(on_disk - set(nav))}"
    assert not set(nav) - on_disk, f"nav entries with no page in docs/: {sorted(set(nav) - on_disk)}"
    assert len(nav) == len(set(nav)), "a page is listed twice in the nav"


def test_every_page_opens_with_what_a_reader_gets():
    for page in _pages():
        lines = page.read_text(encoding="utf-8").splitlines()
        assert lines[0].startswith("# "), f"{page.name}: the first line is not a title"
        first = next(ln for ln in lines[1:] if ln.strip())
        assert first.startswith("What you get from this page:"), f"{page.name}: opens with {first!r}"


def test_relative_links_and_images_resolve():
    """Every relative link and image in README.md and docs/*.md names a file (or folder) of this
    repository, and every #anchor into a Markdown file names one of its headings (GitHub's slugs).
    External links are not fetched."""
    if not (ROOT / "results").is_dir():
        pytest.skip("this tree has no results/ (the Docker image leaves it out): links into it "
                    "cannot be checked here")
    broken = []
    for source in [README, *_pages()]:
        where = source.relative_to(ROOT)
        for target in _links(source):
            if EXTERNAL.match(target):
                continue
            path, _, anchor = target.partition("#")
            dest = (source.parent / path).resolve() if path else source
            if path.startswith("/") or not dest.is_relative_to(ROOT):
                broken.append(f"{where}: {target} leaves the repository (or is absolute)")
            elif not dest.exists():
                broken.append(f"{where}: {target} does not exist")
            elif anchor and dest.suffix == ".md" and anchor not in _github_anchors(dest):
                broken.append(f"{where}: {target}: no heading #{anchor} in {dest.relative_to(ROOT)}")
    assert not broken, "\n".join(broken)


def test_the_link_checker_sees_links_and_skips_code():
    text = "[a](x.md) `[b](y.md)` ![c](../r/p.png \"t\")\n```\n[d](z.md)\n```\n[`e`](w.md#h)"
    assert LINK.findall(_prose(text)) == ["x.md", "../r/p.png", "w.md#h"]


def test_the_anchor_slugs_are_githubs(tmp_path):
    page = tmp_path / "p.md"
    page.write_text("# Run `tfrepro legacy`: TF 2.15, 2.16\n```\n# not a heading\n```\n## Notes\n## Notes\n")
    assert _github_anchors(page) == {"run-tfrepro-legacy-tf-215-216", "notes", "notes-1"}


def test_the_reproduction_table_is_the_same_everywhere():
    """README.md and docs/reproduce.md carry the table between the same markers (a script may
    replace the block), and it is the committed run's results/reproduce/table.md."""
    readme = _table_block(README.read_text(encoding="utf-8"), "README.md")
    page = _table_block((DOCS / "reproduce.md").read_text(encoding="utf-8"), "docs/reproduce.md")
    assert readme == page, "README.md's and docs/reproduce.md's reproduction tables differ"
    table = ROOT / "results" / "reproduce" / "table.md"
    if table.exists():
        assert readme == table.read_text(encoding="utf-8").strip("\n"), \
            "the README's table is not results/reproduce/table.md: copy the file between the markers"


def _mkdocs_build(config_file: Path, site_dir: Path):
    if importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("material") is None:
        pytest.skip("mkdocs or mkdocs-material is not installed (requirements.txt pins both)")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file",
                           str(config_file), "--site-dir", str(site_dir)],
                          capture_output=True, text=True, timeout=300, env=env)


def test_the_docs_site_builds_strict(tmp_path):
    if not (ROOT / "results").is_dir():
        pytest.skip("this tree has no results/ (the Docker image leaves it out): the pages' plots "
                    "are not there to link")
    r = _mkdocs_build(MKDOCS_YML, tmp_path / "site")
    assert r.returncode == 0, r.stdout + r.stderr
    assert (tmp_path / "site" / "index.html").exists()
    # the plots the pages show are served from the repository, under repository/
    assert (tmp_path / "site" / "repository" / "results" / "reproduce" / "curves.png").exists()


def test_the_docs_build_still_fails_on_broken_links(tmp_path):
    """mkdocs_hooks.py lets links leave docs/ for files that exist; a link to a missing file,
    inside docs/ or outside, and a missing anchor still fail the strict build."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "plot.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (tmp_path / "mkdocs_hooks.py").write_text((ROOT / "mkdocs_hooks.py").read_text())
    config = _mkdocs_config()
    config["nav"] = ["index.md", "other.md"]
    (tmp_path / "mkdocs.yml").write_text(yaml.safe_dump(config))
    (tmp_path / "docs" / "other.md").write_text("# Other\n\n## A heading\n")
    good = "# Home\n\n![plot](../results/plot.png) [other](other.md#a-heading)\n"
    (tmp_path / "docs" / "index.md").write_text(good)
    r = _mkdocs_build(tmp_path / "mkdocs.yml", tmp_path / "site")
    assert r.returncode == 0, r.stdout + r.stderr
    for target in ("../results/gone.png", "gone.md", "other.md#no-such-heading"):
        (tmp_path / "docs" / "index.md").write_text(f"{good}[gone]({target})\n")
        r = _mkdocs_build(tmp_path / "mkdocs.yml", tmp_path / "site")
        assert r.returncode != 0, f"{target}: the strict build passed\n{r.stdout}{r.stderr}"
        assert target.split("#")[-1] in r.stdout + r.stderr, r.stdout + r.stderr


def test_every_test_module_names_a_tier_of_the_docs_list():
    """Each compat_tests module opens with ``Tier N`` where N is an item of docs/tests.md's
    numbered list of tiers, and every tier there has at least one module."""
    text = (ROOT / "docs" / "tests.md").read_text()
    listed = {int(m) for m in re.findall(r"^(\d+)\. ", text, re.M)}
    assert listed == set(range(1, max(listed) + 1)), sorted(listed)
    seen = {}
    for path in sorted((ROOT / "compat_tests").glob("test_*.py")):
        first = path.read_text().split("\n", 1)[0]
        m = re.match(r'"""Tier (\d+)\b', first)
        assert m, f"{path.name}: its docstring does not open with 'Tier N': {first[:60]}"
        assert int(m.group(1)) in listed, f"{path.name}: tier {m.group(1)} is not in docs/tests.md"
        seen.setdefault(int(m.group(1)), []).append(path.name)
    assert not listed - set(seen), f"tiers with no test module: {sorted(listed - set(seen))}"


def test_the_project_speaks_of_itself_only():
    """No page, test or module points to a design file that is not in the repository or to
    the tracker's 'issue' for a fact: the thing itself is said."""
    files = [README, *DOCS.glob("*.md"), *(ROOT / "compat_tests").glob("*.py"), *(ROOT / "tfrepro").rglob("*.py"),
             *(ROOT / "legacy_tf1").glob("*.py"), *(ROOT / "modern_tf2").glob("*.py")]
    pattern = re.compile(r"DESIGN\.md|\bthe issue\b|\bissue's\b", re.I)
    hits = [f"{p.relative_to(ROOT)}: {m.group(0)}" for p in files if p.name != "test_docs.py"
            for m in pattern.finditer(p.read_text())]
    assert not hits, hits


def test_the_plugin_reference_names_every_field():
    """docs/own-program.md's reference names every field of ``ProgramSpec``, ``Timing`` and
    ``RunResult``, and the agent methods the base classes default."""
    from dataclasses import fields

    from tfrepro.core.protocol import ProgramSpec, RunResult, Timing

    page = (ROOT / "docs" / "own-program.md").read_text()
    reference = page[page.index("## Reference"):]
    missing = [f"{cls.__name__}.{f.name}" for cls in (ProgramSpec, Timing, RunResult) for f in fields(cls)
               if f"`{f.name}`" not in reference]
    missing += [m for m in ("weight_variables", "variable_names", "weights", "set_weights", "forward",
                            "loss_and_gradients", "fast_update", "save", "restore") if f"`{m}(" not in reference]
    assert not missing, f"docs/own-program.md's reference does not name: {', '.join(missing)}"


def test_the_record_format_names_every_field_and_validation_checks_them():
    """docs/cli.md names every field of ``RunRecord`` (the result record's dataclass), and the
    fields ``validate`` requires are ``RunRecord``'s own, of its types."""
    from dataclasses import fields

    from tfrepro.core.protocol import RunRecord
    from tfrepro.infra.records import REQUIRED

    page = (ROOT / "docs" / "cli.md").read_text()
    names = {f.name: f.type for f in fields(RunRecord)}
    missing = [n for n in names if n != "weights" and f"`{n}`" not in page]
    assert not missing, f"docs/cli.md's record format does not name: {', '.join(missing)}"
    assert set(REQUIRED) <= set(names), set(REQUIRED) - set(names)
    kinds = {"str": str, "int": int, "float": float, "list": list, "dict": dict}
    for key, typ in REQUIRED.items():
        assert kinds[names[key]] in (typ if isinstance(typ, tuple) else (typ,)), (key, names[key], typ)
