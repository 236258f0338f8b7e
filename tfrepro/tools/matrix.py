"""``tfrepro matrix --tf 2.15 2.16 2.18 2.21``: ``bench`` under several TensorFlow releases,
each in its own cached environment, then one report comparing them all with the first.

Every environment gets TensorFlow ``V.*``, tf-keras ``V.*`` (Keras 2, for the TF1 form
of the pylessons DQN), the Keras 3 that pip resolves for TF >= 2.16 (on 2.15 ``keras`` is
Keras 2.15 itself), NumPy < 2 below TF 2.18 (their wheels are built against NumPy 1), and
the pinned gymnasium; the code under test is this checkout, put on ``PYTHONPATH``, never
installed. An environment is reused while its marker records the same requirement list.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from ..core.errors import UsageError
from ..core.settings import setting
from ..infra import programs
from ..infra.benchfile import load_results
from ..infra.checkout import ROOT

DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "tfrepro" / "matrix"
MARKER = ".tfrepro-matrix.json"


def _pinned(name):
    """The version requirements.txt pins for ``name`` (None if it does not)."""
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        m = re.match(rf"^{re.escape(name)}==(\S+)", line.strip())
        if m:
            return m.group(1)
    return None


def requirements(version: str) -> list[str]:
    major, minor = (int(x) for x in version.split(".")[:2])
    if major != 2:
        raise UsageError(f"TensorFlow {version[:20]}: the matrix builds TensorFlow 2 releases, 2.12 and later")
    if (major, minor) < (2, 12):
        raise UsageError(f"TensorFlow {version}: the matrix starts at 2.12 (no Python 3.11 wheels before)")
    reqs = [f"tensorflow=={version}.*", f"tf-keras=={version}.*"]
    if (major, minor) < (2, 18):
        reqs.append("numpy<2")
    reqs += [f"gymnasium=={_pinned('gymnasium')}", "scipy", "matplotlib", "tqdm", "h5py"]
    return reqs


def _uv():
    exe = shutil.which("uv")
    if exe:
        return exe
    here = Path(sys.executable).parent / "uv"
    return str(here) if here.exists() else None


def published_versions(package="tensorflow"):
    """The versions of ``package`` on the package index (``pip index versions``), or None when
    the index cannot be asked (offline: the build then fails on its own, in one line)."""
    try:
        proc = subprocess.run([sys.executable, "-m", "pip", "index", "versions", package],
                              capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(r"^Available versions: (.*)$", proc.stdout, re.M)
    return [v.strip() for v in m.group(1).split(",")] if proc.returncode == 0 and m else None


def is_built(version: str, cache: Path, legacy: bool = False) -> bool:
    """Whether ``version``'s environment is ready in ``cache`` (its marker holds what it needs)."""
    env, want = env_spec(version, cache, legacy)
    try:
        return (env / "bin" / "python").exists() and json.loads((env / MARKER).read_text()) == want
    except (OSError, ValueError):
        return False


def check_published(versions, cache: Path | None = None, legacy: bool = False) -> None:
    """Every asked version exists on the index (a release ``X.Y`` has some ``X.Y.*``): checked
    before anything is built, removed or written. With ``cache``: an index that cannot be
    asked is one line when an environment would have to be built (nothing to build it from)."""
    known = published_versions()
    if known is None:
        todo = [v for v in versions if cache is not None and not is_built(v, cache, legacy)]
        if todo:
            raise UsageError(f"TensorFlow {', '.join(todo)}: the package index cannot be reached (offline?) and "
                             f"no environment for it is built yet in {cache}")
        return
    missing = [v for v in versions if not any(k == v or k.startswith(v + ".") for k in known)]
    if missing:
        raise UsageError(f"TensorFlow {', '.join(missing)}: not on the package index (it has "
                         f"{known[-1]} to {known[0]})")


def _ours(env: Path) -> bool:
    """Whether ``env`` is an environment this command made (it carries the marker file)."""
    return (env / MARKER).is_file()


