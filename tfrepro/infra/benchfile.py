"""The bench results file (schema ``tfrepro.bench/1``): reading and checking one, and the rows
that ``bench``, ``compare``, ``matrix`` and ``report`` show from it."""
from __future__ import annotations

from typing import Any

import math
import os
import re

from ..core.errors import UsageError
from .records import read_json

SCHEMA = "tfrepro.bench/1"


def _number(x, positive=False) -> bool:
    """A finite real number (not a bool, not NaN or infinity), above 0 if ``positive``."""
    ok = isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
    return ok and (x > 0 if positive else True)


def _int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _strings(x) -> bool:
    return isinstance(x, list) and all(isinstance(v, str) for v in x)


# meta and settings: the fields some reader uses, with the type it needs (all optional)
META: dict[str, Any] = {"machine": str, "cpu_model": str, "platform": str, "commit": str,
                        "environment": str, "started": str, "finished": str}
SETTINGS: dict[str, Any] = {
    "suite": str, "repeats": _int, "processes": _int,
    "seeds": lambda x: isinstance(x, list) and all(_int(v) and v >= 0 for v in x),
    "frameworks": _strings, "reward_modes": _strings, "speed": _strings,
    "reward": lambda x: isinstance(x, list) and all(
        isinstance(v, list) and len(v) == 2 and isinstance(v[0], str) and (v[1] is None or _int(v[1]))
        for v in x),
    "speed_iterations": lambda x: isinstance(x, dict) and all(_int(v) for v in x.values())}


NAME = re.compile(r"[A-Za-z0-9_.:() -]{1,80}")


def _check_entry(path, i, r):
    if not isinstance(r, dict) or r.get("kind") not in ("reward", "speed") or not isinstance(r.get("key"), str):
        raise UsageError(f"{path}: results[{i}] is not a reward or speed entry")
    where = f"{path}: results[{i}] ({r['key'][:80]})"
    need = ("eval_mean", "seed") if r["kind"] == "reward" else ("repeats", "steps_per_s_median")
    for k in need + ("program", "framework", "mode"):
        if k not in r:
            raise UsageError(f"{where} has no {k!r}")
    for k in ("program", "framework", "mode"):
        if not isinstance(r[k], str):
            raise UsageError(f"{where}: {k} is not a string")
        if not NAME.fullmatch(r[k]):  # it lands in table cells and file names: one short printable token
            raise UsageError(f"{where}: {k} {r[k][:40]!r} is not a name (letters, digits, '-', '_', ':', "
                             "'.', spaces; at most 80)")
    if r["kind"] == "reward":
        if not (_int(r["seed"]) and r["seed"] >= 0):
            raise UsageError(f"{where}: seed is not an integer >= 0")
        if not _number(r["eval_mean"]):
            raise UsageError(f"{where}: eval_mean is not a finite number")
        if r.get("iterations") is not None and not _int(r["iterations"]):
            raise UsageError(f"{where}: iterations is not an integer")
        return
    if not (isinstance(r["repeats"], list) and r["repeats"] and all(
            isinstance(x, dict) and _number(x.get("steps_per_s"), positive=True) for x in r["repeats"])):
        raise UsageError(f"{where}: repeats must be a list of timings with positive steps_per_s")
    if not all(_int(x.get("process", 0)) and 0 <= x.get("process", 0) < 1000 for x in r["repeats"]):
        raise UsageError(f"{where}: a repeat's process is not a process number (0 to 999)")
    if not all(x.get("machine_per_s") is None or _number(x["machine_per_s"], positive=True) for x in r["repeats"]):
        raise UsageError(f"{where}: a repeat's machine_per_s (the yardstick) is not a positive number")
    for k in ("steps_per_s_median", "steps_per_s_min", "steps_per_s_max"):
        if k in r and not _number(r[k], positive=True):
            raise UsageError(f"{where}: {k} is not a positive number")


