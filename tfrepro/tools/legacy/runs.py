"""``tfrepro legacy --seeds A..B SCRIPT``: a TF1-era script run once per seed, each run a record of
its episodes captured at the environment (``capture``), and, with ``--against PORT.py``, the
user's own TF2 port run beside it on the same seeds, with a verdict.

* Each run is a fresh process (``--workers`` at a time) in a fresh copy of the script's folder
  (what a run writes, checkpoints and logs, never meets another run's), removed afterwards.
* ``--seed k`` seeds Python, NumPy, TensorFlow and every environment as a single run does; the
  script's own constant seeds (``np.random.seed(1)``, ``env.seed(1)``, ``tf.set_random_seed(1)``,
  ``reset(seed=1)`` in a port) move by the run's seed: ``s + 1000003 k`` (seed 0 keeps the
  script's own), so that runs differ. The report of each run lists them.
* The outcome of a run, declared before the runs: the mean return over the last 10% of its
  episodes (``--outcome last10``; ``mean`` for all episodes; ``lastN`` for the last N), each
  episode's return counted within the time limit its environment is registered with (the scale
  the margin is declared on: an episode of ``env.unwrapped`` that runs past CartPole-v0's 200
  steps counts 200), ``episode_returns``.
* The margin, declared before the runs: ``--margin POINTS``, else 5% of the environment's
  ``reward_threshold`` (gym's "solved": 9.75 on CartPole-v0, 23.75 on CartPole-v1), the smallest
  difference a reader who cares whether it solves would notice. An environment without a
  threshold needs ``--margin``.
* The verdict (``tfrepro.core.verdicts.compare_paired``: TOST at alpha 0.05 on the per-seed
  differences, the runs paired by seed, since both sides of a seed share its seeds and, against
  TF 1.15, its environment starts and initial values): one of ``equivalent`` / ``better`` /
  ``worse`` / ``inconclusive`` for PORT - SCRIPT, with the seeds an ``inconclusive`` needs; the
  speed ratio is environment steps per second, the medians of the two sides' runs side by side
  in one invocation.

``OUT/runs/<side>-seed<k>.json`` (one per run), ``summary.json``, ``table.md``, ``curves.png``
and ``index.html``; an ``OUT`` holding an earlier run's results needs ``--resume`` (its valid
runs are kept) or ``--force``.
"""
from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ...core.errors import UsageError
from ...infra import provenance
from ...infra.pool import backend
from .capture import CAPTURE_SCHEMA
from .table import PARTED, table_markdown  # noqa: F401 (public here too)

MAX_COPY_BYTES = 500 << 20
SIDES = ("legacy", "port")


def parse_seeds(text: str) -> list:
    """``A..B``, ``A-B``, ``N`` (0..N-1) and commas between them: at most 10,000 seeds, each
    below 2**31 (checked before any list is made: ``--seeds 10**12`` is one line, not memory)."""
    seeds: list = []
    limit, top = 10_000, 2 ** 31
    bad = ValueError(f"{text[:40]!r}: seeds must be below 2**31, at most {limit} of them")
    for part in text.split(","):
        part = part.strip()
        if len(part) > 24:
            raise bad
        for sep in ("..", "-"):
            if sep in part:
                a, _, b = part.partition(sep)
                if not (a.isdigit() and b.isdigit()) or int(b) < int(a):
                    raise ValueError(f"{part!r}: expected A..B with A <= B")
                if int(b) >= top or int(b) - int(a) + 1 > limit:
                    raise bad
                seeds += range(int(a), int(b) + 1)
                break
        else:
            if not part.isdigit():
                raise ValueError(f"{part[:40]!r}: expected a seed, A..B or a count")
            if int(part) > (limit if len(text.split(",")) == 1 else top - 1):
                raise bad
            seeds += range(int(part)) if len(text.split(",")) == 1 else [int(part)]
        if len(seeds) > limit:
            raise bad
    if not seeds:
        raise ValueError(f"{text[:40]!r}: no seeds")
    return sorted(set(seeds))