# what ``tfrepro legacy`` needs beside TensorFlow (``--against tfX.Y`` runs the runner there)
LEGACY_EXTRA = ("tf-slim", "fissix", "nbformat", "ipython")


def ray_requirement() -> str:
    """The Ray a release's environment needs to run its bench's tasks on a cluster: this
    command's own Ray, exactly (a cluster's driver and workers must run one Ray release)."""
    from importlib.metadata import PackageNotFoundError, version  # novermin (3.8+: not in the TF1 image)

    try:
        return f"ray=={version('ray')}"
    except PackageNotFoundError:
        raise UsageError("--backend ray: Ray is not installed here (pip install -r requirements.txt)") from None


def env_spec(version: str, cache: Path, legacy: bool = False, ray: bool = False):
    """The folder of ``version``'s environment and what its marker holds when it is ready."""
    reqs = requirements(version)
    if legacy:
        reqs += [f"{name}=={_pinned(name)}" if _pinned(name) else name for name in LEGACY_EXTRA]
    if ray:
        reqs.append(ray_requirement())
    env = cache / (f"tf-{version}" + ("+legacy" if legacy else "") + ("+ray" if ray else ""))
    return env, {"requirements": reqs, "python": sys.version.split()[0]}


def ensure_env(version: str, cache: Path, log, legacy: bool = False, ray: bool = False) -> Path:
    """The Python of a ready environment for ``version`` (built on first use). Only what this
    command made is ever removed: a folder ``tf-VERSION`` in the cache without its marker is
    refused, and a build that fails removes the environment it started. ``legacy``: with the
    legacy runner's own needs (requirements.txt's pins) too, in ``tf-VERSION+legacy``; ``ray``:
    with this command's Ray, in ``tf-VERSION+ray``."""
    env, want = env_spec(version, cache, legacy, ray)
    reqs = want["requirements"]
    py = env / "bin" / "python"
    marker = env / MARKER
    if marker.exists() and py.exists():
        try:
            if json.loads(marker.read_text()) == want:
                return py
        except (OSError, json.JSONDecodeError):
            pass
    if env.is_symlink() or (env.exists() and not _ours(env)):
        raise UsageError(f"{env}: exists and was not made by tfrepro matrix (no {MARKER} in it); refusing "
                         "to replace it (move it, or give another --cache)")
    if env.exists():
        shutil.rmtree(env)
    cache.mkdir(parents=True, exist_ok=True)
    uv = _uv()
    steps = ([[uv, "venv", "-q", "--python", sys.executable, str(env)],
              [uv, "pip", "install", "-q", "--python", str(py), *reqs]] if uv else
             [[sys.executable, "-m", "venv", str(env)],
              [str(py), "-m", "pip", "install", "-q", *reqs]])
    try:
        for i, cmd in enumerate(steps):
            log(f"matrix: TF {version}: {' '.join(cmd[:3])} ...")
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
                raise UsageError(f"TF {version}: building its environment failed: {last}")
            if i == 0:  # made here: marked at once, so that it is ours to remove
                marker.write_text(json.dumps({"building": want}))
    except BaseException:  # the folder did not exist before this build: all of it is ours
        shutil.rmtree(env, ignore_errors=True)
        raise
    marker.write_text(json.dumps(want))
    return py


def env_versions(py: Path) -> dict:
    code = ("import json, importlib.metadata as m\nout = {}\nfor d in ('tensorflow', 'keras', 'tf-keras', "
            "'numpy', 'gymnasium'):\n    try: out[d] = m.version(d)\n    except Exception: pass\n"
            "print(json.dumps(out))")
    proc = subprocess.run([str(py), "-c", code], capture_output=True, text=True)
    return json.loads(proc.stdout) if proc.returncode == 0 else {}


