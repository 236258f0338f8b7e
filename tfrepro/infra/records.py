"""Result records: one JSON document per run, with a versioned schema, written atomically."""
from __future__ import annotations

import io
import json
import math
import os
import platform
import sys
import tempfile
from pathlib import Path
from typing import Any

from ..core.errors import UsageError
from ..core.protocol import RECORD_SCHEMA
from . import provenance

SCHEMA = RECORD_SCHEMA  # the fields: tfrepro.core.protocol.RunRecord
REQUIRED: dict[str, Any] = {
    "schema": str, "program": str, "framework": str, "mode": str, "seed": int, "env_id": str,
    "eval_returns": list, "eval_mean": (int, float), "train_returns": list, "env_steps": int,
    "wall_s": (int, float), "versions": dict,
}


def dist_version(name):
    """An installed distribution's version, or None (importlib.metadata; pkg_resources on
    Python 3.7, which the TF 1.15 image runs)."""
    try:
        from importlib import metadata  # novermin (3.8+; the except branch serves 3.7)
    except ImportError:
        import pkg_resources

        try:
            return pkg_resources.get_distribution(name).version
        except pkg_resources.DistributionNotFound:
            return None
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def versions() -> dict:
    """Versions of everything that can change a number."""
    out = {"python": platform.python_version()}
    for dist in ("tensorflow", "keras", "tf-keras", "numpy", "gymnasium", "gym"):
        v = dist_version(dist) or (dist_version("tensorflow-cpu") if dist == "tensorflow" else None)
        if v:
            out[dist.replace("-", "_")] = v
    # TensorFlow's threads per process (the package's policy: tfrepro/__init__.py): a run's
    # numbers depend on it
    out["tf_threads"] = "/".join(os.environ.get(v, "default") for v in ("TF_NUM_INTRAOP_THREADS",
                                                                        "TF_NUM_INTEROP_THREADS"))
    onednn = onednn_state()
    if onednn:
        out["onednn"] = onednn
    return out


def cpu_model() -> str:
    """The CPU's model name: per-seed numbers carry only between like CPUs (their kernels round
    differently), so records name it."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def onednn_state():
    """"on" or "off": whether TensorFlow runs its oneDNN kernels in this process (None when
    TensorFlow is not loaded). TensorFlow turns them on by default on some CPUs only (with
    AVX-512, say) unless ``TF_ENABLE_ONEDNN_OPTS`` says otherwise, and they round differently:
    the same seed and versions give another run where this differs."""
    if "tensorflow" not in sys.modules:
        return None
    try:
        from tensorflow.python.util import _pywrap_util_port as port  # TensorFlow 2
    except ImportError:
        try:
            from tensorflow.python import pywrap_tensorflow as port  # TensorFlow 1.15
        except ImportError:
            return None
    try:
        return "on" if port.IsMklEnabled() else "off"
    except Exception:  # noqa: BLE001 - a probe only: an API that moved leaves the key out
        return None


def _default_mode() -> int:
    """0666 less the process's umask: the mode a plain ``open(path, "w")`` gives a new file."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write_text(path, text: str, note: bool = True, guarded: bool = True) -> None:
    atomic_write_bytes(path, text.encode(), note, guarded)


def atomic_write_bytes(path, data: bytes, note: bool = True, guarded: bool = True) -> None:
    """Write to a temporary file beside ``path`` and rename it over: readers see the
    old file or the new one, never half of one. A file there that the package did not write is
    left as it is (``provenance.guard``, checked again at the rename); the new file is noted in
    its folder's manifest (unless ``note`` is False: source files that ``tfrepro new`` hands over
    to the user, who owns them from then on). ``guarded`` False: a file a legacy script asked for
    (gym's ``Monitor`` files in its own folder), the script's business, as under gym."""
    path = Path(path)
    if guarded:
        provenance.guard(path)
    new = not os.path.lexists(path)
    for d in provenance.missing_dirs(path.parent):
        provenance.created(d, "dir")
    path.parent.mkdir(parents=True, exist_ok=True)
    # the temporary name: a short stem of the target's, so that any legal name (255 bytes) works
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:40]}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, _default_mode())  # as open() would create it, not mkstemp's 0600
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if guarded:
            provenance.guard(path)  # again: a file may have appeared while the command ran
        os.replace(tmp, path)
        if new:
            provenance.created(path)
        if note:
            provenance.note(path)
    except BaseException as e:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(e, OSError):  # a full disk, say: name the user's file, not the temporary one
            raise OSError(e.errno, e.strerror, str(path)) from None
        raise


