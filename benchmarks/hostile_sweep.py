"""Sweep tfrepro's command line with hostile and careless inputs, and measure four promises.

Every case runs ``python -m tfrepro ...`` in a fresh sandbox holding a careless user's own files
(real PNG and GIF images, a text ``model.keras``, a TF1 ``checkpoint`` text file, a foreign
``cartpole-dqn.h5``, their own ``table.md``, ``summary.json``, ``index.html``, ...), with TMPDIR
a fresh empty folder and ``TFREPRO_SWEEP_CASE=<token>`` in its environment. Per case:

1. no traceback through the package's files (a script's own under ``legacy`` does not count);
2. every error is one line: one stderr line starting with ``tfrepro`` (warnings aside);
3. no user file that was there is replaced, modified or removed (no case passes --force);
4. no marked process alive 3 s after the command ended, nothing left in TMPDIR;
and also timeouts, and files written by a command that failed with exit code 2.

Families: out (each output option at each kind of user file or folder, also with --resume),
in (hostile JSON at each input read), model (.h5, .keras, TF1 checkpoints), script (legacy
scripts, --program-file), flag (numeric options found in --help, abused), value (misspelt
names), signal (SIGINT/SIGTERM/SIGKILL during long commands), disk (a full tmpfs mounted in a
user namespace: no root needed).

    python benchmarks/hostile_sweep.py --out /tmp/sweep-run                # every case
    python benchmarks/hostile_sweep.py --out /tmp/sweep-run --only out/run/ # a subset
    python benchmarks/hostile_sweep.py --list

Writes OUT/sweep.json (rewritten as cases finish) and OUT/sweep.md. Nothing is downloaded:
cases run with PIP_NO_INDEX=1, UV_OFFLINE=1 and their own XDG_CACHE_HOME. Failing cases keep
their folder OUT/cases/TOKEN/ (sb: the sandbox, tmp: TMPDIR, stdout, stderr).
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import re
import shutil
import signal
import stat
import struct
import subprocess
import sys
import time
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"
PKG_DIRS = tuple(f"{ROOT / d}/" for d in ("tfrepro", "legacy_tf1", "modern_tf2"))
MARKER = "TFREPRO_SWEEP_CASE"
SENTINEL = "__sweep_value__"
BIGINT = "9" * 5000
JUNK = bytes((i * 7919 + 13) % 256 for i in range(4096))

# the smallest settings each command takes, so that a case which passes the checks stays cheap
RUN = ["pg-tang", "--framework", "tf2", "--iterations", "1"]
DQN = ["dqn-meertens", "--framework", "tf2", "--iterations", "1"]
REPRO = ["--programs", "pg-tang", "--seeds", "1", "--iterations", "1", "--workers", "1"]
DIFF = ["pg-tang", "--seeds", "1", "--iterations", "1", "--workers", "1"]
BENCH = ["--programs", "imitation-policy", "--seeds", "1", "--frameworks", "tf2", "--iterations", "1", "--no-speed",
         "--workers", "1"]
LSEEDS = ["--seeds", "0..1", "--workers", "1", "--episodes", "2"]
SPEED = ["--programs", "pg-tang", "--book-iterations", "1", "--fast-iterations", "1", "--repeats", "1",
         "--lockstep-seeds", "0"]
MATRIX_RO = ["--tf", "2.15", "2.16", "--report-only"]
MATRIX_RUNS = {"runs/tf-2.15.json": "base.json", "runs/tf-2.16.json": "new.json"}
CMP = {"in/base.json": "base.json", "in/new.json": "new.json"}

# valid files of the package, made once per sweep by it (argv, run in OUT/fixtures) ...
FIXTURE_CMDS = {
    "ck_tf2": ["run", *RUN, "--save", "ck_tf2", "--out", "ck_tf2.json"],
    "ck_tf1": ["run", "pg-tang", "--framework", "tf1", "--iterations", "1", "--save", "ck_tf1", "--out", "ck_tf1.json"],
    "pyl": ["run", "dqn-pylessons", "--framework", "tf1", "--iterations", "1", "--save", "pyl", "--out", "pyl.json"],
    "rp": ["reproduce", *REPRO, "--out-dir", "rp"],
    "df": ["diff", *DIFF, "--out-dir", "df"],
    "bench.json": ["bench", *BENCH, "--out", "bench.json"],
    "ls": ["legacy", *LSEEDS, "--out-dir", "ls", "s.py"],
    "rec_tf2.json": ["run", *RUN, "--out", "rec_tf2.json"],
}
# ... or copied from the repository's results/ (a glob; #2: its second match; #dir: the match's folder)
FIXTURE_FILES = {"base.json": "matrix/runs/tf-*.json", "new.json": "matrix/runs/tf-*.json#2",
                 "record.json": "reproduce/runs/pg-tang_*.json", "plan.json": "reproduce/summary.json",
                 "compare.json": "tf115/compare.json", "legacy": "legacy-tf115/*/summary.json#dir"}


def png_bytes(seed: int) -> bytes:
    """A real 8x8 RGB PNG."""
    raw = b"".join(b"\0" + bytes((seed * 37 + x * 8 + y) % 256 for x in range(24)) for y in range(8))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


GIF = bytes.fromhex("47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b")
USER_FILES = {
    "photo.png": png_bytes(1), "anim.gif": GIF, "model.keras": b"my notes on the model\n",
    "checkpoint": b'model_checkpoint_path: "model.ckpt"\nall_model_checkpoint_paths: "model.ckpt"\n',
    "table.md": b"| my | table |\n|---|---|\n", "summary.json": b'{"mine": 1}\n', "curves.png": png_bytes(2),
    "compare.md": b"# my comparison\n", "compare.json": b'{"mine": 2}\n', "compare.png": png_bytes(3),
    "matrix.md": b"# my matrix\n", "matrix.json": b'{"mine": 3}\n', "matrix.png": png_bytes(4),
    "index.html": b"<html><body>my page</body></html>\n", "figure-001.png": png_bytes(5),
    "env0-episode0001.gif": GIF, "events.out.tfevents.1.mine": b"my events\n", "notes.txt": b"mine\n",
    "runs/mine.json": b'{"mine": 4}\n', "tf-2.15/README": b"my own environment\n",
    "myprog_pair.py": b"# my code\n", "test_myprog.py": b"# my test\n",
}
FILE_TARGETS = ("photo.png", "anim.gif", "model.keras", "checkpoint", "cartpole-dqn.h5", "table.md", "summary.json",
                "curves.png", "compare.json", "index.html", "notes.txt")
RESULT_NAMES = ("table.md", "summary.json", "curves.png", "index.html", "runs")
SCRIPTS = {
    "s.py": "import gym\nimport matplotlib.pyplot as plt\nplt.plot([0, 1])\nplt.show()\n"
            "env = gym.make('CartPole-v0')\nfor episode in range(3):\n    env.reset()\n    done = False\n"
            "    while not done:\n        env.render()\n        _, _, done, _ = env.step(env.action_space.sample())\n",
    "loop.py": "import time\nwhile True:\n    time.sleep(0.05)\n",
    "loopenv.py": "import gym\nenv = gym.make('CartPole-v0')\nwhile True:\n    env.reset()\n    done = False\n"
                  "    while not done:\n        _, _, done, _ = env.step(env.action_space.sample())\n",
    "nb.ipynb": json.dumps({"cells": [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                                       "source": ["print(1)\n"]}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}),
}


def build_template(dest: Path) -> None:
    """user/ holds every user file, only/NAME/ just NAME, and the scripts sit at the top."""
    import h5py

    for rel, data in USER_FILES.items():
        for path in (dest / "user" / rel, dest / "only" / rel.split("/")[0] / rel):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    for folder in (dest / "user", dest / "only" / "cartpole-dqn.h5"):
        folder.mkdir(parents=True, exist_ok=True)
        with h5py.File(folder / "cartpole-dqn.h5", "w") as f:
            f["mine"] = [1.0, 2.0, 3.0]
    (dest / "empty").mkdir()
    for name, text in SCRIPTS.items():
        (dest / name).write_text(text)


def make_fixtures(out: Path, env: dict, names: set[str]) -> dict[str, str]:
    """Make the fixtures ``names`` in OUT/fixtures; returns {name: why not} of those that failed."""
    fx, failed = out / "fixtures", {}
    (out / "fixtures-tmp").mkdir(parents=True, exist_ok=True)
    for name, text in SCRIPTS.items():
        fx.mkdir(exist_ok=True)
        (fx / name).write_text(text)
    for name in sorted(n for n in names if not (fx / n).exists()):
        if name in FIXTURE_FILES:
            pattern, _, pick = FIXTURE_FILES[name].partition("#")
            found = sorted(RESULTS.glob(pattern))
            if not found or (pick == "2" and len(found) < 2):
                failed[name] = f"no results/{pattern}"
                continue
            src = found[0].parent if pick == "dir" else found[1] if pick == "2" else found[0]
            (shutil.copytree if src.is_dir() else shutil.copy2)(src, fx / name)
            continue
        proc = subprocess.run([sys.executable, "-m", "tfrepro", *FIXTURE_CMDS[name]], cwd=fx, capture_output=True,
                              text=True, check=False, env={**env, "TMPDIR": str(out / "fixtures-tmp")},
                              stdin=subprocess.DEVNULL, timeout=900)
        if proc.returncode not in (0, 1) or not (fx / name).exists():
            failed[name] = f"exit {proc.returncode}: {(proc.stderr.strip().splitlines() or [''])[-1][:200]}"
            shutil.rmtree(fx / name, ignore_errors=True)
    return failed


# ---------------------------------------------------------------- cases and their setup steps

Step = Callable[[Path, Path], None]            # step(sandbox, fixtures)
Maker = Callable[[Path, "bytes | None"], None]  # make(path, the bytes that were there)


@dataclass
class Case:
    id: str
    argv: list[str]                                          # after `python -m tfrepro`
    copies: dict[str, str] = field(default_factory=dict)     # sandbox path -> fixture
    setup: list[Step] = field(default_factory=list)
    writable: tuple[str, ...] = ()                           # package files it may rewrite: not tracked
    signal: tuple[int, float, bool] | None = None            # (signal, after s, to the whole group)
    fulldisk: bool = False
    timeout: float | None = None


def put(at: str, make: Maker | None) -> Step:
    """A step: ``make(path, old bytes)`` at ``at`` (a glob: its first match) in place of what is there."""
    def step(sb: Path, fx: Path) -> None:
        found = sorted(sb.glob(at)) if "*" in at else []
        p = found[0] if found else sb / at.replace("*", "x")
        base = p.read_bytes() if p.is_file() and not p.is_symlink() else None
        if p.is_symlink() or (p.exists() and not p.is_dir()):
            p.unlink()
        elif p.is_dir():
            shutil.rmtree(p)
        p.parent.mkdir(parents=True, exist_ok=True)
        make(p, base)
    return step if make else (lambda sb, fx: None)


def w(f: Callable[[bytes], bytes]) -> Maker:
    return lambda p, base: p.write_bytes(f(base))


def link(target: str) -> Maker:
    return lambda p, base: p.symlink_to(target)


SPECIAL: dict[str, Maker] = {"fifo": lambda p, b: os.mkfifo(p), "directory": lambda p, b: p.mkdir(),
                             "symlink-loop": lambda p, b: p.symlink_to(p.name), "missing": lambda p, b: None}


# ---------------------------------------------------------------- out: output options at the user's files

@dataclass
class OutSpec:
    cmd: str
    flag: str
    base: list[str]                  # argv without the option
    names: tuple[str, ...] = ()      # the user's files named like what the option writes (only/NAME)
    label: str = ""
    resume: bool = False             # also with --resume
    sub: str = ""                    # the command writes into TARGET/sub: the user's files go there too
    copies: dict[str, str] = field(default_factory=dict)
    runs: bool = False               # matrix --report-only: valid bench files in TARGET/runs


OUT_SPECS = [
    OutSpec("run", "--out", ["run", *RUN]),
    OutSpec("run", "--gif", ["run", *RUN, "--out", "rec.json"]),
    OutSpec("run", "--qplot", ["run", *DQN, "--out", "rec.json"]),
    OutSpec("run", "--logdir", ["run", *DQN, "--out", "rec.json"], ("events.out.tfevents.1.mine",)),
    OutSpec("run", "--save", ["run", *RUN, "--out", "rec.json"], ("model.keras",), "tf2"),
    OutSpec("run", "--save", FIXTURE_CMDS["ck_tf1"][:6] + ["--out", "rec.json"], ("checkpoint",), "tf1"),
    OutSpec("run", "--save", FIXTURE_CMDS["pyl"][:6] + ["--out", "rec.json"], ("cartpole-dqn.h5",), "pylessons"),
    OutSpec("reproduce", "--out-dir", ["reproduce", *REPRO], RESULT_NAMES, resume=True),
    OutSpec("diff", "--out-dir", ["diff", *DIFF], RESULT_NAMES, resume=True, sub="pg-tang"),
    OutSpec("bench", "--out", ["bench", *BENCH], resume=True),
    OutSpec("bench", "--out-dir", ["bench", *BENCH], resume=True),
    OutSpec("compare", "--out-dir", ["compare", "in/base.json", "in/new.json"],
            ("compare.md", "compare.json", "compare.png", "index.html"), copies=CMP),
    OutSpec("matrix", "--out-dir", ["matrix", *MATRIX_RO],
            ("matrix.md", "matrix.json", "matrix.png", "compare.md", "index.html"), resume=True, runs=True),
    OutSpec("matrix", "--cache", ["matrix", "--tf", "2.15", "2.16", "--programs", "pg-tang", "--seeds", "1",
                                  "--iterations", "1", "--no-speed", "--workers", "1", "--out-dir", "mout"],
            ("tf-2.15",)),
    OutSpec("report", "--out", ["report", "in/record.json"], ("index.html",), copies={"in/record.json": "record.json"}),
    OutSpec("convert", "--out", ["convert", "pg-tang", "in/ck"], ("model.keras", "checkpoint"),
            copies={"in/ck": "ck_tf2"}),
    OutSpec("convert", "--out", ["convert", "dqn-pylessons", "in/pyl/cartpole-dqn.h5"],
            ("model.keras", "cartpole-dqn.h5"), "pylessons", copies={"in/pyl": "pyl"}),
    OutSpec("legacy", "--record", ["legacy", "--episodes", "1", "s.py"], ("env0-episode0001.gif",)),
    OutSpec("legacy", "--figures", ["legacy", "--episodes", "1", "s.py"], ("figure-001.png",)),
    OutSpec("legacy", "--report-out", ["legacy", "--episodes", "1", "s.py"]),
    OutSpec("legacy", "--out-dir", ["legacy", *LSEEDS, "s.py"], RESULT_NAMES, resume=True),
    OutSpec("speed", "--out", ["speed", *SPEED]),
    OutSpec("new", "--dir", ["new", "myprog"], ("myprog_pair.py", "test_myprog.py")),
    OutSpec("rerun", "--out", ["rerun", "in/rec.json"], copies={"in/rec.json": "rec_tf2.json"}),
]


def path_targets(kind: str, names=()) -> list[tuple[str, str, Maker | None]]:
    """(name, path, maker) of each place a careless user points a file or folder option at."""
    common = [("dangling-symlink", "dangling", link("missing/x")), ("symlink-loop", "loop", SPECIAL["symlink-loop"]),
              ("fifo", "fifo", SPECIAL["fifo"]), ("dev-null", "/dev/null", None),
              ("under-a-file", "user/photo.png/sub", None), ("new-nested", "new/deep/sub", None)]
    if kind == "file":
        return [(f"user-{n}", f"user/{n}", None) for n in FILE_TARGETS] + common + [
            ("folder", "user", None), ("symlink-to-file", "link.json", link("user/summary.json")),
            ("name-too-long", "n" * 250 + ".json", None)]
    return [("user-folder", "user", None), ("a-file", "user/photo.png", None), ("empty-folder", "empty", None),
            ("symlink-to-folder", "linkdir", link("user")), ("name-too-long", "d" * 255, None)] + common + [
            (f"only-{n}", f"only/{n}", None) for n in names]


def prepare_target(spec: OutSpec, rel: str) -> Step:
    def step(sb: Path, fx: Path) -> None:
        t = sb / rel
        if rel.startswith("/") or t.is_symlink() or not t.is_dir():
            return
        for child in list(t.iterdir()) if spec.sub else []:
            (t / spec.sub).mkdir(exist_ok=True)
            (shutil.copytree if child.is_dir() else shutil.copy2)(child, t / spec.sub / child.name)
        for name, fixture in MATRIX_RUNS.items() if spec.runs and (fx / "base.json").exists() else []:
            (t / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(fx / fixture, t / name)
    return step


def output_cases(options: dict[str, dict[str, str]]) -> list[Case]:
    cases = []
    for spec in OUT_SPECS:
        metavar = options.get(spec.cmd, {}).get(spec.flag)
        if metavar is None:
            continue  # not in --help any more
        kind = "dir" if "DIR" in metavar else "file"
        for resume in (False, True) if spec.resume else (False,):
            for name, rel, maker in path_targets(kind, spec.names):
                cid = f"out/{spec.cmd}/{spec.flag}{'-' * bool(spec.label)}{spec.label}{'+resume' * resume}/{name}"
                argv = [spec.base[0], spec.flag, rel, *["--resume"] * resume, *spec.base[1:]]
                writable = tuple(f"{rel}/{n}" for n in MATRIX_RUNS) if spec.runs else ()
                cases.append(Case(cid, argv, dict(spec.copies), [put(rel, maker), prepare_target(spec, rel)], writable))
    return cases


# ---------------------------------------------------------------- in: hostile JSON at every input read

def mutate(text: bytes, where: str, token: str) -> bytes:
    """The JSON ``text`` with ``token`` (raw JSON) in its first numeric field, the first one in a
    list, or every one."""
    def numeric(data, path=()):
        if isinstance(data, (int, float)) and not isinstance(data, bool):
            yield path
        items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
        for key, value in items:
            yield from numeric(value, path + (key,))
    data = json.loads(text)
    paths = list(numeric(data))
    paths = {"first": paths[:1], "all": paths,
             "in-list": [p for p in paths if any(isinstance(k, int) for k in p)][:1]}[where]
    for p in paths:
        obj = data
        for key in p[:-1]:
            obj = obj[key]
        obj[p[-1]] = SENTINEL
    return json.dumps(data).replace(json.dumps(SENTINEL), token).encode()


def json_payloads() -> dict[str, Maker]:
    out = {"empty": w(lambda b: b""), "binary-junk": w(lambda b: JUNK), "top-array": w(lambda b: b"[]\n"),
           "deep-list": w(lambda b: b"[" * 100000 + b"]" * 100000), "foreign": w(lambda b: b'{"mine": 1}\n'),
           "deep-dict": w(lambda b: b'{"a":' * 100000 + b"1" + b"}" * 100000),
           "truncated": w(lambda b: b[: len(b) // 2]), "non-utf8": w(lambda b: b.replace(b'"', b'"\xe9', 1)),
           "bom": w(lambda b: b"\xef\xbb\xbf" + b), **SPECIAL, "bigint@first": w(lambda b: mutate(b, "first", BIGINT))}
    for token, wheres in (("1e308", ("all", "in-list")), ("-1e308", ("in-list",)), ("NaN", ("all", "in-list")),
                          ("1e400", ("in-list",)), ('"12"', ("all", "in-list")), ("null", ("in-list",))):
        for where in wheres:
            out[f"{token.strip(chr(34))}@{where}"] = w(lambda b, t=token, wh=where: mutate(b or b"{}", wh, t))
    return out


LEGACY_AB = {"A": "legacy", "B": "legacy"}
POSITIONS = [  # (name, where the hostile file goes (a glob: in the copied fixture), argv, copies, writable)
    ("compare-base", "in/base.json", ["compare", "in/base.json", "in/new.json", "--out-dir", "out"], CMP, ()),
    ("compare-new", "in/new.json", ["compare", "in/base.json", "in/new.json", "--out-dir", "out"], CMP, ()),
    ("compare-legacy-summary", "A/summary.json", ["compare", "A", "B", "--out-dir", "out"], LEGACY_AB, ()),
    ("compare-legacy-run", "A/runs/*.json", ["compare", "A", "B", "--out-dir", "out"], LEGACY_AB, ()),
    ("report-record", "in/record.json", ["report", "in/record.json", "--out", "out"],
     {"in/record.json": "record.json"}, ()),
    ("report-bench", "in/base.json", ["report", "in/base.json", "--out", "out"], {"in/base.json": "base.json"}, ()),
    ("report-summary-dir", "rp/summary.json", ["report", "rp", "--out", "out"], {"rp": "rp"}, ()),
    ("report-compare-dir", "cj/compare.json", ["report", "cj", "--out", "out"],
     {"cj/compare.json": "compare.json"}, ()),
    ("plan-from", "in/plan.json", ["reproduce", "--full", "--plan-from", "in/plan.json", *REPRO, "--max-seeds", "1",
                                   "--out-dir", "out"], {"in/plan.json": "plan.json"}, ()),
    ("reproduce-resume-record", "rp/runs/*.json", ["reproduce", *REPRO, "--resume", "--out-dir", "rp"], {"rp": "rp"},
     ("rp",)),
    ("reproduce-resume-summary", "rp/summary.json", ["reproduce", *REPRO, "--resume", "--out-dir", "rp"], {"rp": "rp"},
     ("rp",)),
    ("diff-resume-record", "df/pg-tang/runs/*.json", ["diff", *DIFF, "--resume", "--out-dir", "df"], {"df": "df"},
     ("df",)),
    ("bench-resume", "in/bench.json", ["bench", *BENCH, "--resume", "--out", "in/bench.json"],
     {"in/bench.json": "bench.json"}, ("in/bench.json",)),
    ("matrix-report-only", "mx/runs/tf-2.16.json", ["matrix", *MATRIX_RO, "--out-dir", "mx"],
     {f"mx/{k}": v for k, v in MATRIX_RUNS.items()}, ("mx",)),
    ("legacy-resume-run", "ls/runs/*.json", ["legacy", *LSEEDS, "--resume", "--out-dir", "ls", "s.py"], {"ls": "ls"},
     ("ls",)),
    ("legacy-resume-summary", "ls/summary.json", ["legacy", *LSEEDS, "--resume", "--out-dir", "ls", "s.py"],
     {"ls": "ls"}, ("ls",)),
    ("legacy-notebook", "nb.ipynb", ["legacy", "--episodes", "1", "nb.ipynb"], {}, ()),
    ("rerun-record", "in/rec.json", ["rerun", "in/rec.json", "--out", "out.json"], {"in/rec.json": "rec_tf2.json"}, ()),
]


def input_cases() -> list[Case]:
    return [Case(f"in/{name}/{pname}", argv, dict(copies), [put(at, make)], writable)
            for name, at, argv, copies, writable in POSITIONS for pname, make in json_payloads().items()]


# ---------------------------------------------------------------- model: .h5, .keras, TF1 checkpoints

def model_payloads() -> dict[str, dict[str, tuple[str, Maker | None]]]:
    """kind -> {name: (where inside the model's path, maker)}: .h5 and .keras files made from the
    valid ones by h5py and zipfile, TF1 checkpoint folders changed file by file."""
    def h5(edit) -> Maker:
        def make(p, base):
            import h5py

            p.write_bytes(base)
            with h5py.File(p, "r+") as f:
                edit(f)
        return make

    def layer(f):  # the first layer group of model_weights that holds weights (Keras 2's layout)
        g = f["model_weights"]
        return next(g[n] for n in g.attrs["layer_names"] if len(g[n].attrs.get("weight_names", [])))

    def kernel(f, shape=None):  # the first kernel: NaN everywhere, or zeros of another shape
        g = layer(f)
        name = next(n for n in g.attrs["weight_names"] if "kernel" in str(n))
        if shape is None:
            g[name][...] = float("nan")
            return
        del g[name]
        g[name] = [[0.0] * shape[1]] * shape[0]

    def units(token):
        def edit(f):
            cfg = json.loads(f.attrs["model_config"])
            next(x for x in cfg["config"]["layers"] if x["class_name"] == "Dense")["config"]["units"] = SENTINEL
            f.attrs["model_config"] = json.dumps(cfg).replace(json.dumps(SENTINEL), token)
        return h5(edit)

    def attr(key, value=None, at=lambda f: f):  # set (or delete) an attribute
        return h5(lambda f: at(f).attrs.__setitem__(key, value) if value is not None else at(f).attrs.__delitem__(key))

    def foreign(p, base):
        import h5py

        with h5py.File(p, "w") as f:
            f["mine"] = [1.0, 2.0]

    def keras(edit, member="config.json"):  # the valid .keras (a zip) with ``member`` edited (None: dropped)
        def make(p, base):
            src, buf = zipfile.ZipFile(io.BytesIO(base)), io.BytesIO()
            with zipfile.ZipFile(buf, "w") as dst:
                for item in src.infolist():
                    data = src.read(item)
                    if not item.filename.endswith(member) or (data := edit(data)) is not None:
                        dst.writestr(item, data)
            p.write_bytes(buf.getvalue())
        return make

    def keras_units(token):
        return keras(lambda b: re.sub(rb'"units": \d+', b'"units": ' + token.encode(), b, count=1))

    def only_checkpoint_file(p, base):
        p.mkdir()
        (p / "checkpoint").write_bytes(USER_FILES["checkpoint"])

    common = {"empty": w(lambda b: b""), "binary-junk": w(lambda b: JUNK), "truncated-2k": w(lambda b: b[:2048]),
              "truncated-half": w(lambda b: b[: len(b) // 2]), "user-text": w(lambda b: USER_FILES["model.keras"]),
              **SPECIAL}
    h5s = {"valid": None, "layer-names-int": attr("layer_names", 5, lambda f: f["model_weights"]),
           "units-1e400": units("1e400"), "units-string": units('"sixty-four"'), "units-bigint": units(BIGINT),
           "units-negative": units("-1"), "config-not-json": attr("model_config", "{x"),
           "config-deep": attr("model_config", "[" * 100000 + "]" * 100000), "config-missing": attr("model_config"),
           "config-non-utf8": attr("model_config", b"\xff\xfe{"), "weight-names-int": attr("weight_names", 3, layer),
           "kernel-wrong-shape": h5(lambda f: kernel(f, (3, 3))), "kernel-nan": h5(kernel),
           "signature-then-junk": w(lambda b: b[:8] + JUNK), "foreign-h5": foreign, **common}
    kerases = {"valid": None, "config-deep": keras(lambda b: b"[" * 100000 + b"]" * 100000),
               "config-not-json": keras(lambda b: b"{x"), "units-bigint": keras_units(BIGINT),
               "units-1e400": keras_units("1e400"), "units-string": keras_units('"sixty-four"'),
               "no-weights": keras(lambda b: None, ".h5"), **common}
    ckpt = {"valid": ("", None), "only-user-checkpoint-file": ("", only_checkpoint_file),
            "points-elsewhere": ("/checkpoint", w(lambda b: b'model_checkpoint_path: "../../user/photo.png"\n')),
            "checkpoint-non-utf8": ("/checkpoint", w(lambda b: b'model_checkpoint_path: "\xff\xfe"\n')),
            "index-junk": ("/*.index", w(lambda b: JUNK)), "index-truncated": ("/*.index", w(lambda b: b[:40])),
            "data-empty": ("/*.data-*", w(lambda b: b"")), **{n: ("", m) for n, m in SPECIAL.items()}}
    return {"h5": {n: ("", m) for n, m in h5s.items()}, "keras": {n: ("", m) for n, m in kerases.items()},
            "ckpt": ckpt}


MODEL_KINDS = {  # kind -> (fixture copied to in/m, the model's path, program, the form that saves it)
    "h5": ("pyl", "in/m/cartpole-dqn.h5", "dqn-pylessons", "tf1"),
    "keras": ("ck_tf2", "in/m/model.keras", "pg-tang", "tf2"),
    "ckpt": ("ck_tf1", "in/m", "pg-tang", "tf1"),
}


def model_cases() -> list[Case]:
    cases = []
    for kind, payloads in model_payloads().items():
        fixture, rel, program, own = MODEL_KINDS[kind]
        other = {"tf1": "tf2", "tf2": "tf1"}[own]
        for name, (inside, make) in payloads.items():
            for pos, argv in (("inspect", ["inspect", rel]), ("convert", ["convert", program, rel, "--out", "conv"]),
                              *((f"run-{fw}", ["run", program, "--framework", fw, "--load", rel, "--iterations", "0",
                                               "--out", "rec.json"]) for fw in (own, other))):
                cases.append(Case(f"model/{kind}/{pos}/{name}", argv, {"in/m": fixture}, [put(rel + inside, make)]))
    return cases


# ---------------------------------------------------------------- script: legacy scripts and --program-file

PY_PAYLOADS = {
    "empty": b"", "binary-junk": JUNK, "non-utf8": b"s = '\xe9t\xe9'\nprint(s)\n", "syntax-error": b"def f(:\n",
    "raises": b"raise RuntimeError('the script fails on its own')\n", "exit-3": b"import sys\nsys.exit(3)\n",
    "deep": b"x = " + b"(" * 100000 + b"1" + b")" * 100000 + b"\n", "bigint": b"x = int('" + BIGINT.encode() + b"')\n",
    "os-exit-at-import": b"import os\nos._exit(0)\n", "program-5": b"PROGRAM = 5\n",
    "programs-junk": b"PROGRAMS = [1, 'x', None]\n",
}


def script_cases() -> list[Case]:
    cases = [Case("script/legacy/not-a-py", ["legacy", "user/notes.txt"])]
    for name, make in {**{n: w(lambda b, d=d: d) for n, d in PY_PAYLOADS.items()}, **SPECIAL}.items():
        cases += [Case(f"script/legacy/{name}", ["legacy", "--episodes", "1", "h.py"], setup=[put("h.py", make)]),
                  Case(f"script/program-file/{name}", ["run", "basic-policy", "--out", "rec.json", "--program-file",
                                                       "h.py"], setup=[put("h.py", make)])]
    return cases


# ---------------------------------------------------------------- flag and value: abused options, misspelt names

NOT_NUMERIC = re.compile(r"DIR|FILE|PATH|TITLE|ADDRESS|SUMMARY|SUITE|VARIANT|MODE|VERSION|\.py|PROGRAM(?!=)|last10|\{")
VALUES = ("nan", "inf", "-1", "0", "1000000000000", "1e400", "abc")
MARGINS = ("pg-tnag=5", "=5", "pg-tang=", "pg-tang=nan", "pg-tang=5=6", "pg-tang=-1")
FLAG_BASES = {  # "cmd" or "cmd --flag" -> the argv a value is tried in
    "run": ["run", *RUN, "--out", "rec.json"],
    "run --takeover-margin": ["run", *DQN, "--takeover", "basic", "--out", "rec.json"],
    "reproduce": ["reproduce", *REPRO, "--out-dir", "out"],
    "diff": ["diff", *DIFF, "--out-dir", "out"],
    "bench": ["bench", *BENCH, "--out", "b.json"],
    "bench --speed": ["bench", "--programs", "pg-tang", "--frameworks", "tf2", "--no-reward", "--speed-modes", "fast",
                      "--speed-iterations", "1", "--repeats", "1", "--out", "b.json"],
    "compare": ["compare", "in/base.json", "in/new.json", "--out-dir", "out"],
    "matrix": ["matrix", *MATRIX_RO, "--out-dir", "mx"],
    "legacy": ["legacy", "--episodes", "1", "s.py"],
    "legacy --seeds": ["legacy", *LSEEDS, "--out-dir", "out", "s.py"],
    "speed": ["speed", *SPEED, "--out", "s.json"],
}
FLAG_COPIES = {"compare": CMP, "matrix": {f"mx/{k}": v for k, v in MATRIX_RUNS.items()}}


def flag_base(cmd: str, flag: str) -> list[str] | None:
    if cmd == "legacy" and flag in ("--seeds", "--workers", "--margin", "--outcome", "--collapse-below"):
        return FLAG_BASES["legacy --seeds"]
    if cmd == "bench" and flag in ("--speed-iterations", "--repeats"):
        return FLAG_BASES["bench --speed"]
    return FLAG_BASES.get(f"{cmd} {flag}", FLAG_BASES.get(cmd))


def with_option(base: list[str], flag: str, value: str) -> list[str]:
    """``base`` with ``flag value`` first (legacy's script must stay last), any other ``flag`` dropped."""
    rest = [a for i, a in enumerate(base[1:], 1) if a != flag and base[i - 1] != flag]
    return [base[0], flag, value, *rest]


def flag_cases(options: dict[str, dict[str, str]], timeout: float) -> list[Case]:
    return [Case(f"flag/{cmd}/{flag}/{v}", with_option(flag_base(cmd, flag), flag, v), dict(FLAG_COPIES.get(cmd, {})),
                 timeout=timeout)
            for cmd, opts in options.items() for flag, metavar in opts.items()
            if metavar and not NOT_NUMERIC.search(metavar) and flag_base(cmd, flag)
            for v in VALUES + (MARGINS if "PROGRAM=" in metavar else ())]


BAD_VALUES = [  # (argv with "{}" for the value, values; a tuple is several arguments)
    (["run", "{}", "--out", "rec.json"], ["pg-tnag", "", "pg-tang:nope", "../../etc/passwd", "-"]),
    (["run", "pg-tang", "--variant", "{}", "--out", "rec.json"], ["nope", ""]),
    (["reproduce", "--programs", "{}", "--seeds", "1", "--workers", "1", "--out-dir", "out"],
     ["pg-tnag", "pg-tang:nope", ":", "pg-tang:book:x"]),
    (["diff", "{}", "--out-dir", "out"], ["pg-tnag", "pg-tang:nope", "basic-policy"]),
    (["bench", "--suite", "{}", "--out", "b.json"], ["nope", ""]),
    (["bench", "--programs", "{}", "--seeds", "1", "--no-speed", "--workers", "1", "--out", "b.json"],
     ["pg-tnag", "pg-tang:nope"]),
    (["matrix", "--tf", "{}", "--report-only", "--out-dir", "mx"],
     [("2.5", "2.6"), ("2.15", "2.15"), "2.15", ("3.0", "3.1")]),
    (["legacy", *LSEEDS, "--against", "{}", "--out-dir", "out", "s.py"],
     ["nope.py", "tf9.99", "tf2.5", "user/notes.txt"]),
    (["compare", "--modes", "{}", "in/base.json"], [("fast", "nope"), ("book", "book")]),
    (["inspect", "{}"], ["", "-", "/dev/null", "user", "user/notes.txt"]),
    (["new", "{}", "--dir", "np"], ["", "My Prog", "../escape", "x" * 300, "run"]),
    (["report", "{}", "--out", "out"], ["/dev/null", "user", "user/notes.txt", "nope"]),
    (["report", "in/record.json", "--title", "{}", "--out", "out"], ["", "<script>alert(1)</script>", "x" * 100000]),
    (["{}"], ["", "nope", "--nope"]),
]


def value_cases(timeout: float) -> list[Case]:
    cases = []
    for template, values in BAD_VALUES:
        slot = template.index("{}")
        where = template[slot - 1] if slot and template[slot - 1].startswith("--") else "arg"
        copies = {"in/record.json": "record.json"} if "in/record.json" in template else dict(CMP)
        for v in values:
            values = list(v) if isinstance(v, tuple) else [v]
            argv = [a for t in template for a in (values if t == "{}" else [t])]
            cmd = template[0] if slot else "tfrepro"
            cases.append(Case(f"value/{cmd}/{where}/{' '.join(values)[:40]}", argv, copies, timeout=timeout))
    return cases


# ---------------------------------------------------------------- signal and disk

LONG = {  # long commands: (argv, copies)
    "legacy": (["legacy", "loop.py"], {}),
    "legacy-seeds": (["legacy", "--seeds", "0..3", "--workers", "1", "--out-dir", "out", "loopenv.py"], {}),
    "reproduce": (["reproduce", "--programs", "pg-tang", "--seeds", "30", "--workers", "1", "--out-dir", "out"], {}),
    "bench": (["bench", "--programs", "pg-tang", "--seeds", "30", "--frameworks", "tf2", "--no-speed", "--workers", "1",
               "--out", "b.json"], {}),
    "diff": (["diff", "pg-tang", "--seeds", "30", "--workers", "1", "--out-dir", "out"], {}),
    "speed": (["speed", "--programs", "pg-tang", "--repeats", "1", "--lockstep-seeds", "0"], {}),
    "run-load-cross": (["run", "pg-tang", "--framework", "tf1", "--load", "in/ck", "--out", "rec.json"],
                       {"in/ck": "ck_tf2"}),
}
SIGNALS = [("int-group-4s", signal.SIGINT, 4, True), ("int-group-15s", signal.SIGINT, 15, True),
           ("int-main-15s", signal.SIGINT, 15, False), ("term-main-15s", signal.SIGTERM, 15, False),
           ("kill-main-15s", signal.SIGKILL, 15, False)]
FULL = [("new", ["new", "myprog", "--dir", "full/np"], {}),
        ("report", ["report", "in/record.json", "--out", "full/rep"], {"in/record.json": "record.json"}),
        ("compare", ["compare", "in/base.json", "in/new.json", "--out-dir", "full/cmp"], CMP),
        ("run-out", ["run", *RUN, "--out", "full/rec.json"], {}),
        ("run-save", ["run", *RUN, "--save", "full/ck", "--out", "rec.json"], {}),
        ("speed", ["speed", *SPEED, "--out", "full/s.json"], {}),
        ("legacy-report-out", ["legacy", "--episodes", "1", "--report-out", "full/r.md", "s.py"], {}),
        ("tmpdir-full", ["run", "pg-tang", "--framework", "tf1", "--load", "in/ck", "--iterations", "0", "--out",
                         "rec.json"], {"in/ck": "ck_tf2"})]
FULL_SH = ('mount -t tmpfs -o size=64k tmpfs full || exit 99; mkdir full/tmp; cat /dev/zero > full/filler 2>/dev/null;'
           ' truncate -s -"$SWEEP_FREE" full/filler; "$@"; rc=$?;'
           ' (cd full && find . -mindepth 1 ! -type d ! -name filler) > "$SWEEP_LISTING"; exit $rc')
# tmpdir-full leaves 8 KB free: Python's tempfile takes another folder when it cannot write a probe file in TMPDIR


def signal_cases() -> list[Case]:
    return [Case(f"signal/{name}/{sname}", argv, dict(copies), signal=(sig, delay, group))
            for name, (argv, copies) in LONG.items() for sname, sig, delay, group in SIGNALS]


def _default_signals() -> None:
    for sig in (signal.SIGINT, signal.SIGQUIT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)


def disk_cases() -> list[Case]:
    return [Case(f"disk/{name}", argv, dict(copies), [put("full", SPECIAL["directory"])], fulldisk=True)
            for name, argv, copies in FULL]


# ---------------------------------------------------------------- running and judging one case

def snapshot(root: Path, skip: tuple[str, ...]) -> dict[str, tuple[str, int]]:
    """rel path -> (sha256, link target or file type; mtime) of every file, link and pipe under ``root``."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, root)
            if any(rel == s or rel.startswith(s + "/") for s in skip) or "__pycache__" in rel:
                continue
            st = os.lstat(p)
            if stat.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    sig = hashlib.sha256(f.read()).hexdigest()
            else:
                sig = "link:" + os.readlink(p) if stat.S_ISLNK(st.st_mode) else f"type:{stat.S_IFMT(st.st_mode)}"
            out[rel] = (sig, st.st_mtime_ns)
    return out


def marked(token: str) -> list[tuple[int, str]]:
    """(pid, command line) of the live processes whose environment carries the case's marker."""
    needle, found = f"{MARKER}={token}".encode(), []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                if needle not in f.read().split(b"\0"):
                    continue
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                found.append((int(pid), f.read().replace(b"\0", b" ").decode(errors="replace")[:200]))
        except OSError:
            continue
    return found


def leftovers(token: str, grace: float = 3.0) -> list[tuple[int, str]]:
    """The marked processes still alive ``grace`` s after the command ended (then ended, by pid)."""
    deadline = time.monotonic() + grace
    while (left := marked(token)) and time.monotonic() < deadline:
        time.sleep(0.25)
    for pid, _ in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    return left


def package_tracebacks(text: str, cdir: str) -> list[str]:
    """"Exception @ innermost package frame" of each traceback through the package's files; one
    whose innermost frames are a user's script (under legacy) is the script's own."""
    def ours(f):
        return f.startswith(PKG_DIRS) or ("/tfrepro/" in f and not f.startswith(cdir))
    out = []
    for block in text.split("Traceback (most recent call last):")[1:]:
        frames = re.findall(r'^\s*File "([^"]+)", line (\d+)', block, re.MULTILINE)
        pkg = [i for i, (f, _) in enumerate(frames) if ours(f)]
        user = [i for i, (f, _) in enumerate(frames) if not f.startswith(("<", *PKG_DIRS))
                and (not f.startswith("/") or f.startswith(cdir))]
        if pkg and (not user or max(pkg) > max(user)):
            exc = next((ln for ln in block.splitlines() if ln and not ln[0].isspace()), "?")
            f, line = frames[pkg[-1]]
            out.append(f"{exc[:160]} @ {f.replace(str(ROOT) + '/', '')}:{line}")
    return out


@dataclass
class Ctx:
    out: Path
    env: dict
    timeout: float
    keep: bool
    fulldisk_reason: str = ""


def run_case(case: Case, token: str, ctx: Ctx) -> dict:
    cdir = ctx.out / "cases" / token
    shutil.rmtree(cdir, ignore_errors=True)
    sb, tmp, fx = cdir / "sb", cdir / "tmp", ctx.out / "fixtures"
    shutil.copytree(ctx.out / "template", sb, symlinks=True)
    tmp.mkdir()
    for dest, name in case.copies.items():
        (sb / dest).parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if (fx / name).is_dir() else shutil.copy2)(fx / name, sb / dest)
    try:
        for step in case.setup:
            step(sb, fx)
    except Exception as e:  # noqa: BLE001  (a fixture changed shape: the case cannot be built, the sweep goes on)
        return {"id": case.id, "argv": case.argv, "skipped": f"setup failed: {type(e).__name__}: {e}"[:300]}
    before = snapshot(sb, case.writable)
    in_full = case.id == "disk/tmpdir-full"
    env = {**ctx.env, MARKER: token, "SWEEP_LISTING": str(cdir / "full-listing.txt"), "SWEEP_FREE": "8k" if in_full
           else "0", "TMPDIR": str(sb / "full/tmp" if in_full else tmp)}
    cmd = [sys.executable, "-m", "tfrepro", *case.argv]
    if case.fulldisk:
        cmd = ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", FULL_SH, "sh", *cmd]
    timed_out = signalled = False
    t0 = time.monotonic()
    with open(cdir / "stdout", "wb") as out, open(cdir / "stderr", "wb") as err:
        # signals as a terminal's foreground job has them, whatever the sweep inherited (``&`` ignores SIGINT)
        proc = subprocess.Popen(cmd, cwd=sb, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                start_new_session=True, preexec_fn=_default_signals)
        if case.signal:
            sig, delay, group = case.signal
            try:
                proc.wait(delay)
            except subprocess.TimeoutExpired:
                (os.killpg if group else os.kill)(proc.pid, sig)
                signalled = True
        try:
            rc = proc.wait(case.timeout or ctx.timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(proc.pid, signal.SIGKILL)
            rc = proc.wait()
    seconds = time.monotonic() - t0
    procs = leftovers(token)
    tmp_left = sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*"))
    after = snapshot(sb, case.writable)
    text = (cdir / "stderr").read_bytes().decode("utf-8", "replace")

    lines = [ln.strip() for ln in re.split(r"[\r\n]+", text) if ln.strip()]
    said = [ln for ln in lines if ln.startswith("tfrepro") and ": warning:" not in ln]
    tbs = package_tracebacks(text, str(cdir))
    scripts_own = case.argv[:1] == ["legacy"] and not said and not tbs  # the script's exit code, passed on
    error = not timed_out and rc > 0 and not scripts_own and (rc != 1 or bool(said or tbs))
    created = sorted(set(after) - set(before))
    if (cdir / "full-listing.txt").exists():
        created += [f"full/{ln[2:]}" for ln in (cdir / "full-listing.txt").read_text().splitlines() if ln.strip()]
    flags = {
        "traceback": bool(tbs),
        "not_one_line": error and not tbs and len(said) != 1,
        "replaced": sorted(p for p, (sig, _) in before.items() if after.get(p, ("",))[0] != sig),
        "procs_left": [f"{pid} {cmdline}" for pid, cmdline in procs],
        "tmp_left": [] if case.id == "disk/tmpdir-full" else tmp_left[:20],
        "timeout": timed_out,
        "wrote_on_error": created[:20] if rc == 2 or (case.fulldisk and rc not in (0, 1)) else [],
    }
    failed = any(flags.values())
    if not failed and not ctx.keep:
        shutil.rmtree(cdir, ignore_errors=True)
    touched = [p for p, (sig, mtime) in before.items() if after.get(p, (sig, mtime)) != (sig, mtime)
               and after[p][0] == sig]
    return {"id": case.id, "token": token, "argv": case.argv, "exit": rc, "seconds": round(seconds, 1),
            "signalled": signalled, "error": error, "clean_error": error and not tbs and len(said) == 1,
            "failed": failed, **flags, "touched_same_bytes": touched[:20], "tracebacks": tbs, "said": said[:3],
            "stderr_tail": lines[-5:]}


# ---------------------------------------------------------------- --help, the cases, the report

def help_options() -> dict[str, dict[str, str]]:
    """subcommand -> {--flag: metavar ('' for a switch)}, read from each subcommand's --help."""
    def helptext(*cmd):
        argv = [sys.executable, "-m", "tfrepro", *cmd, "--help"]
        return subprocess.run(argv, capture_output=True, text=True, check=False).stdout
    option = re.compile(r"^ {2}(?:-\w, )?(--[\w-]+)(?: (\S+))?", re.MULTILINE)
    section = helptext().split("positional arguments:")[1].split("options:")[0]
    return {cmd: {m.group(1): m.group(2) or "" for m in option.finditer(helptext(cmd)) if m.group(1) != "--help"}
            for cmd in re.findall(r"^ {4}(\w[\w-]*)", section, re.MULTILINE)}


def all_cases(options: dict, quick_timeout: float) -> list[Case]:
    return (output_cases(options) + input_cases() + model_cases() + script_cases() + flag_cases(options, quick_timeout)
            + value_cases(quick_timeout) + signal_cases() + disk_cases())


def uncovered(options: dict) -> list[str]:
    """Output options in --help without `out` cases: new options the sweep should learn."""
    have = {(s.cmd, s.flag) for s in OUT_SPECS}
    return [f"{c} {f} {m}" for c, opts in options.items() for f, m in opts.items()
            if re.search(r"DIR|FILE", m) and f != "--program-file" and (c, f) not in have]


CLASSES = [("traceback", "tracebacks in the package"), ("not_one_line", "errors not one line"),
           ("replaced", "user files replaced, modified or removed"), ("procs_left", "processes left"),
           ("tmp_left", "TMPDIR leftovers"), ("timeout", "timeouts"),
           ("wrote_on_error", "files written by a command that failed (exit 2)")]


def totals(results: list[dict]) -> dict[str, int]:
    ran = [r for r in results if "skipped" not in r]
    t = {"cases run": len(ran), "skipped": len(results) - len(ran),
         "clean one-line errors": sum(r["clean_error"] for r in ran),
         "ran to the end (exit 0, or 1 for a verdict)": sum(not r["error"] and not r["timeout"] for r in ran)}
    t.update({label: sum(bool(r[key]) for r in ran) for key, label in CLASSES})
    t["failing cases (any class above)"] = sum(r["failed"] for r in ran)
    return t


def write_report(out: Path, results: list[dict], meta: dict) -> None:
    (out / "sweep.json").write_text(json.dumps({"meta": meta, "totals": totals(results), "cases": results}, indent=1))

    def cell(text) -> str:
        return str(text).replace("|", "\\|").replace("\n", " ")[:300]
    head = (f"Tree {meta['tree_start']}; at the end {meta.get('tree_end', '(still running)')}. "
            f"{meta.get('duration_s', 0) / 60:.1f} min. Timeout {meta['timeout']} s per case "
            f"({meta['quick_timeout']} s for flag and value cases). Full disk: {meta['fulldisk']}.")
    md = [f"# Hostile sweep of tfrepro ({meta['started']})", "", head, "", "| class | cases |", "|---|---|"]
    md += [f"| {k} | {v} |" for k, v in totals(results).items()]
    families: dict[str, list] = {}
    for r in results:
        families.setdefault(r["id"].split("/")[0], []).append(r)
    md += ["", "| family | cases | failing |", "|---|---|---|"]
    md += [f"| {f} | {len(rs)} | {sum(r.get('failed', False) for r in rs)} |" for f, rs in families.items()]
    for key, what in (("fixtures_missing", "Fixtures not made (their cases skipped)"),
                      ("uncovered", "Output options in --help without cases")):
        if meta.get(key):
            md += ["", f"{what}: {cell(meta[key])}"]
    by_tb: dict[str, list] = {}
    for r in results:
        for tb in dict.fromkeys(r.get("tracebacks", [])):
            by_tb.setdefault(tb, []).append(r["id"])
    md += ["", "## Tracebacks in the package, by exception and innermost package frame", "",
           "| cases | exception @ frame | cases (first 6) |", "|---|---|---|"]
    md += [f"| {len(ids)} | {cell(tb)} | {cell(', '.join(ids[:6]))} |"
           for tb, ids in sorted(by_tb.items(), key=lambda x: -len(x[1]))]
    for key, label in CLASSES:
        rows = [r for r in results if r.get(key)]
        md += ["", f"## {label}: {len(rows)}", "", "| case | exit | argv | detail | stderr, last line |",
               "|---|---|---|---|---|"]
        md += [f"| {cell(r['id'])} | {r['exit']} | `{cell(' '.join(r['argv']))}` | "
               f"{cell(r['said'] if key == 'not_one_line' else r['seconds'] if key == 'timeout' else r[key])} | "
               f"{cell((r['stderr_tail'] or [''])[-1])} |" for r in rows]
    (out / "sweep.md").write_text("\n".join(md) + "\n")


def tree_state() -> str:
    def git(*a):
        return subprocess.run(["git", "-C", str(ROOT), *a], capture_output=True, text=True, check=False).stdout
    diff = hashlib.sha1(git("diff", "HEAD").encode()).hexdigest()[:10]
    return f"{git('rev-parse', '--short', 'HEAD').strip()} + {len(git('status', '--porcelain').splitlines())} " \
           f"changed files (diff {diff})"


def fulldisk_reason() -> str:
    """'' when a user namespace can mount a tmpfs (no root needed), else why not."""
    try:
        probe = "d=$(mktemp -d) && mount -t tmpfs -o size=8k tmpfs $d && umount $d; rc=$?; rmdir $d; exit $rc"
        p = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", probe],
                           capture_output=True, text=True, check=False, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"skipped: unshare unavailable ({e})"
    return "" if p.returncode == 0 else f"skipped: no tmpfs in a user namespace ({p.stderr.strip()[:200]})"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("/tmp/sweep-run"), help="results folder (default: %(default)s)")
    ap.add_argument("--only", action="append", default=[], metavar="SUBSTRING",
                    help="only the cases whose id holds SUBSTRING (repeatable: any of them)")
    ap.add_argument("--timeout", type=float, default=120, help="seconds per case (default: %(default)s)")
    ap.add_argument("--quick-timeout", type=float, default=30, help="seconds per flag or value case: an absurd "
                    "value accepted runs until then (default: %(default)s)")
    ap.add_argument("--list", action="store_true", help="print the cases and exit")
    ap.add_argument("--keep", action="store_true", help="keep the folders of passing cases too")
    args = ap.parse_args()

    options = help_options()
    cases = [c for c in all_cases(options, min(args.quick_timeout, args.timeout))
             if not args.only or any(s in c.id for s in args.only)]
    assert len({c.id for c in cases}) == len(cases), "case ids must be unique"
    if args.list:
        for c in cases:
            print(f"{c.id}\t{' '.join(c.argv)[:200]}")
        print(f"{len(cases)} cases", file=sys.stderr)
        return 0

    from tqdm import tqdm

    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k != MARKER}
    env.update(XDG_CACHE_HOME=str(out / "xdg-cache"), PIP_NO_INDEX="1", UV_OFFLINE="1", PYTHONUNBUFFERED="1",
               # this tree's package, not an editable install's (which may point at another checkout)
               PYTHONPATH=os.pathsep.join(x for x in (str(ROOT), os.environ.get("PYTHONPATH")) if x))
    ctx = Ctx(out, env, args.timeout, args.keep, fulldisk_reason())
    shutil.rmtree(out / "template", ignore_errors=True)
    build_template(out / "template")
    needed = {n for c in cases for n in c.copies.values()}
    print(f"making fixtures: {', '.join(sorted(needed))}", file=sys.stderr)
    missing = make_fixtures(out, env, needed)
    meta = {"started": time.strftime("%Y-%m-%d %H:%M:%S"), "tree_start": tree_state(), "timeout": args.timeout,
            "quick_timeout": args.quick_timeout, "fulldisk": ctx.fulldisk_reason or "a full tmpfs in a user namespace",
            "fixtures_missing": missing, "uncovered": uncovered(options), "only": args.only}
    results, t0 = [], time.monotonic()
    bar = tqdm(cases, unit="case", dynamic_ncols=True, mininterval=5)
    for i, case in enumerate(bar):
        bar.set_description(case.id[:50])
        lacking = [n for n in case.copies.values() if n in missing]
        if lacking or (case.fulldisk and ctx.fulldisk_reason):
            results.append({"id": case.id, "argv": case.argv,
                            "skipped": f"fixture {lacking[0]} missing" if lacking else ctx.fulldisk_reason})
            continue
        results.append(run_case(case, f"{i:04d}", ctx))
        bar.set_postfix(failing=sum(r.get("failed", False) for r in results),
                        tracebacks=sum(bool(r.get("traceback")) for r in results))
        if i % 10 == 0:
            meta["duration_s"] = round(time.monotonic() - t0)
            write_report(out, results, meta)
    meta.update(duration_s=round(time.monotonic() - t0), tree_end=tree_state())
    write_report(out, results, meta)
    for k, v in totals(results).items():
        print(f"{k}: {v}")
    print(f"took {meta['duration_s'] / 60:.1f} min; {out / 'sweep.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
