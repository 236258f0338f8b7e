"""What this package wrote, so that it never replaces or writes into anything else.

A file is *ours* when

- it carries the package's mark: a JSON document whose ``schema`` starts with ``tfrepro.``
  (result records, bench files, summaries, comparisons), or
- its folder's manifest (``.tfrepro-written.json``) lists its name with its SHA-256: the file is
  byte for byte as the package left it (a PNG, a table, a page, a checkpoint, a log).

A folder is ours when it holds such a manifest, or a ``summary.json`` of ours (folders written
before manifests). Every file the package writes goes through ``guard`` before it lands and
``note`` after (``records.atomic_write_bytes`` and ``atomic_save`` do both; files that a library
writes, a TF1 checkpoint or a run's log, call them around it). ``guard`` is the last check, made at
the rename itself: a file that appears while a long command runs is not replaced either.

``--force`` is ``allow(path)`` (one file) or ``allow_tree(folder)``; the allowance passes to the
command's worker processes through the environment (``TFREPRO_ALLOW``).

Python 3.7-safe: the TF 1.15 image imports it.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import tempfile
from pathlib import Path

from ..core.errors import UsageError

MANIFEST = ".tfrepro-written.json"
SCHEMA = "tfrepro.written/1"
MAX_JSON_BYTES = 256 * 2**20  # a JSON file larger than this is no file of the package's
ALLOW_ENV = "TFREPRO_ALLOW"


def _abs(path) -> str:
    return os.path.abspath(os.fspath(path))


# --force -----------------------------------------------------------------------------------
def allow(path) -> None:
    """``--force`` for ``path``: it may be replaced whatever it is (and in worker processes)."""
    _add_allowed(_abs(path))


def allow_tree(folder) -> None:
    """``--force`` for everything in ``folder``."""
    _add_allowed(_abs(folder) + os.sep)


def _add_allowed(entry: str) -> None:
    have = os.environ.get(ALLOW_ENV, "")
    if entry not in have.split(os.pathsep):
        os.environ[ALLOW_ENV] = os.pathsep.join(x for x in (have, entry) if x)


def allowed(path) -> bool:
    p = _abs(path)
    for entry in os.environ.get(ALLOW_ENV, "").split(os.pathsep):
        if entry and (p == entry or (entry.endswith(os.sep) and p.startswith(entry))):
            return True
    return False


# what is ours --------------------------------------------------------------------------------
def digest(path):
    """The SHA-256 of a regular file, or None (missing, unreadable, not a regular file)."""
    try:
        if not os.path.isfile(path) or os.path.islink(path):
            return None
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        return h.hexdigest()
    except OSError:
        return None


HTML_MARK = b'<meta name="generator" content="tfrepro '  # the pages of tools/report.py


def marked(path) -> bool:
    """Whether ``path`` carries the package's mark: a JSON document with a ``schema`` of this
    package, or a page with its generator tag near the top."""
    try:
        if not os.path.isfile(path) or os.path.islink(path) or os.path.getsize(path) > MAX_JSON_BYTES:
            return False
        if str(path).endswith((".html", ".htm")):
            with open(path, "rb") as f:
                return HTML_MARK in f.read(4096)
        with open(path, "rb") as f:
            if f.read(1).lstrip() not in (b"{", b""):
                return False
            f.seek(0)
            data = json.loads(f.read().decode("utf-8"))
    except (OSError, ValueError, RecursionError):  # ValueError: invalid JSON, UTF-8, a 5000-digit int
        return False
    return isinstance(data, dict) and str(data.get("schema", "")).startswith("tfrepro.")


def _manifest_data(folder):
    """The parsed manifest of ``folder`` if it is the package's (its schema), else None."""
    path = os.path.join(os.fspath(folder), MANIFEST)
    try:
        if not os.path.isfile(path) or os.path.islink(path) or os.path.getsize(path) > MAX_JSON_BYTES:
            return None
        with open(path, "rb") as f:
            data = json.loads(f.read().decode("utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) and data.get("schema") == SCHEMA else None


def manifest(folder) -> dict:
    """{name: sha256} of the files the package wrote in ``folder`` (empty when it holds no
    manifest, or one that is not the package's)."""
    data = _manifest_data(folder)
    if data is None or not isinstance(data.get("files"), dict):
        return {}
    return {k: v for k, v in data["files"].items() if isinstance(k, str) and isinstance(v, str)}


def listed(path) -> bool:
    """Whether ``path`` is in its folder's manifest, byte for byte as written."""
    p = Path(path)
    want = manifest(p.parent).get(p.name)
    return want is not None and want == digest(p)


def ours(path) -> bool:
    return listed(path) or marked(path)


def our_folder(folder) -> bool:
    """Whether ``folder`` is one the package wrote (a manifest of ours, or a summary of ours)."""
    return _manifest_data(folder) is not None or marked(Path(folder) / "summary.json")


def may_replace(path) -> bool:
    """A missing path, a file of ours or one ``--force`` allows."""
    return not os.path.lexists(path) or allowed(path) or (not os.path.islink(path) and ours(path))


def guard(path, flag=None) -> None:
    """Refuse (one UsageError) to replace ``path`` unless ``may_replace``."""
    if not may_replace(path):
        where = f"{flag} {path}" if flag else str(path)
        raise UsageError(f"{where}: exists and is not a file this package wrote; left as it is "
                         "(--force replaces it)")


# what a failed command leaves -------------------------------------------------------------------
_CREATED: list = []  # (kind, absolute path) this process created in the current command, in order


_ACTIVE: list = []


def begin() -> None:
    """A command starts: nothing created yet (only a command keeps this account)."""
    _CREATED.clear()
    _ACTIVE[:] = [True]


def end() -> None:
    """A command ended well: its outputs stay."""
    _CREATED.clear()
    _ACTIVE.clear()


def created(path, kind: str = "file") -> None:
    """``path`` did not exist before this command made it (a file: with its hash as written)."""
    if _ACTIVE:
        _CREATED.append((kind, os.path.abspath(os.fspath(path)), digest(path) if kind == "file" else None))


def missing_dirs(folder) -> list:
    """The directories, outermost first, that making ``folder`` will create."""
    out, p = [], Path(os.path.abspath(os.fspath(folder)))
    while not os.path.lexists(p):
        out.append(p)
        p = p.parent
    return out[::-1]


def rollback() -> None:
    """A command failed (an error, a full disk, Ctrl-C): remove the partial outputs it created,
    newest first: files still byte for byte as it wrote them (records, which carry the mark,
    stay: ``--resume`` continues from them), then the folders it made, where empty."""
    steps = list(reversed(_CREATED))
    for kind, p, written in steps:  # files first, then the manifests that listed them, then folders
        if kind == "file" and os.path.basename(p) != MANIFEST and written is not None and not marked(p) \
                and digest(p) == written:
            _unlink(p)
    for kind, p, _ in steps:
        folder = os.path.dirname(p)
        if kind == "file" and os.path.basename(p) == MANIFEST and os.path.isfile(p) and not any(
                os.path.lexists(os.path.join(folder, n)) for n in manifest(folder)):
            _unlink(p)
    for kind, p, _ in steps:
        if kind == "dir" and os.path.isdir(p) and not os.path.islink(p) and not os.listdir(p):
            try:
                os.rmdir(p)
            except OSError:
                pass
    end()


def _unlink(path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


# what the package writes ------------------------------------------------------------------
def note(*paths) -> None:
    """Add ``paths`` (just written) to their folders' manifests, under a lock on the folder so
    that worker processes writing side by side lose no entry. Files with the JSON mark need no
    entry and get none."""
    by_folder: dict = {}
    for p in paths:
        p = Path(p)
        if p.is_file() and not (p.suffix == ".json" and marked(p)):
            by_folder.setdefault(p.parent, []).append(p)
    for folder, files in by_folder.items():
        _update(folder, {p.name: digest(p) for p in files})


def mark_folder(folder) -> None:
    """Make ``folder`` ours (an empty manifest) where it holds none yet."""
    folder = Path(folder)
    for d in missing_dirs(folder):
        created(d, "dir")
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / MANIFEST).exists():
        _update(folder, {})


def _update(folder: Path, entries: dict) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        files = manifest(folder)
        files.update({k: v for k, v in entries.items() if v})
        text = json.dumps({"schema": SCHEMA, "note": "files tfrepro wrote here, with their SHA-256; "
                           "it replaces only these (or with --force)", "files": dict(sorted(files.items()))},
                          indent=1) + "\n"
        new = not os.path.lexists(folder / MANIFEST)
        tmp_fd, tmp = tempfile.mkstemp(prefix=MANIFEST + ".", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(tmp_fd, "w") as f:
                f.write(text)
            os.replace(tmp, folder / MANIFEST)
            if new:
                created(folder / MANIFEST)
        except OSError as e:  # a full disk, say: name the manifest, not the temporary file
            raise OSError(e.errno, e.strerror, str(folder / MANIFEST)) from None
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    finally:
        os.close(fd)  # releases the lock


def foreign(folder, limit: int = 3) -> list:
    """Up to ``limit`` names in ``folder`` (recursively) that are not the package's: neither
    marked nor listed in their own folder's manifest."""
    out = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            if name == MANIFEST or name.startswith(".") and name.endswith(".tmp"):
                continue
            p = Path(root) / name
            if not ours(p):
                out.append(str(p))
                if len(out) >= limit:
                    return out
    return out


def claim_folder(folder, flag: str, force: bool = False) -> Path:
    """Check an output folder before any work: a missing or empty folder, or one of ours, is
    fine; a folder holding files the package did not write is refused (one UsageError naming
    one of them) unless ``force``, which allows everything in it."""
    folder = Path(folder)
    if os.path.lexists(folder) and not folder.is_dir():
        raise UsageError(f"{flag} {folder}: exists and is not a directory")
    if force:
        allow_tree(folder)
        return folder
    if folder.is_dir() and not our_folder(folder):
        strangers = foreign(folder, limit=1)
        if strangers:
            raise UsageError(f"{flag} {folder}: holds files this package did not write (such as "
                             f"{os.path.relpath(strangers[0], folder)}); refusing to write into it "
                             f"(give a new or empty folder, or --force)")
    return folder
