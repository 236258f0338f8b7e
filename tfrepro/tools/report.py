"""``tfrepro report``: one self-contained HTML page from what the other subcommands wrote.

It reads, never reruns: a ``reproduce`` (or ``reproduce --full``) folder (``summary.json``
and ``curves.png``), a ``legacy --seeds`` folder (its ``summary.json`` and ``curves.png``), a
``diff --seeds`` folder (result records in ``runs/`` and
``curves.png``), a ``compare`` or ``matrix`` folder (``compare.json`` / ``matrix.json``,
their plots and, for the matrix, the bench results files in ``runs/``), and single files:
a bench results file, a ``compare.json`` or a result record. Tables are rendered from the
JSON (the same functions that print them), verdicts are coloured, PNGs are embedded as
data URIs: the page needs no network and no server, and reads the same from a zip file.

Every input is checked as the other subcommands check it; anything malformed is one
``UsageError`` naming the file, and nothing is written.
"""
from __future__ import annotations

import base64
import html
import re
from pathlib import Path

from ..core.errors import UsageError
from ..infra import provenance
from ..infra.records import atomic_write_text, read_json, validate

GENERATOR = "tfrepro report"
PAGE = "index.html"
MAX_IMAGE_BYTES = 32 * 2**20
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PNG_END = b"IEND\xaeB`\x82"  # the IEND chunk and its CRC: the last 8 bytes of every whole PNG


class Section:
    def __init__(self, title, source, markdown="", images=(), details=()):
        self.title, self.source, self.markdown = title, str(source), markdown
        self.images = list(images)  # (caption, png bytes)
        self.details = list(details)  # (summary line, markdown): folded under the section


# -- reading ------------------------------------------------------------------------------

def _malformed(path, kind, e) -> UsageError:
    what = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
    return UsageError(f"{path}: not a {kind} this package wrote ({what[:120]})")


def _render(path, kind, fn, *args):
    """``fn(*args)`` on data read from ``path``; a malformed file (a field missing or of the
    wrong type: the renderers index and format freely) is one UsageError naming it."""
    try:
        return fn(*args)
    except UsageError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, ZeroDivisionError, OverflowError) as e:
        raise _malformed(path, kind, e) from None


def _png(path: Path) -> bytes:
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_IMAGE_BYTES + 1)
    except OSError as e:
        raise UsageError(f"{path}: cannot read ({e.strerror})") from None
    if len(data) > MAX_IMAGE_BYTES or not data.startswith(PNG_MAGIC):
        raise UsageError(f"{path}: not a PNG image this package wrote")
    if not data.endswith(PNG_END):
        raise UsageError(f"{path}: a truncated PNG (no IEND chunk at its end)")
    return data


def _images(folder: Path, names):
    return [(n, _png(folder / n)) for n in names if (folder / n).is_file()]


def _kind(data) -> str | None:
    if not isinstance(data, dict):
        return None
    schema = str(data.get("schema", ""))
    if schema.startswith("tfrepro.bench"):
        return "bench"
    if schema.startswith("tfrepro.result"):
        return "record"
    if schema.startswith("tfrepro.script-summary"):
        return "script"
    if {"mode", "versions", "rows"} <= set(data):
        return "reproduce"
    if {"files", "labels", "comparisons"} <= set(data):
        return "compare"
    return None


def _reproduce_section(path: Path, data, title) -> Section:
    from ..infra.summary import table_markdown

    def render():
        rows = data["rows"]
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise TypeError("rows is not a list of objects")
        if not isinstance(data["versions"], dict):
            raise TypeError("versions is not an object")
        return table_markdown(rows, str(data["mode"]), data["versions"])

    md = _render(path, "reproduce summary", render)
    return Section(title, path.parent, md, _images(path.parent, ["curves.png"]))