def load_results(path) -> dict:
    """Read and check a results file; every problem is one UsageError naming the file. Every
    field that ``compare``, ``matrix``, ``bench --resume`` or a table reads is checked for the
    type it needs; rewards and speeds must be finite numbers (NaN, infinity and booleans are
    refused, not compared)."""
    if not os.path.lexists(path):
        raise UsageError(f"{path}: no such file (tfrepro bench writes results files; its --out names one)")
    data = read_json(path)
    if not isinstance(data, dict):
        raise UsageError(f"{path}: not a bench results file (expected a JSON object)")
    if data.get("schema") != SCHEMA:
        raise UsageError(f"{path}: schema {str(data.get('schema'))[:80]!r}, expected {SCHEMA!r}")
    for key, typ in (("meta", dict), ("settings", dict), ("results", list)):
        if not isinstance(data.get(key), typ):
            raise UsageError(f"{path}: field {key!r} missing or not a {typ.__name__}")
    for part, spec in (("meta", META), ("settings", SETTINGS)):
        for k, typ in spec.items():
            v = data[part].get(k)
            if k in data[part] and not (isinstance(v, typ) if isinstance(typ, type) else typ(v)):
                raise UsageError(f"{path}: {part}.{k} has the wrong type ({type(v).__name__})")
            if isinstance(v, str) and not (v.isprintable() and len(v) <= 200):  # it lands in labels and tables
                raise UsageError(f"{path}: {part}.{k} is not one printable line of at most 200 characters")
    vers = data["meta"].get("versions", {})
    if not (isinstance(vers, dict) and all(isinstance(v, str) for v in vers.values())):
        raise UsageError(f"{path}: meta.versions must map names to version strings")
    seen: dict = {}
    rows: dict = {}
    for i, r in enumerate(data["results"]):
        _check_entry(path, i, r)
        if r["key"] in seen:
            raise UsageError(f"{path}: results[{i}] repeats the key of results[{seen[r['key']]}] ({r['key'][:80]})")
        seen[r["key"]] = i
        row = (r["program"], r["framework"], r["mode"], r["kind"])
        rows[row] = rows.get(row, 0) + 1
        if r["kind"] == "reward" and rows[row] > MAX_SEEDS:
            raise UsageError(f"{path}: more than {MAX_SEEDS} seeds in the row {' '.join(row[:3])[:80]}: not a "
                             "results file of this package (bench takes at most that many)")
        if r["kind"] == "speed" and len(r["repeats"]) > MAX_REPEATS:
            raise UsageError(f"{where_of(path, i, r)}: more than {MAX_REPEATS} repeats: not a results file of "
                             "this package")
    return data


MAX_SEEDS = 10_000  # as the command line takes them (argtypes)
MAX_REPEATS = 1_000


def where_of(path, i, r) -> str:
    return f"{path}: results[{i}] ({r['key'][:80]})"


def row_program(result) -> str:
    """The program column of a result: NAME[:VARIANT], with the iterations when shortened."""
    its = result.get("iterations") if result["kind"] == "reward" else None
    return result["program"] + (f" ({its} it)" if its else "")


def summary_table(data) -> str:
    """A short table of one results file."""
    from ..core.stats import median_iqr

    rows = ["| program | framework | mode | reward median [IQR] (seeds) | steps/s median [min, max] |",
            "|---|---|---|---|---|"]
    groups: dict = {}
    for r in data["results"]:
        groups.setdefault((row_program(r), r["framework"], r["mode"]), []).append(r)
    for (p, fw, mode), rs in sorted(groups.items()):
        rew = [r["eval_mean"] for r in rs if r["kind"] == "reward"]
        sp = [r for r in rs if r["kind"] == "speed"]
        rc = (lambda m: f"{m[0]:.1f} [{m[1]:.1f}, {m[2]:.1f}] ({len(rew)})")(median_iqr(rew)) if rew else "–"
        sc = (f"{sp[0]['steps_per_s_median']:.0f} [{sp[0]['steps_per_s_min']:.0f}, "
              f"{sp[0]['steps_per_s_max']:.0f}]") if sp else "–"
        rows.append(f"| {p} | {fw} | {mode} | {rc} | {sc} |")
    return "\n".join(rows)


def groups(data):
    out = {}
    for r in data["results"]:
        g = out.setdefault((row_program(r), r["framework"], r["mode"]), {"reward": [], "speed": None})
        if r["kind"] == "reward":
            g["reward"].append((r["seed"], r["eval_mean"]))
        else:
            g["speed"] = [s["steps_per_s"] for s in r["repeats"]]
            procs = {}  # per process (a file of one process per job: its repeats are one)
            for s in r["repeats"]:
                procs.setdefault(s.get("process", 0), []).append(s["steps_per_s"])
            g["speed_processes"] = [procs[k] for k in sorted(procs)]
            if all(s.get("machine_per_s") is not None for s in r["repeats"]):  # the yardstick, per process
                machine = {}
                for s in r["repeats"]:
                    machine.setdefault(s.get("process", 0), []).append(s["machine_per_s"])
                g["speed_machine"] = [machine[k] for k in sorted(machine)]
            g["speed_short"] = r.get("below_floor_s") is not None
    return out