def episode_returns(doc) -> list:
    """A run's episode returns as its outcome counts them: each within the time limit its environment
    is registered with (``returns_within_limit``), the scale the default margin is declared on (5% of
    the registered ``reward_threshold``); the same as ``returns`` unless the script played an
    environment without its limit (``env.unwrapped``), whose episodes can run to tens of thousands
    of steps. Captures without it (written before it was recorded): ``returns``."""
    limited = doc.get("returns_within_limit")
    if isinstance(limited, list) and len(limited) == len(doc["returns"]):
        return limited
    return doc["returns"]


def outcome(returns, kind: str = "last10"):
    """A run's outcome (its episodes' returns in order), or None without episodes."""
    r = [x for x in returns if x is not None and math.isfinite(x)]
    if not r:
        return None
    if kind == "mean":
        return float(np.mean(r))
    n = max(1, math.ceil(0.1 * len(r))) if kind == "last10" else int(kind[4:])
    return float(np.mean(r[-n:]))


def _real(path) -> Path:
    """``Path.resolve()`` that never raises (a symbolic link loop stays as it is)."""
    return Path(os.path.realpath(path))


def _folder_bytes(folder: Path, skip=()) -> int:
    total = 0
    skip = {_real(x) for x in (*skip, tempfile.gettempdir())}  # the temporary folder is never copied
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if _real(Path(root) / d) not in skip]
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_size
            except OSError:
                pass
            if total > MAX_COPY_BYTES:
                return total
    return total


def guarded(body: str) -> str:
    """A boot's ``python -c`` program: ``body`` sets ``code`` (importing the boot and running the
    script); a Ctrl-C before the script runs or after it ended (the boot's own imports, its
    report), where the boot's handler does not reach, is a quiet exit 130 too, never a traceback.
    Python 2.7-safe (the TF 1.15 side of a Python 2 script)."""
    lines = ["    " + line for line in body.split("; ")]
    return "\n".join(["import sys",
                      # ``python -c`` puts the working folder (the script's) first on sys.path, where
                      # ``python script.py`` puts the script's folder once it runs it: a module of the
                      # script's named like one the boot imports (``imp.py``, ``signal.py``) would be
                      # taken for it. The boot adds the script's folder itself, after its own imports
                      "sys.path[:] = [p for p in sys.path if p not in ('', '.')]",
                      # the modules an interpreter has before it runs a script: any other the boot
                      # imports that the script's folder also has is the script's once it runs
                      "STARTUP = set(sys.modules)",
                      "import os, signal",
                      # started with Ctrl-C ignored (the interpreter's own start-up cannot take one): taken
                      # back from here on, when the command asked (RESTORE_SIGINT)
                      # (a Ctrl-C inside a C extension's import, numpy's, comes out as an ImportError
                      # of its own: the handler notes each one, and any error after it is the interrupt)
                      "HIT = []",
                      "def hit(signum, frame):",
                      "    HIT.append(signum)",
                      "    raise KeyboardInterrupt",
                      "if os.environ.pop(%r, None):" % RESTORE_SIGINT,
                      "    signal.signal(signal.SIGINT, hit)",
                      "try:", *lines, "except SystemExit:", "    raise",
                      "except BaseException as e:",
                      "    if not (HIT or isinstance(e, KeyboardInterrupt)):", "        raise",
                      "    sys.stdout.flush()", "    code = 130", "sys.exit(code)"])


RESTORE_SIGINT = "TFREPRO_RESTORE_SIGINT"


LEGACY_BOOT = guarded("import tfrepro.tools.legacy.boot as b; code = b.main()")
BOOTS = {"legacy": LEGACY_BOOT,  # a side's boot unless it brings its own (Python 2.7, another release)
         "tf1.15": guarded("import tfrepro.tools.legacy.capture115 as c; code = c.main()"),
         "port": guarded("import tfrepro.tools.legacy.capture as c; code = c.port_main()")}


def _boot_cmd(side, opts, script, args, python=None, boot=None):
    boot = boot or BOOTS[side]
    return [python or sys.executable, "-c", boot, "--options", json.dumps(opts), script, *args]


