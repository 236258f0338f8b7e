"""Output folders of the commands that write many runs (``reproduce``, ``diff --seeds``):
a user's run never writes over results already on disk without being asked."""
from __future__ import annotations

import time
from pathlib import Path

from ..core.errors import UsageError
from . import provenance


def fresh(base: str) -> Path:
    """The default output folder of a run: ``base-YYYYmmdd-HHMMSS`` (a new folder, so that a
    run never lands on committed or earlier results), with a counter if that exists."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path, n = Path(f"{base}-{stamp}"), 1
    while path.exists():
        n += 1
        path = Path(f"{base}-{stamp}-{n}")
    return path


def holds_results(path: Path) -> bool:
    """Whether ``path`` holds output of an earlier run (records, a summary, curves)."""
    path = Path(path)
    return path.is_dir() and (any((path / "runs").glob("*.json")) or any(
        (path / n).exists() for n in ("summary.json", "table.md", "curves.png")))


def check_results_dir(path, flag="--out-dir", resume=False, force=False, names=()) -> Path:
    """Check an output folder before any run: a file is refused; a folder holding files this
    package did not write is refused (``provenance.claim_folder``); one holding an earlier run's
    results of ours needs ``--resume`` (reuse its runs) or ``--force`` (write over them). ``names``:
    the files the command writes there, each checked now (a file of the user's of that name is
    refused here rather than after the work)."""
    path = provenance.claim_folder(path, flag, force)
    if holds_results(path) and not (resume or force):
        raise UsageError(f"{flag} {path}: holds the results of an earlier run; --resume reuses its runs, "
                         f"--force writes over them, or give another {flag}")
    check_names(path, names, flag)
    return path


def check_out_dir(path, flag="--out-dir", force=False, names=()) -> Path:
    """Check a folder a command writes files into (no runs to resume): missing, empty or ours
    (``provenance.claim_folder``), and each of ``names`` absent or ours."""
    path = provenance.claim_folder(path, flag, force)
    check_names(path, names, flag)
    return path


def check_names(folder: Path, names, flag) -> None:
    """Each of ``names`` (file names, or glob patterns such as ``figure-*.png``) in ``folder``
    absent or ours."""
    for name in names:
        for path in (sorted(folder.glob(name)) if any(c in name for c in "*?[") else [folder / name]):
            provenance.guard(path, flag)