def _script_section(path: Path, data, title) -> Section:
    """A ``legacy --seeds`` folder: its table and verdict (rendered from summary.json by the function
    that printed them) and its curves."""
    from .legacy.table import table_markdown

    def render():
        if not isinstance(data.get("sides"), dict) or not all(isinstance(v, dict) for v in data["sides"].values()):
            raise TypeError("sides is not an object of objects")
        return table_markdown(data)

    md = _render(path, "script summary", render)
    return Section(title, path.parent, md, _images(path.parent, ["curves.png"]))


def _compare_markdown(data) -> str:
    from .compare import Thresholds, labelled_markdown

    labels, files, comparisons = data["labels"], data["files"], data["comparisons"]
    if not (isinstance(labels, list) and isinstance(files, list) and isinstance(comparisons, list)):
        raise TypeError("files, labels and comparisons must be lists")
    if len(labels) != len(files) or len(comparisons) != len(files) - 1 or len(files) < 2:
        raise ValueError(f"{len(files)} files, {len(labels)} labels, {len(comparisons)} comparisons")
    th = data.get("thresholds") or {}
    th = Thresholds(**{k: v for k, v in th.items() if k in Thresholds.__dataclass_fields__})
    if not all(isinstance(rows, list) and all(isinstance(r, dict) for r in rows) for rows in comparisons):
        raise TypeError("a comparison is not a list of rows")
    return labelled_markdown(files, labels, comparisons, th)


def _bench_section(path: Path, title=None) -> Section:
    from ..infra.benchfile import load_results, summary_table
    from .compare import label

    data = load_results(path)
    md = _render(path, "bench results file", summary_table, data)
    return Section(title or f"Bench: {label(data['meta'])}", path, md)


def _records_section(paths, title, source, images=()) -> Section:
    from ..infra import programs
    from ..infra.summary import summarise, table_markdown

    records = [validate(read_json(p), str(p)) for p in paths]
    entries = []
    for r in records:
        try:
            programs.get(r["program"])
        except UsageError:
            raise UsageError(f"{source}: a record of an unknown program {r['program'][:80]!r}") from None
        e = (r["program"], r.get("variant") if r.get("variant") not in (None, "book") else None)
        if e not in entries:
            entries.append(e)
    modes = sorted({r["mode"] for r in records})
    rows = _render(source, "set of result records", summarise, records, entries)
    md = _render(source, "set of result records", table_markdown, rows, "/".join(modes), records[0]["versions"]
                 if isinstance(records[0].get("versions"), dict) else {})
    return Section(title, source, md, images)