def snapshot(folder: Path, dest: Path, skip=()) -> None:
    """Copy ``folder`` to ``dest`` as it is now, leaving out ``skip`` (resolved paths: the results folder when
    it lies inside the script's), ``__pycache__`` and ``.git``. A file that vanishes while it is copied (another
    process's temporary file) is left out rather than failing the run: every seed then starts from this one
    copy, whatever else writes beside the script."""
    # the copy itself and the temporary folder are never copied into it (a script's folder may hold both)
    skip = {_real(x) for x in (*skip, dest, tempfile.gettempdir())}
    for root, dirs, files in os.walk(folder):
        here = Path(root)
        rel = here.relative_to(folder)
        dirs[:] = [d for d in dirs if d not in ("__pycache__", ".git") and _real(here / d) not in skip]
        (dest / rel).mkdir(parents=True, exist_ok=True)
        for name in files:
            src, dst = here / name, dest / rel / name
            try:
                if src.is_symlink():
                    os.symlink(os.readlink(src), dst)
                else:
                    shutil.copy2(src, dst)
            except FileNotFoundError:
                continue


def run_one(side, script: Path, args, seed, capture: Path, stops: dict, env: dict, log: Path, python=None,
            source: Path | None = None, boot=None):
    """One run in a fresh copy of the script's folder (of ``source``, its snapshot, where given)."""
    with tempfile.TemporaryDirectory(prefix="tfrepro-legacy-") as tmp:
        work = Path(tmp) / script.parent.name
        if source is not None:
            shutil.copytree(source, work, symlinks=True, ignore=shutil.ignore_patterns("__pycache__", ".git"))
        else:
            snapshot(script.parent, work)
        opts = dict(stops, seed=seed, capture=str(capture), vary=True)
        cmd = _boot_cmd(side, opts, str(work / script.name), args, python, boot)
        enter = Path(tmp) / "stdin"  # a script that waits for Enter ("press enter to start") gets it
        enter.write_text("\n" * 10000)
        provenance.guard(log)
        with open(log, "w") as out, open(enter) as stdin:
            proc = subprocess.Popen(cmd, cwd=work, env=env, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=stdin, start_new_session=True)
            _RUNNING.add(proc)
            try:
                code = proc.wait()
            finally:
                _RUNNING.discard(proc)
        provenance.note(log)
    return code


_RUNNING: set = set()  # the runs under way (``run_one``), each the leader of its own session
_STOPPING: list = []  # not empty once ``stop_runs`` ran


def stop_runs() -> None:
    """Kill every run under way, with whatever it started in its session (``legacy --seeds``
    interrupted: its runs do not go on in the background)."""
    import signal

    _STOPPING.append(True)
    for proc in list(_RUNNING):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass


def read_capture(path: Path):
    """A run's capture file, or None where it is missing or not ours."""
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("schema") != CAPTURE_SCHEMA or not isinstance(doc.get("returns"), list):
        return None
    return doc


def default_margin(env_ids):
    """5% of the first environment's ``reward_threshold`` (see the module docstring), or None."""
    import gymnasium

    from ...core.oldgym import resolve

    for env_id in env_ids:
        try:
            spec = gymnasium.spec(resolve(env_id)[0])
        except Exception:  # noqa: BLE001 - a script's own environment: no registered threshold
            continue
        if spec.reward_threshold:
            return abs(spec.reward_threshold) * 0.05, (f"5% of {env_id}'s reward_threshold "
                                                       f"{spec.reward_threshold:g} (gym's 'solved')")
    return None, "no --margin given and the environment declares no reward_threshold"


