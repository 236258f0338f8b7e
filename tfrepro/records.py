"""Result records: one JSON document per run, with a versioned schema, written atomically."""
from __future__ import annotations

import json
import math
import os
import platform
import tempfile
from pathlib import Path

from .errors import UsageError

SCHEMA = "tfrepro.result/1"
REQUIRED = {
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
    return out


def atomic_write_text(path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def atomic_write_bytes(path, data: bytes) -> None:
    """Write to a temporary file beside ``path`` and rename it over: readers see the
    old file or the new one, never half of one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_save(path, save) -> str:
    """``save(tmp_path)`` writes a file (a model) beside ``path`` under a temporary name
    with the same suffix, which is then renamed over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        save(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return str(path)


def _clean(x):
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if hasattr(x, "tolist"):
        return x.tolist()
    return x


def write_record(path, record: dict) -> None:
    validate(record, str(path))
    atomic_write_text(path, json.dumps(record, indent=1, default=_clean) + "\n")


def validate(record, where: str = "record") -> dict:
    if not isinstance(record, dict):
        raise UsageError(f"{where}: not a result record (expected a JSON object)")
    if record.get("schema") != SCHEMA:
        raise UsageError(f"{where}: schema {record.get('schema')!r}, expected {SCHEMA!r}")
    for key, typ in REQUIRED.items():
        if key not in record:
            raise UsageError(f"{where}: missing field {key!r}")
        if not isinstance(record[key], typ) or isinstance(record[key], bool) and typ is int:
            raise UsageError(f"{where}: field {key!r} has type {type(record[key]).__name__}")
    return record


def read_json(path):
    """A JSON file's content; unreadable or invalid (e.g. truncated) files are one
    UsageError naming the file."""
    try:
        text = Path(path).read_text()
    except OSError as e:
        raise UsageError(f"{path}: cannot read ({e.strerror})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise UsageError(f"{path}: not valid JSON, truncated? ({e.msg} at line {e.lineno})") from None


def save_figure(fig, path) -> str:
    """A matplotlib figure as PNG, written atomically; the figure is closed."""
    import io

    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())
    return path


def read_record(path) -> dict:
    return validate(read_json(path), str(path))