def read_input(path) -> list[Section]:
    """The report's sections for one path given on the command line."""
    p = Path(path)
    if not p.exists():
        raise UsageError(f"{path}: no such file or directory (reproduce, diff --seeds, bench, compare "
                         "and matrix write what this command reads)")
    if p.is_file():
        data = read_json(p)
        kind = _kind(data)
        if kind == "reproduce":
            return [_reproduce_section(p, data, f"Reproduction ({p.parent})")]
        if kind == "script":
            return [_script_section(p, data, f"Script seeds ({p.parent})")]
        if kind == "script" and p.name == "compare.json":
            return [Section(f"Comparison ({p.parent})", p, _script_section(p, data, "").markdown,
                            _images(p.parent, ["compare.png"]))]
        if kind == "compare":
            md = _render(p, "compare.json", _compare_markdown, data)
            return [Section(f"Comparison ({p.parent})", p, md,
                            _images(p.parent, [p.stem + ".png"]))]
        if kind == "bench":
            return [_bench_section(p)]
        if kind == "record":
            return [_records_section([p], f"Record {p.name}", p)]
        raise UsageError(f"{path}: not a file this package wrote (a reproduce or legacy --seeds summary.json, a "
                         "compare.json, a bench results file or a result record)")
    if not p.is_dir():
        raise UsageError(f"{path}: not a regular file or a directory")
    sections = []
    if (p / "summary.json").is_file():
        data = read_json(p / "summary.json")
        if _kind(data) == "script":
            sections.append(_script_section(p / "summary.json", data, f"Script seeds ({p})"))
        elif _kind(data) != "reproduce":
            raise UsageError(f"{p / 'summary.json'}: not a reproduce or legacy --seeds summary this package wrote")
        else:
            sections.append(_reproduce_section(p / "summary.json", data, f"Reproduction ({p})"))
    for name, title in (("matrix.json", "TensorFlow versions"), ("compare.json", "Comparison")):
        f = p / name
        if f.is_file() and not (name == "compare.json" and (p / "matrix.json").is_file()):
            data = read_json(f)
            if name == "compare.json" and _kind(data) == "script":  # compare of two legacy --seeds folders
                sections.append(Section(f"{title} ({p})", f, _script_section(f, data, "").markdown,
                                        _images(p, ["compare.png"])))
                continue
            if _kind(data) != "compare":
                raise UsageError(f"{f}: not a compare.json this package wrote")
            md = _render(f, name, _compare_markdown, data)
            pngs = ["matrix.png"] if name == "matrix.json" else ["compare.png"]
            sections.append(Section(f"{title} ({p})", f, md, _images(p, pngs)))
    runs = p / "runs"
    if runs.is_dir() and not (p / "summary.json").is_file():
        files = sorted(runs.glob("*.json"))
        kinds = {f: _kind(read_json(f)) for f in files}
        records = [f for f, k in kinds.items() if k == "record"]
        benches = [f for f, k in kinds.items() if k == "bench"]
        if records:
            sections.append(_records_section(records, f"Seeds, TF1 against TF2 ({p})", p,
                                             _images(p, ["curves.png"])))
        if benches:
            details = [(f.name, _bench_section(f).markdown) for f in benches]
            if sections:
                sections[-1].details += details
            else:
                sections.append(Section(f"Bench results ({p})", p, details=details))
    if not sections:
        raise UsageError(f"{path}: nothing this package wrote in it (no summary.json, compare.json, "
                         "matrix.json or runs/ of records or bench files)")
    return sections


def default_inputs(root=Path("results")) -> list[Path]:
    """With no paths given: every folder under ``results/`` (and one level below, as
    ``results/diff/PROGRAM``) that holds something this command reads."""
    out: list = []
    if not root.is_dir():
        return out
    # the reproduction first (the main result), then the rest by name
    for d in sorted((x for x in root.iterdir() if x.is_dir()), key=lambda x: (x.name != "reproduce", x.name)):
        candidates = [d] + sorted(x for x in d.iterdir() if x.is_dir() and x.name != "runs")
        for c in candidates:
            if any((c / n).is_file() for n in ("summary.json", "compare.json", "matrix.json")) or (
                    c != d and (c / "runs").is_dir() and (c / "curves.png").is_file()):
                out.append(c)
    return out


# -- writing ------------------------------------------------------------------------------

VERDICT_RE = re.compile(r"\b(equivalent|inconclusive|better|worse)\b")

STYLE = """
body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#1d2433;background:#fafbfc}
header{background:#1d2433;color:#fff;padding:18px 28px}header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;color:#c8d0dc;font-size:13px}
nav{padding:10px 28px;background:#eef1f5;font-size:14px}nav a{margin-right:16px;color:#2453a6}
main{padding:8px 28px 40px;max-width:1500px}section{margin:26px 0 36px}
h2{font-size:19px;border-bottom:2px solid #dde3ea;padding-bottom:4px}.src{color:#6b7686;font-size:12px}
table{border-collapse:collapse;font-size:13px;margin:10px 0;background:#fff}
th,td{border:1px solid #d5dbe3;padding:4px 8px;vertical-align:top}th{background:#f0f3f7;text-align:left}
tr:nth-child(even) td{background:#f9fafc}figure{margin:14px 0}figure img{max-width:100%;border:1px solid #e1e5ea}
figcaption{font-size:12px;color:#6b7686}details{margin:8px 0}summary{cursor:pointer;color:#2453a6}
.v{padding:1px 6px;border-radius:9px;font-weight:600;white-space:nowrap}
.v-equivalent{background:#d8f0dc;color:#18632b}.v-better{background:#d9e8fb;color:#1b4f93}
.v-worse{background:#fadcdc;color:#9b1c1c}.v-inconclusive{background:#eceef1;color:#505a66}
code{background:#eef1f5;padding:0 3px;border-radius:3px}
"""