def summarise(docs: dict, kind: str, margin, margin_reason, seeds, collapse_below=None):
    """The summary of both sides: per-seed outcomes, medians and spreads, the verdict."""
    from ...core.verdicts import compare_bimodal, compare_paired

    sides = {}
    for side, runs in docs.items():
        vals = {s: outcome(episode_returns(d), kind) for s, d in runs.items() if d is not None}
        ok = {s: v for s, v in vals.items() if v is not None}
        rates = [d["env_steps"] / d["wall_s"] for d in runs.values() if d and d["wall_s"] > 0 and d["env_steps"]]
        # the same after the first step: imports and graph building left out
        stepping = [d["env_steps"] / (d["wall_s"] - d["first_step_s"]) for d in runs.values()
                    if d and d["env_steps"] and isinstance(d.get("first_step_s"), (int, float))
                    and d["wall_s"] - d["first_step_s"] > 0]
        failed = sorted(s for s, d in runs.items() if d is None or d.get("status") not in (0, None))
        no_eps = sorted(s for s, v in vals.items() if v is None)
        arr = np.array(list(ok.values())) if ok else np.array([])
        first = next((d for d in runs.values() if d), None)
        sides[side] = {
            "outcomes": {str(s): v for s, v in sorted(ok.items())}, "n": len(ok),
            "median": float(np.median(arr)) if arr.size else None,
            "q25": float(np.percentile(arr, 25)) if arr.size else None,
            "q75": float(np.percentile(arr, 75)) if arr.size else None,
            "episodes_median": float(np.median([len(d["returns"]) for d in runs.values() if d])) if first else None,
            "steps_per_s": float(np.median(rates)) if rates else None,
            "steps_per_s_stepping": float(np.median(stepping)) if stepping else None,
            "failed_seeds": failed, "seeds_without_episodes": no_eps,
            "versions": first["versions"] if first else None,
            "script": first["script"] if first else None, "script_sha256": first["script_sha256"] if first else None,
            "env_ids": first["env_ids"] if first else [],
        }
    out = {"schema": "tfrepro.script-summary/1", "seeds": seeds, "outcome": kind, "sides": sides}
    if len(sides) == 2:
        base, new = list(sides)
        out["base"], out["new"] = base, new
        both = sorted(set(sides[base]["outcomes"]) & set(sides[new]["outcomes"]), key=int)
        a = [sides[base]["outcomes"][k] for k in both]  # paired by seed: a seed run on one side only is left out
        b = [sides[new]["outcomes"][k] for k in both]
        out["unpaired_seeds"] = sorted(int(k) for k in set(sides[base]["outcomes"]) ^ set(sides[new]["outcomes"]))
        out["margin"], out["margin_reason"] = margin, margin_reason
        if not a or not b:
            out["verdict"] = None
            out["comparison"] = {"reason": "a side has no runs with episodes"}
        elif margin is None:
            out["verdict"] = None
            out["comparison"] = {"reason": margin_reason}
        else:
            cmp = compare_paired(a, b, margin)
            if collapse_below is not None:  # two modes: the collapse rates apart (unpaired: Fisher's exact test)
                bi = compare_bimodal(a, b, margin, collapse_below)
                cmp = dict(bi["kept"], verdict=bi["verdict"], collapse=bi["collapse"], collapse_below=collapse_below,
                           paired=False)
            out["verdict"], out["comparison"] = cmp["verdict"], cmp
        la, lb = sides[base]["steps_per_s"], sides[new]["steps_per_s"]
        out["speed_ratio"] = lb / la if la and lb else None
        la, lb = sides[base].get("steps_per_s_stepping"), sides[new].get("steps_per_s_stepping")
        out["speed_ratio_stepping"] = lb / la if la and lb else None
        same_script = sides[base]["script_sha256"] and sides[base]["script_sha256"] == sides[new]["script_sha256"]
        if same_script:  # the same script on both: how long do the runs stay identical?
            pairs = [s for s in sorted(set(docs[base]) & set(docs[new])) if docs[base][s] and docs[new][s]]
            out["identical_episodes"] = {str(s): _leading_same(docs[base][s], docs[new][s]) for s in pairs}
            out["parted"] = {str(s): why_parted(docs[base][s], docs[new][s]) for s in pairs}
    return out


def script_folder(spec: str):
    """``DIR`` or ``DIR:SIDE`` naming a ``legacy --seeds`` folder and one of its sides (default: the
    script on today's stack, ``legacy``): (label, summary, {seed: capture})."""
    from ...infra.records import read_json

    name, _, side = spec.rpartition(":") if ":" in spec and not Path(spec).exists() else (spec, "", "")
    folder = Path(name)
    summary = read_json(folder / "summary.json") if (folder / "summary.json").is_file() else None
    if not isinstance(summary, dict) or not str(summary.get("schema", "")).startswith("tfrepro.script-summary"):
        raise UsageError(f"{spec}: not a folder of tfrepro legacy --seeds (no summary.json of its own)")
    sides: dict = summary["sides"] if isinstance(summary.get("sides"), dict) else {}
    side = side or ("legacy" if "legacy" in sides else next(iter(sides), ""))
    if side not in sides:
        raise UsageError(f"{spec}: no side {side!r} in it (it has {', '.join(sides) or 'none'})")
    docs = {}
    for f in sorted((folder / "runs").glob(f"{side}-seed*.json")):
        try:
            seed = int(f.name[len(side) + 5:-5])
        except ValueError:
            continue
        docs[seed] = read_capture(f)
    if not any(docs.values()):
        raise UsageError(f"{spec}: no run records of side {side!r} in {folder / 'runs'}")
    return f"{folder.name}:{side}", summary, docs