@dataclass
class MatrixSettings:
    """What ``tfrepro matrix`` runs: one field per option, its help the option's; the bench
    options go on to each release's ``tfrepro bench``."""
    tf: list = setting([], "TensorFlow versions, e.g. 2.15 2.16 2.18 2.21 (the first is the base)", nargs="+",
                       required=True, metavar="VERSION", kind="tf_version")
    suite: str = setting("quick", "bench suite (default: %(default)s)")
    entries: Optional[list] = setting(None, "only these programs", nargs="+", metavar="PROGRAM[:VARIANT]",
                                      flag="--programs")
    seeds: Optional[list] = setting(None, "reward seeds (default: the suite's)", kind="seed_range",
                                    metavar="A..B|N")
    iterations: Optional[int] = setting(None, "shorten reward runs (quick looks)", kind="positive", metavar="K")
    frameworks: Optional[list] = setting(None, "only these forms (default: both)", nargs="+",
                                         choices=programs.FRAMEWORKS)
    repeats: Optional[int] = setting(None, "timed repeats per process of a speed job", kind="positive")
    processes: Optional[int] = setting(None, "fresh processes per speed job (default: the suite's)",
                                       kind="processes")
    speed_modes: Optional[list] = setting(None, "the loops timed: book, fast, lockstep (default: all three)",
                                          nargs="+", choices=programs.MODES, metavar="MODE")
    speed: bool = setting(True, "reward runs only", flag="--no-speed", action="store_false")
    workers: int = setting(min(2, os.cpu_count() or 1), "worker processes of each bench's reward runs "
                           "(default: %(default)s)", kind="positive")
    cache: Optional[str] = setting(None, "where the environments live (default: ~/.cache/tfrepro/matrix)",
                                   metavar="DIR")
    resume: bool = setting(False, "complete the results files already there", action="store_true")
    report_only: bool = setting(False, "no environment, no bench: rebuild the report from the results files "
                                "already in OUT_DIR/runs (tf-VERSION.json)", action="store_true")
    out_dir: str = setting("results/matrix", "default: %(default)s (a folder holding files this package did "
                           "not write is refused)", metavar="DIR")
    force: bool = setting(False, "write into --out-dir whatever it holds", action="store_true")
    backend: str = setting("local", "where each release's bench runs (--backend)", cli=False)
    address: Optional[str] = setting(None, "the Ray cluster's head (--address)", cli=False)
    thresholds: Any = setting(None, "the verdicts' thresholds (--alpha and the margins)", cli=False)

    def bench_argv(self) -> list:
        """The options of each release's ``tfrepro bench``."""
        args = ["--suite", self.suite, "--workers", str(self.workers)]
        if self.seeds is not None:
            args += ["--seeds", f"{self.seeds[0]}..{self.seeds[-1]}"]
        for flag, value in (("--repeats", self.repeats), ("--processes", self.processes),
                            ("--iterations", self.iterations)):
            if value:
                args += [flag, str(value)]
        for flag, values in (("--programs", self.entries), ("--frameworks", self.frameworks),
                             ("--speed-modes", self.speed_modes)):
            if values:
                args += [flag, *values]
        if not self.speed:
            args.append("--no-speed")
        if self.backend == "ray":
            args += ["--backend", "ray"] + (["--address", self.address] if self.address else [])
        return args


def matrix(s: MatrixSettings, log=print) -> int:
    """Each release's environment (built once, cached), ``tfrepro bench`` run there on this
    checkout, then the report. ``backend="ray"``: each release's bench sends its runs to the Ray
    cluster at ``address`` (None: a local Ray per bench), its tasks running in that release's
    environment (built with this Ray; ``pool.RAY_PYTHON`` names its interpreter to the cluster,
    whose nodes must have it at the same path: a shared cache or the same image)."""
    from ..infra.pool import RAY_PYTHON
    from .report import check_page

    out_dir, cache = Path(s.out_dir), Path(s.cache) if s.cache else DEFAULT_CACHE
    check_page(out_dir)  # before any environment is built
    check_published(s.tf, cache)
    files = []
    for v in s.tf:
        py = ensure_env(v, cache, log, ray=s.backend == "ray")
        log(f"matrix: TF {v}: {json.dumps(env_versions(py))}")
        out = out_dir / "runs" / f"tf-{v}.json"
        args = [str(py), "-m", "tfrepro", "bench", "--out", str(out), *s.bench_argv()]
        if out.exists():
            if not s.resume:
                raise UsageError(f"{out} exists: --resume completes it (or choose another --out-dir)")
            args.append("--resume")
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
        if s.backend == "ray":
            env[RAY_PYTHON] = str(py)
        proc = subprocess.run(args, env=env, stdout=subprocess.PIPE, text=True)
        if proc.returncode != 0:
            raise UsageError(f"TF {v}: bench failed (exit {proc.returncode}); what it finished is in {out}, "
                             "--resume continues")
        load_results(out)
        files.append(out)
    return report(files, s.thresholds, out_dir)