def atomic_save(path, save, ours: bool = True) -> str:
    """``save(tmp_path)`` writes a file (a model) beside ``path`` under a temporary name
    with the same suffix, which is then renamed over ``path`` (guarded and noted unless not
    ``ours``: a file a legacy script asked for)."""
    path = Path(path)
    if ours:
        provenance.guard(path)
    new = not os.path.lexists(path)
    for d in provenance.missing_dirs(path.parent):
        provenance.created(d, "dir")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem[:40]}.", suffix=path.suffix[:16], dir=path.parent)
    os.fchmod(fd, _default_mode())
    os.close(fd)
    try:
        save(tmp)
        if ours:
            provenance.guard(path)
        os.replace(tmp, path)
        if ours:
            if new:
                provenance.created(path)
            provenance.note(path)
    except OSError as e:  # name the user's file, not the temporary one
        raise OSError(e.errno, e.strerror, str(path)) from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return str(path)


def plain(x):
    """``x`` with NumPy values as Python ones and non-finite floats as None (null), so that
    what this package writes is strict JSON that any reader takes."""
    if isinstance(x, dict):
        return {str(k): plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [plain(v) for v in x]
    if hasattr(x, "tolist"):  # NumPy arrays and scalars
        return plain(x.tolist())
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def dumps(obj, **kw) -> str:
    """Strict JSON (``allow_nan=False`` after ``plain``) for every file this package writes."""
    return json.dumps(plain(obj), allow_nan=False, **kw)


def write_record(path, record: dict) -> None:
    validate(record, str(path))
    atomic_write_text(path, dumps(record, indent=1) + "\n")


def validate(record, where: str = "record") -> dict:
    """``record`` if it is a result record of this schema, else one UsageError naming what is
    wrong: a missing field, a wrong type (booleans are not numbers), a non-finite reward."""
    if not isinstance(record, dict):
        raise UsageError(f"{where}: not a result record (expected a JSON object)")
    if record.get("schema") != SCHEMA:
        raise UsageError(f"{where}: schema {str(record.get('schema'))[:80]!r}, expected {SCHEMA!r}")
    for key, typ in REQUIRED.items():
        if key not in record:
            raise UsageError(f"{where}: missing field {key!r}")
        if not isinstance(record[key], typ) or isinstance(record[key], bool):
            raise UsageError(f"{where}: field {key!r} has type {type(record[key]).__name__}")
    if record["seed"] < 0:
        raise UsageError(f"{where}: field 'seed' is negative")
    for key in ("eval_returns", "train_returns"):
        if not all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
                   for x in record[key]):
            raise UsageError(f"{where}: field {key!r} holds something other than finite numbers")
    if not math.isfinite(record["eval_mean"]):
        raise UsageError(f"{where}: field 'eval_mean' is not finite")
    return record


def read_json(path):
    """A JSON file's content; unreadable, oversized, non-UTF-8 or invalid (e.g. truncated)
    files are one UsageError naming the file."""
    if os.path.exists(path) and not os.path.isfile(path):  # a FIFO would block the read for ever
        what = "a directory" if os.path.isdir(path) else "a pipe, device or socket"
        raise UsageError(f"{path}: not a regular file ({what})")
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_OURS_BYTES + 1)
    except OSError as e:
        raise UsageError(f"{path}: cannot read ({e.strerror})") from None
    if len(data) > MAX_OURS_BYTES:
        raise UsageError(f"{path}: larger than {MAX_OURS_BYTES >> 20} MB, not a file of this package")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise UsageError(f"{path}: not UTF-8 text (byte {e.start}), not a JSON file") from None
    try:
        data = json.loads(text, parse_int=_parse_int, parse_constant=_Odd)
    except json.JSONDecodeError as e:
        raise UsageError(f"{path}: not valid JSON, truncated? ({e.msg} at line {e.lineno})") from None
    except RecursionError:
        raise UsageError(f"{path}: JSON nested too deeply to be a file of this package") from None
    bad = out_of_bounds(data)
    if bad:
        raise UsageError(f"{path}: {bad}")
    return data


MAX_NUMBER = 1e15  # no count, time, reward or rate the package writes comes near it
MAX_DEPTH = 64


class _Odd(str):
    """A number no file of the package holds (NaN, Infinity, an integer of 5,000 digits):
    kept as its text until ``out_of_bounds`` names where it is."""


def _parse_int(s: str):
    return int(s) if len(s) <= 19 else _Odd(s)