def compare_folders(base_spec: str, new_spec: str, out_dir: Path, margin=None):
    """``tfrepro compare DIR_A[:SIDE] DIR_B[:SIDE]``: two ``legacy --seeds`` runs (the same script before
    and after an upgrade, on two machines, or a script and its port) judged as ``--seeds`` judges its
    two sides, paired by seed, at BASE's declared outcome and margin (or ``margin``). Writes compare.md,
    compare.json (a script summary of the two sides) and compare.png; returns (summary, table)."""
    from ...infra.records import atomic_write_text, dumps

    (la, sa, da), (lb, sb, db) = script_folder(base_spec), script_folder(new_spec)
    if la == lb:
        lb = lb + " (NEW)"
    if sa.get("outcome") != sb.get("outcome"):
        raise UsageError(f"{base_spec} judged the {sa.get('outcome')} outcome, {new_spec} the {sb.get('outcome')} "
                         "outcome: run them with the same --outcome")
    kind = sa.get("outcome")
    if not (kind in ("mean", "last10") or (isinstance(kind, str) and re.fullmatch(r"last[1-9]\d{0,6}", kind))):
        raise UsageError(f"{base_spec}: its summary names no outcome this package judges ({str(kind)[:40]!r})")
    if margin is not None:
        reason = "declared with --margin"
    elif isinstance(sa.get("margin"), (int, float)) and sa["margin"] > 0:
        margin, reason = float(sa["margin"]), f"BASE's: {sa.get('margin_reason')}"
    else:
        margin, reason = default_margin(next((d["env_ids"] for d in da.values() if d), []))
    seeds = sorted(set(da) | set(db))
    summary = summarise({la: da, lb: db}, kind, margin, reason, seeds)
    summary["compared"] = [str(base_spec), str(new_spec)]
    table = table_markdown(summary)
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out_dir / "compare.json", dumps(summary, indent=1) + "\n")
    atomic_write_text(out_dir / "compare.md", table)
    curves({la: da, lb: db}, out_dir / "compare.png")
    return summary, table


def why_parted(a, b) -> str:
    """Why two runs of the same script, one seed, part (a key of ``PARTED``): at the first episode whose
    return or length differs, whether it started from the same state (each episode's start is recorded
    as a fingerprint of the state its reset returned) and whether an episode came before it."""
    n = _leading_same(a, b)
    if n == min(len(a["returns"]), len(b["returns"])):
        return "never"
    sa, sb = (a.get("starts") or [])[n:n + 1], (b.get("starts") or [])[n:n + 1]
    if not sa or not sb or sa[0] is None or sb[0] is None:
        return "unknown"
    if sa[0] != sb[0]:
        return "start"
    return "first" if n == 0 else "learning"


def _leading_same(a, b) -> int:
    """Episodes at the start of two runs with the same return and length, before the first that
    differs."""
    n = 0
    for ra, la, rb, lb in zip(a["returns"], a["lengths"], b["returns"], b["lengths"]):
        if ra != rb or la != lb:
            break
        n += 1
    return n