def report(files, thresholds=None, out_dir=Path("results/matrix")) -> int:
    """The matrix report (matrix.md, matrix.json, matrix.png, compare.md) from results files,
    the first being the base; exit code 1 when a version is worse than the first."""
    from .compare import Thresholds, compare
    from .report import check_page, write_report

    out_dir = Path(out_dir)
    check_page(out_dir)
    th = thresholds or Thresholds()
    rows, md = compare(files, th, out_dir / "compare.md", out_dir / "matrix.png", out_dir / "matrix.json")
    table = by_version(files, rows)
    from ..infra.records import atomic_write_text

    atomic_write_text(out_dir / "matrix.md", table + "\n\n" + md + "\n")
    page = write_report([out_dir], out_dir, title="tfrepro matrix")
    print(table)
    print(f"\nwrote {out_dir / 'matrix.md'}, {out_dir / 'matrix.json'}, {out_dir / 'matrix.png'}, {page}")
    return 1 if any(r["verdict"] == "worse" for rs in rows for r in rs) else 0


def by_version(files, rows_per_new) -> str:
    """One block per program x framework x mode, one row per version."""
    from ..core.stats import median_iqr
    from ..infra.benchfile import groups
    from .compare import label

    datas = [load_results(f) for f in files]
    metas = [d["meta"] for d in datas]
    grouped = [groups(d) for d in datas]
    verdict = [{(r["program"], r["framework"], r["mode"]): r for r in rs} for rs in rows_per_new]
    lines = ["| program | framework | mode | version | reward median [IQR] | steps/s median | "
             "steps/s vs first [95% CI] | against the first |", "|---|---|---|---|---|---|---|---|"]
    for key in sorted(set().union(*grouped)):
        for i, (g, m) in enumerate(zip(grouped, metas)):
            e = g.get(key)
            if not e:
                continue
            rew = [v for _, v in e["reward"]]
            rc = (lambda q: f"{q[0]:.1f} [{q[1]:.1f}, {q[2]:.1f}]")(median_iqr(rew)) if rew else "–"
            sp = e["speed"]
            sc = f"{statistics.median(sp):.0f}" if sp else "–"
            ratio, v = "–", "base" if i == 0 else "–"
            if i > 0 and key in verdict[i - 1]:
                r = verdict[i - 1][key]
                s = r.get("speed", {})
                if "ratio" in s:
                    ratio = f"{s['ratio']:.2f} [{s['ci_low']:.2f}, {s['ci_high']:.2f}]"
                v = r["verdict"] + (" (identical per seed)" if r.get("reward", {}).get("identical_per_seed") else "")
            lines.append(f"| {key[0]} | {key[1]} | {key[2]} | {label(m, metas)} | {rc} | {sc} | {ratio} | {v} |")
    return "\n".join(lines)



if __name__ == "__main__":  # `python -m tfrepro.tools.matrix 2.16`: the list, one per line (Docker uses it)
    try:
        print("\n".join(requirements(sys.argv[1])))
    except (IndexError, UsageError, ValueError) as e:
        print(f"usage: python -m tfrepro.tools.matrix TF_VERSION ({e or 'missing'})", file=sys.stderr)
        sys.exit(2)