# The page checks itself once loaded: broken images and script errors are counted into
# attributes of <body>, which a headless browser's DOM dump shows (compat_tests/test_report.py).
SELF_CHECK = """
window.__errors=[];window.addEventListener('error',function(e){window.__errors.push(String(e.message||e));});
window.addEventListener('load',function(){var b=0,imgs=document.images;
for(var i=0;i<imgs.length;i++){if(!imgs[i].complete||imgs[i].naturalWidth===0)b++;}
document.body.setAttribute('data-images',imgs.length);document.body.setAttribute('data-broken-images',b);
document.body.setAttribute('data-tables',document.getElementsByTagName('table').length);
document.body.setAttribute('data-errors',window.__errors.length);});
"""


def _markdown_html(text: str) -> str:
    import markdown

    body = markdown.markdown(html.escape(text, quote=False), extensions=["tables"])
    # colour the verdict words of table cells
    return re.sub(r"(<td>)(.*?)(</td>)", lambda m: m.group(1) + VERDICT_RE.sub(
        r'<span class="v v-\1">\1</span>', m.group(2)) + m.group(3), body, flags=re.S)


def _slug(i, title):
    return f"s{i}-" + re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:40]


def render(sections, title="tfrepro report") -> str:
    from ..infra.records import versions

    ids = [_slug(i, s.title) for i, s in enumerate(sections)]
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           f'<meta name="generator" content="{GENERATOR}">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{html.escape(title)}</title><style>{STYLE}</style><script>{SELF_CHECK}</script></head><body>",
           f"<header><h1>{html.escape(title)}</h1><p>Classic CartPole programs in TF1 graph form and as TF2 ports: "
           f"tables, verdicts and plots from {len(sections)} result set(s). Written by tfrepro "
           f"(tensorflow {html.escape(versions().get('tensorflow', '?'))} installed when written).</p></header>",
           "<nav>" + "".join(f'<a href="#{i}">{html.escape(s.title)}</a>' for i, s in zip(ids, sections)) + "</nav>",
           "<main>"]
    for sid, s in zip(ids, sections):
        out.append(f'<section id="{sid}"><h2>{html.escape(s.title)}</h2>'
                   f'<div class="src">from {html.escape(s.source)}</div>')
        if s.markdown:
            out.append(_markdown_html(s.markdown))
        for caption, data in s.images:
            uri = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
            out.append(f'<figure><img src="{uri}" alt="{html.escape(caption)}">'
                       f"<figcaption>{html.escape(caption)}</figcaption></figure>")
        for summary, md in s.details:
            out.append(f"<details><summary>{html.escape(summary)}</summary>{_markdown_html(md)}</details>")
        out.append("</section>")
    out.append("</main></body></html>")
    return "\n".join(out) + "\n"


def check_page(out_dir, force=False) -> Path:
    """The page's path, checked before any work: an ``index.html`` already there is replaced
    only if this command wrote it (or with ``force``); the folder must be writable."""
    from ..infra.records import check_output

    page = Path(out_dir) / PAGE
    if Path(out_dir).exists() and not Path(out_dir).is_dir():
        raise UsageError(f"--out {out_dir}: exists and is not a directory")
    if page.is_symlink() and not force:
        raise UsageError(f"{page}: is a symbolic link; refusing to replace it (--force replaces the link)")
    if force:
        provenance.allow(page)
    provenance.guard(page)  # a page of ours: its generator tag (the mark) or its folder's manifest
    check_output(page, "--out", force=True)  # directories, devices, permissions, name length
    return page


def write_report(paths, out_dir, force=False, title="tfrepro report") -> Path:
    """Read every input, then write ``out_dir/index.html`` (atomically); returns its path."""
    page = check_page(out_dir, force)
    sections = [s for p in paths for s in read_input(p)]
    page.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(page, render(sections, title))
    return page