def curves(docs, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ...infra.records import save_figure

    fig, ax = plt.subplots(figsize=(7, 4))
    for side, runs in docs.items():
        rets = [d["returns"] for d in runs.values() if d and d["returns"]]
        if not rets:
            continue
        n = max(len(r) for r in rets)
        m = np.full((len(rets), n), np.nan)
        for i, r in enumerate(rets):
            m[i, :len(r)] = [x if x is not None else np.nan for x in r]
        with np.errstate(all="ignore"):
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                med = np.nanmedian(m, axis=0)
                lo, hi = np.nanpercentile(m, 25, axis=0), np.nanpercentile(m, 75, axis=0)
        x = np.arange(1, n + 1)
        ax.plot(x, med, label=f"{side} (median of {len(rets)} seeds)")
        ax.fill_between(x, lo, hi, alpha=0.25)
    ax.set_xlabel("episode")
    ax.set_ylabel("return")
    if ax.lines:
        ax.legend()
    fig.tight_layout()
    return save_figure(fig, path)


def index_html(summary, table: str, path):
    import html

    import markdown

    from ...infra.records import atomic_write_text

    body = markdown.markdown(table, extensions=["tables"])
    first = next(iter(summary["sides"].values()))
    title = html.escape(f"tfrepro legacy --seeds: {first['script']}")
    atomic_write_text(path, f"<!doctype html><meta charset='utf-8'><title>{title}</title><h1>{title}</h1>"
                            f"{body}<p><img src='curves.png' alt='returns per episode'></p>\n")


def run_seeds(script, args, seeds, out_dir: Path, workers=2, against=None, margin=None, kind="last10",
              stops=None, resume=False, collapse_below=None) -> int:
    """Every run (both sides), then the summary; returns the exit code (0, or 1 if a run failed)."""
    from ...infra.checkout import ROOT
    from ...infra.records import atomic_write_text, dumps

    script = _real(script)
    out_dir = _real(out_dir)
    pythons, envs, boots = {}, {}, {}
    if against == "tf1.15":  # TF 1.15 is the reference: the verdict is on today - TF 1.15
        sides = {"tf1.15": script, "legacy": script}
        pythons["tf1.15"], envs["tf1.15"], boots["tf1.15"] = tf115_side(script)
    elif against and re.fullmatch(r"tf\d+\.\d+", against):  # another release: the verdict is on today - it
        from ...tools import matrix

        sides = {against: script, "legacy": script}
        pythons[against] = str(matrix.ensure_env(
            against[2:], matrix.DEFAULT_CACHE, lambda m: print(f"tfrepro legacy: {m}", file=sys.stderr), legacy=True))
        boots[against] = LEGACY_BOOT
    else:
        sides = {"legacy": script}
        if against:
            sides["port"] = _real(against)
    for p in set(sides.values()):
        if _folder_bytes(p.parent, skip=[out_dir]) > MAX_COPY_BYTES:
            raise UsageError(f"{p.parent}: over {MAX_COPY_BYTES >> 20} MB; each run works in a copy of the "
                             "script's folder: move the script into a folder of its own")
    runs_dir = out_dir / "runs"
    runs_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1", MPLBACKEND="Agg",
               TF_CPP_MIN_LOG_LEVEL=os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3"),
               PYTHONPATH=os.pathsep.join(x for x in (str(ROOT), os.environ.get("PYTHONPATH")) if x))
    jobs = [(side, s) for s in seeds for side in sides]
    docs: dict = {side: {} for side in sides}
    todo = []
    for side, s in jobs:
        path = runs_dir / f"{side}-seed{s}.json"
        doc = read_capture(path) if resume else None
        if doc is not None and doc.get("script_sha256") == _sha(sides[side]) and doc.get("status") in (0, None):
            docs[side][s] = doc
        else:
            todo.append((side, s))
    lock = threading.Lock()
    from tqdm import tqdm

    bar = tqdm(total=len(todo), desc="legacy --seeds", unit="run", file=sys.stderr,
               disable=not sys.stderr.isatty() and not os.environ.get("TFREPRO_PROGRESS"))

    def job(item, source):
        side, s = item
        code = run_one(side, sides[side], args, s, runs_dir / f"{side}-seed{s}.json", stops or {},
                       envs.get(side, env), runs_dir / f"{side}-seed{s}.log", pythons.get(side), source,
                       boots.get(side))
        finished(item, code)

    def finished(item, code):
        side, s = item
        cap = runs_dir / f"{side}-seed{s}.json"
        doc = read_capture(cap)
        if doc is not None and code not in (0, None):
            doc["status"] = code
        with lock:
            docs[side][s] = doc
            bar.update(1)
            if (doc is None or code) and not _STOPPING:  # stopped runs: the command's one line says why
                bar.write(f"tfrepro legacy: {side} seed {s} failed (exit {code}); its output: "
                          f"{runs_dir / f'{side}-seed{s}.log'}", file=sys.stderr)

    with tempfile.TemporaryDirectory(prefix="tfrepro-snapshot-") as snaps:
        sources: dict = {}
        for p in sides.values():
            if p.parent not in sources:
                sources[p.parent] = Path(snaps) / str(len(sources)) / p.parent.name
                snapshot(p.parent, sources[p.parent], skip=[out_dir])
        _STOPPING.clear()
        if backend()["kind"] == "ray":  # each run a Ray task on some node, its folder shipped with it
            _on_ray(todo, sides, sources, args, stops or {}, envs, env, pythons, boots, runs_dir, workers, finished)
        else:
            pool = ThreadPoolExecutor(max(1, workers))
            try:
                list(pool.map(lambda item: job(item, sources[sides[item[0]].parent]), todo))
            except BaseException:  # Ctrl-C, an error: the runs (each in a session of its own) end now, not later
                pool.shutdown(wait=False, cancel_futures=True)
                stop_runs()
                raise
            pool.shutdown()
    bar.close()
    env_ids: list = next((d["env_ids"] for side in docs for d in docs[side].values() if d and d["env_ids"]), [])
    if margin is not None:
        reason = "declared with --margin"
    else:
        margin, reason = default_margin(env_ids)
    summary = summarise(docs, kind, margin, reason, seeds, collapse_below)
    table = table_markdown(summary)
    atomic_write_text(out_dir / "summary.json", dumps(summary, indent=1) + "\n")
    atomic_write_text(out_dir / "table.md", table)
    curves(docs, out_dir / "curves.png")
    index_html(summary, table, out_dir / "index.html")
    print(table, end="")
    print(f"tfrepro legacy: {len(jobs)} runs in {out_dir}", file=sys.stderr)
    failed = any(s["failed_seeds"] for s in summary["sides"].values())
    no_env = [side for side, s in summary["sides"].items() if s["n"] == 0]
    if no_env:
        print(f"tfrepro legacy: the {' and '.join(no_env)} side recorded no episode on any seed (does it "
              "create an environment through gym.make / gymnasium.make?)", file=sys.stderr)
    return 1 if failed or no_env else 0


