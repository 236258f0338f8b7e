"""Output folders of the commands that write many runs (``reproduce``, ``diff --seeds``):
a user's run never writes over results already on disk without being asked."""
from __future__ import annotations

import time
from pathlib import Path

from ..core.errors import UsageError


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


def check_results_dir(path, flag="--out-dir", resume=False, force=False) -> Path:
    """Check an output folder before any run: a file is refused; a folder holding an earlier
    run's results needs ``--resume`` (reuse its runs) or ``--force`` (write over them)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UsageError(f"{flag} {path}: exists and is not a directory")
    if holds_results(path) and not (resume or force):
        raise UsageError(f"{flag} {path}: holds the results of an earlier run; --resume reuses its runs, "
                         f"--force writes over them, or give another {flag}")
    return path
