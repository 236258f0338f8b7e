"""The survey of ``tfrepro legacy`` on TF1-era scripts by other authors: each script of a corpus
(kept outside this repository, with its license) run unchanged until it prints its own progress
line, with the result, the first blocker and the seconds it took.

    python benchmarks/legacy_survey.py CORPUS_DIR [--out results/legacy-survey] [--only ID ...]
                                       [--cap 240] [--steps 1000000] [--workers 2]
                                       [--rebuild-from MIRRORS [--manifest FILE]]

``CORPUS_DIR/manifest.json`` lists the scripts: ``id``, ``author``, ``repo``, ``commit``,
``path``, ``license``, ``local`` (the entry script, relative to CORPUS_DIR), ``cwd``, ``args``,
``envs``, ``styles`` and ``progress``, a regular expression for one line of the script's own
progress output, declared from its print statements before any run. A script *runs* when a line
of its standard output matches ``progress`` (the survey then ends it); it *fails* when it exits,
or reaches ``--steps`` environment steps or ``--cap`` seconds, first. The first blocker is the
runner's one line (``tfrepro legacy: ...``) or the last line of the script's traceback. Every
script runs with ``--seed 0 --steps STEPS --seconds CAP`` in a fresh copy of its folder (what it
writes never reaches the corpus), in its own process group, ended as a whole. The scripts' own
third-party needs (scikit-learn, seaborn, Box2D) are installed beside the project's
requirements, as their users would.

Writes ``OUT/survey.json`` (one row per script, with the manifest's provenance) and
``OUT/survey.md`` (the table docs/legacy.md quotes), atomically.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def blocker(stderr: str, stdout: str) -> str:
    """The first thing that stopped the script, in one line."""
    lines = [ln.rstrip() for ln in stderr.splitlines() if ln.strip()]
    for ln in lines:
        if ln.startswith("tfrepro legacy:") and "stopped after" not in ln:
            return ln[len("tfrepro legacy:"):].strip()
    for i in range(len(lines) - 1, -1, -1):  # a traceback's last line
        if re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt|Warning)\b", lines[i]):
            return lines[i]
    return lines[-1] if lines else (stdout.strip().splitlines() or ["(no output)"])[-1]


def run_one(corpus: Path, entry: dict, cap: float, steps: int) -> dict:
    if entry.get("exclude"):  # not a runnable script of its era (the reason is kept)
        row = {k: entry.get(k) for k in ("id", "author", "repo", "commit", "path", "license", "envs", "styles")}
        row.update(result="excluded", line="", seconds=0.0, blocker=entry["exclude"])
        return row
    with tempfile.TemporaryDirectory(prefix="tfrepro-survey-") as tmp:  # the corpus itself stays as published
        shutil.copytree(corpus / entry["id"], Path(tmp) / entry["id"], symlinks=True)
        return _run_copy(Path(tmp), entry, cap, steps)


def _run_copy(corpus: Path, entry: dict, cap: float, steps: int) -> dict:
    cwd = corpus / entry.get("cwd", str(Path(entry["local"]).parent))
    script = os.path.relpath(corpus / entry["local"], cwd)
    cmd = [sys.executable, "-m", "tfrepro", "legacy", "--seed", "0", "--steps", str(steps), "--seconds", str(cap),
           script,
           *entry.get("args", [])]
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1", MPLBACKEND="Agg")
    pattern = re.compile(entry["progress"])
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=err, text=True, env=env,
                                start_new_session=True, errors="replace")
        out, hit = [], None
        timer = threading.Timer(cap + 60, lambda: os.killpg(proc.pid, signal.SIGKILL))
        timer.start()
        try:
            for line in proc.stdout:
                out.append(line)
                if hit is None and pattern.search(line):
                    hit = (line.strip(), time.perf_counter() - start)
                    os.killpg(proc.pid, signal.SIGTERM)
                    break
        finally:
            timer.cancel()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        err.seek(0)
        stderr = err.read()
    seconds = time.perf_counter() - start
    row = {k: entry.get(k) for k in ("id", "author", "repo", "commit", "path", "license", "envs", "styles")}
    if hit is not None:
        row.update(result="runs", line=hit[0][:120], seconds=round(hit[1], 1), blocker="")
    else:
        row.update(result="fails", line="", seconds=round(seconds, 1), exit=proc.returncode,
                   blocker=blocker(stderr, "".join(out))[:200])
    return row


def markdown(rows: list) -> str:
    counted = [r for r in rows if r["result"] != "excluded"]
    n, ok = len(counted), sum(r["result"] == "runs" for r in counted)
    authors = len({r["author"] for r in counted})
    excluded = len(rows) - n
    head = (f"{ok} of {n} scripts ({100 * ok / max(n, 1):.0f}%) by {authors} authors reach their own progress "
            f"line{f' ({excluded} excluded, with the reason)' if excluded else ''}.\n\n"
            "| script | repository @ commit | license | environments | styles | result | seconds | "
            "first blocker |\n|---|---|---|---|---|---|---|---|\n")
    body = "".join(
        f"| `{r['id']}` (`{r['path']}`) | {r['repo']} @ {str(r['commit'])[:8]} | {r['license']} | "
        f"{', '.join(r.get('envs') or [])} | {', '.join(r.get('styles') or [])} | {r['result']} | {r['seconds']} | "
        f"{(r['blocker'] or '').replace('|', '/')} |\n" for r in rows)
    return head + body


def rebuild(manifest_path: Path, mirrors: Path, corpus: Path) -> int:
    """Lay the corpus out again from snapshots of its repositories (``MIRRORS/owner+name``, a
    git directory or a folder holding one at ``repo``/``repo/.git``): every file of every entry,
    byte for byte at its commit, at its local path; the manifest copied beside them."""
    manifest = json.loads(manifest_path.read_text())
    for e in manifest:
        base = mirrors / e["repo"].replace("/", "+")
        gitdir = next((d for d in (base / "repo" / ".git", base / "repo", base) if (d / "HEAD").exists()), None)
        if gitdir is None:
            print(f"{e['id']}: no snapshot of {e['repo']} under {base}", file=sys.stderr)
            return 1
        for f in e["files"]:
            data = subprocess.run(["git", "--git-dir", str(gitdir), "show", f"{e['commit']}:{f['repo_path']}"],
                                  capture_output=True, check=True).stdout
            dst = corpus / e["id"] / f["local"]
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_bytes(data)
        for d in e.get("mkdirs", []):
            (corpus / e["cwd"] / d).mkdir(parents=True, exist_ok=True)
    (corpus / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"{len(manifest)} scripts laid out in {corpus}")
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("corpus", type=Path)
    p.add_argument("--out", type=Path, default=ROOT / "results" / "legacy-survey")
    p.add_argument("--only", nargs="+", metavar="ID")
    p.add_argument("--cap", type=float, default=240.0, help="seconds per script (default 240)")
    p.add_argument("--steps", type=int, default=1_000_000, help="tfrepro legacy --steps (default 1000000)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--rebuild-from", type=Path, metavar="MIRRORS",
                   help="first lay CORPUS_DIR out from snapshots of the repositories in MIRRORS, by the "
                        "manifest given with --manifest (results/legacy-survey/manifest.json)")
    p.add_argument("--manifest", type=Path, default=ROOT / "results" / "legacy-survey" / "manifest.json")
    a = p.parse_args(argv)
    if a.rebuild_from:
        code = rebuild(a.manifest, a.rebuild_from, a.corpus)
        if code:
            return code
    manifest = json.loads((a.corpus / "manifest.json").read_text())
    if a.only:
        unknown = sorted(set(a.only) - {e["id"] for e in manifest})
        if unknown:
            p.error(f"--only: no script {', '.join(unknown)} in {a.corpus / 'manifest.json'}")
        manifest = [e for e in manifest if e["id"] in a.only]
    rows = [None] * len(manifest)

    def job(i):
        rows[i] = run_one(a.corpus, manifest[i], a.cap, a.steps)
        r = rows[i]
        print(f"[{sum(x is not None for x in rows)}/{len(rows)}] {r['id']}: {r['result']} in {r['seconds']} s"
              + (f" ({r['blocker']})" if r["blocker"] else ""), flush=True)

    with ThreadPoolExecutor(a.workers) as pool:
        list(pool.map(job, range(len(manifest))))
    sys.path.insert(0, str(ROOT))
    from tfrepro.infra.records import atomic_write_text

    a.out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(a.out / "survey.json", json.dumps(rows, indent=1) + "\n")
    atomic_write_text(a.out / "survey.md", markdown(rows))
    print(markdown(rows).splitlines()[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