def _on_ray(todo, sides, sources, args, stops, envs, env, pythons, boots, runs_dir: Path, workers, finished):
    """``legacy --seeds --backend ray``: every run a task of the shared pool (``infra.pool``) on
    some node, the script's folder shipped with it as the snapshot every seed starts from; the
    run's capture and output come back and are written here, by the driver, as on this machine."""
    from ...infra.pool import run_in_workers
    from ...infra.records import atomic_write_text

    packed = {parent: _pack(folder) for parent, folder in sources.items()}
    jobs = [(side, sides[side].name, packed[sides[side].parent], sides[side].parent.name, list(args), s, stops,
             envs.get(side, env), pythons.get(side), boots.get(side)) for side, s in todo]

    def on_done(job, result):
        side, s = job[0], job[5]
        code, capture, output = result
        log = runs_dir / f"{side}-seed{s}.log"
        provenance.guard(log)
        with open(log, "wb") as f:
            f.write(output)
        provenance.note(log)
        if capture is not None:
            atomic_write_text(runs_dir / f"{side}-seed{s}.json", capture)
        finished((side, s), code)

    run_in_workers(remote_run, jobs, workers, on_done,
                   died="a run's worker died on every retry; the finished runs are kept: run again with --resume")


def _pack(folder: Path) -> bytes:
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.add(str(folder), arcname=".")
    return buf.getvalue()