def out_of_bounds(data):
    """None, or what in ``data`` no file of the package holds, with where it is: a number that is
    not finite or beyond ``MAX_NUMBER`` in size, nesting deeper than ``MAX_DEPTH``. Every JSON
    file the package reads passes here first (``read_json``), whatever its schema says next."""
    stack = [(data, "", 0)]
    while stack:
        x, where, depth = stack.pop()
        if depth > MAX_DEPTH:
            return f"nested deeper than {MAX_DEPTH} levels ({where[:40]}...): not a file of this package"
        if isinstance(x, dict):
            stack.extend((v, f"{where}.{k}" if where else str(k), depth + 1) for k, v in x.items())
        elif isinstance(x, list):
            stack.extend((v, f"{where}[{i}]", depth + 1) for i, v in enumerate(x))
        elif isinstance(x, _Odd) or (isinstance(x, (int, float)) and not isinstance(x, bool)
                                     and not (math.isfinite(x) and abs(x) <= MAX_NUMBER)):
            where = "".join(c if c.isprintable() else repr(c)[1:-1] for c in where[:120])  # keys: the file's text
            return f"field {where or 'at the top'} holds {str(x)[:24]}{'...' if len(str(x)) > 24 else ''}: " \
                   f"a number no file of this package holds (finite, at most {MAX_NUMBER:.0e} in size)"
    return None


def save_figure(fig, path) -> str:
    """A matplotlib figure as PNG, written atomically; the figure is closed."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())
    return path


def is_ours(path) -> bool:
    """Whether this package wrote ``path`` (its JSON mark, or its folder's manifest): ``provenance.ours``."""
    return provenance.ours(path)


MAX_OURS_BYTES = 256 * 2**20


IMAGE_MAGIC = {"png": (b"\x89PNG",), "gif": (b"GIF87a", b"GIF89a", b"\x89PNG")}


def is_image(path, kind: str) -> bool:
    """Whether ``path`` starts as an image of ``kind`` this package writes (``IMAGE_MAGIC``)."""
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError:
        return False
    return head.startswith(IMAGE_MAGIC[kind])


def _missing_directories(directory: Path, where: str) -> list[str]:
    """The directories, outermost first, that writing into ``directory`` will create; refused
    as one UsageError when the nearest existing one is not a directory or cannot be written, or
    the first missing one cannot be made there (probed: made and removed again)."""
    created, parent = [], directory
    while not parent.exists():
        created.append(str(parent))
        parent = parent.parent
    if not parent.is_dir():
        raise UsageError(f"{where}: {parent} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"{where}: cannot write in {parent} (permission denied)")
    if created:
        try:
            os.mkdir(created[-1])
            os.rmdir(created[-1])
        except OSError as e:
            raise UsageError(f"{where}: cannot create {created[-1]} ({e.strerror})") from None
    return created[::-1]


def check_output_dir(path, flag) -> tuple[Path, list[str]]:
    """Check an output directory before any work starts: (the path, the directories that
    writing into it will create). Refused, as one UsageError naming the user's path: a file
    (or anything else that is not a directory), or a place that cannot be written."""
    p = Path(path)
    where = f"{flag} {path}"
    if str(path) == "":
        raise UsageError(f"{flag}: give a directory")
    if p.exists() and not p.is_dir():
        raise UsageError(f"{where}: exists and is not a directory")
    return p, _missing_directories(p, where)


def check_output(path, flag="--out", force=False, ours=None) -> tuple[Path, list[str]]:
    """Check an output file path before any work starts: (the path, the directories that
    writing it will create). Refused, as one UsageError naming the user's path: a directory,
    anything that is not a regular file (a device, a pipe, a socket), a symbolic link or a
    file that this package did not write (both unless ``force``), a parent that is a file or
    that cannot be written. A missing parent directory is created when the file is written,
    and the caller says so."""
    p = Path(path)
    where = f"{flag} {path}"
    if str(path) in ("", "."):
        raise UsageError(f"{flag}: give a file name")
    if len(p.name.encode()) > 255:
        raise UsageError(f"{where}: file name too long ({len(p.name.encode())} bytes; at most 255)")
    if p.is_symlink() and not force:
        raise UsageError(f"{where}: is a symbolic link; refusing to replace it (--force replaces the link)")
    if p.exists():
        if p.is_dir():
            raise UsageError(f"{where}: is a directory")
        if not p.is_file():
            raise UsageError(f"{where}: is not a regular file (a device, pipe or socket); "
                             "refusing to replace it")
        if not force and not (ours or is_ours)(p):
            raise UsageError(f"{where}: exists and is not a file this package wrote; refusing to "
                             "replace it (--force replaces it)")
    if force:
        provenance.allow(p)
    return p, _missing_directories(p.parent, where)


def read_record(path) -> dict:
    if not os.path.lexists(path):
        raise UsageError(f"{path}: no such file (tfrepro run PROGRAM --out FILE writes a result record)")
    return validate(read_json(path), str(path))