def remote_run(side, script_name, packed: bytes, folder_name, args, seed, stops, env, python, boot):
    """One run where a pool task lands (a Ray node): the script's folder unpacked from the
    driver's snapshot, ``run_one`` there; (exit code, the capture's text or None, the output)."""
    import io
    import tarfile

    with tempfile.TemporaryDirectory(prefix="tfrepro-remote-") as tmp:
        src = Path(tmp) / "src" / folder_name
        src.mkdir(parents=True)
        with tarfile.open(fileobj=io.BytesIO(packed)) as tar:
            tar.extractall(src, filter="data")
        cap, log = Path(tmp) / "capture.json", Path(tmp) / "run.log"
        code = run_one(side, src / script_name, args, seed, cap, stops, env, log, python, src, boot)
        return (code, cap.read_text() if cap.exists() else None,
                log.read_bytes() if log.exists() else b"")


def _sha(path):
    from .capture import script_hash

    return script_hash(path)


def _imports_keras(folder: Path) -> bool:
    import ast
    import re

    for f in folder.rglob("*.py"):
        try:
            text = f.read_text(errors="replace")
            tree = ast.parse(text)
        except (SyntaxError, ValueError):  # Python 2: its import lines
            if re.search(r"^\s*(import keras\b|from keras\b)", text, re.M):
                return True
            continue
        except OSError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "keras" for a in node.names):
                return True
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "keras" and not node.level:
                return True
    return False


def is_python2(script: Path) -> bool:
    """Whether a script is Python 2 code: it, or a module of its folder it imports, is a file Python 3
    cannot compile (``print`` statements, ``except E, e``, tabs mixed into indentation...) or uses
    Python 2's names (``xrange``, ``raw_input``, ``dict.iteritems``, ``cPickle``...): what the legacy
    runner translates (``py2``)."""
    import ast

    from .py2 import python2_names

    todo, seen = [script], set()
    while todo:
        f = todo.pop()
        if f in seen or not f.is_file():
            continue
        seen.add(f)
        try:
            tree = ast.parse(f.read_text(errors="replace"))
        except (SyntaxError, ValueError):  # print statements, except E, e, backticks, mixed tabs...
            return True
        except OSError:
            continue
        if python2_names(tree):
            return True
        for node in ast.walk(tree):  # the folder's own modules it imports
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else [])
            for name in names:
                base = script.parent.joinpath(*name.split("."))
                todo += [base.with_suffix(".py"), base / "__init__.py"]
    return False


CAPTURE115 = Path(__file__).with_name("capture115.py")


def tf115_side(script: Path):
    """The python, environment and boot of the TF 1.15 side (built once, cached): the TF 1.15 image's
    venv (``tfrepro.infra.tf115``) on Python 3.7, or TF 1.15's Python 2.7 wheel where the script is
    Python 2 code; with standalone Keras 2.2.4 where the script imports keras."""
    from ...infra import tf115

    extra = ("keras==2.2.4",) if _imports_keras(script.parent) else ()
    log = lambda m: print(f"tfrepro legacy: {m}", file=sys.stderr)  # noqa: E731
    if is_python2(script):
        py27 = tf115.find_python27()
        if py27 is None:
            raise UsageError(f"{script.name} is Python 2 code: its TF 1.15 side needs a Python 2.7 of the UCS4 "
                             "build (pyenv's 2.7.18, python2.7 on PATH, or TFREPRO_PYTHON27); none found")
        try:
            site = tf115.ensure27(py27, log=log, extra=extra)
        except subprocess.CalledProcessError as e:
            raise UsageError(f"--against tf1.15: installing TensorFlow 1.15 for Python 2.7 failed ({e}); pip's "
                             "output is above") from None
        # a site folder, not PYTHONPATH: protobuf's namespace package needs its .pth read
        boot = guarded("import imp, site; site.addsitedir(%r); c = imp.load_source('tfrepro_capture115', %r); "
                       "code = c.main()" % (str(site), str(CAPTURE115)))
        return py27, tf115.image_env({"PYTHONPATH": ""}), boot
    py37 = tf115.find_python37()
    if py37 is None:
        raise UsageError("--against tf1.15 needs a Python 3.7 to build TensorFlow 1.15's environment (pyenv's "
                         "3.7, python3.7 on PATH, or TFREPRO_PYTHON37); none found")
    try:
        py = tf115.ensure(py37, log=log, extra=extra)
    except subprocess.CalledProcessError as e:
        raise UsageError(f"--against tf1.15: building TensorFlow 1.15's environment failed ({e}); pip's "
                         "output is above") from None
    return str(py), tf115.image_env(), None
