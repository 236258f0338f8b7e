"""``tfrepro legacy SCRIPT.py``: a TF1-era script run unchanged, in a fresh process, with shims for
the script's own imports (``tfrepro.tools.legacy``)."""
from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from ..core.errors import UsageError
from . import argtypes

DESCRIPTION = """\
Run SCRIPT.py, or a notebook's code cells in order, written for the TF1 era (TensorFlow 1.x,
Keras 1-2, gym 0.10-0.21, Python 2 or 3, NumPy 1.x), unchanged, in a fresh process on today's
TensorFlow. Every module of the script's own (beside it, its subpackages, folders it adds to
sys.path) sees the shims: `tensorflow` is tf.compat.v1 in graph mode with tf.contrib's common
subset (TF 1.15 meanings); `keras` is Keras 2 building into TF1 graphs (Keras 1 arguments
converted as Keras 2 did, lr= honoured, one session for all threads); `gym` is gym 0.21's API
over gymnasium (the era's ids, toy text, custom environments, headless render, Monitor);
Python 2 files are translated by 2to3's fixers (fissix) and IPython lines by IPython's own
transformers as they load; NumPy 1.x's, Python 3.7's and SciPy 1.2's behaviour the era relied
on is kept; plt.show() never blocks. Nothing is installed. The exit code is the script's (2
for a name outside the shims or a missing module, in one line; 1 when a thread or child
process of the script failed). docs/legacy.md lists what is covered."""


def _positive(text):
    v = argtypes.count(text)
    if v < 1:
        raise argparse.ArgumentTypeError(f"invalid count {v} (must be >= 1)")
    return v


def _seconds(text):
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number of seconds {text!r}") from None
    if not (v > 0 and v < 1e9):
        raise argparse.ArgumentTypeError(f"invalid number of seconds {text!r} (must be > 0)")
    return v


def _seeds(text):
    from ..tools.legacy.runs import parse_seeds

    try:
        return parse_seeds(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _finite(text):
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number {text!r}") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"invalid number {text!r}: it must be finite")
    return v


def _margin(text):
    key, v = argtypes.margin(text)  # the other commands' --margin, without a program's name
    if key != "*":
        raise argparse.ArgumentTypeError(f"invalid margin {text!r} (a positive number of return points)")
    return v


def _outcome(text):
    if text in ("last10", "mean") or (text.startswith("last") and text[4:].isdigit() and int(text[4:]) > 0):
        return text
    raise argparse.ArgumentTypeError(f"invalid outcome {text!r} (last10, mean or lastN)")


def add_parser(sub):
    p = sub.add_parser("legacy", help="run a TF1-era script unchanged on today's TensorFlow",
                       description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--episodes", type=_positive, metavar="N",
                   help="end the script cleanly after N episodes (counted at reset, over all its "
                        "environments); exit 0")
    p.add_argument("--steps", type=_positive, metavar="N",
                   help="end the script cleanly after N environment steps (over all its environments); "
                        "exit 0. For scripts that train on thousands of steps per update")
    p.add_argument("--seconds", type=_seconds, metavar="S",
                   help="end the script cleanly after S seconds (counted from its start, TensorFlow's "
                        "import included); exit 0")
    p.add_argument("--seed", type=argtypes.seed, metavar="N",
                   help="seed Python, NumPy, TensorFlow and every environment the script makes "
                        "(the k-th gets N+k), so that two runs print the same")
    p.add_argument("--record", metavar="DIR",
                   help="write the frames the script renders, one GIF (or MP4) per episode, into DIR")
    p.add_argument("--record-format", choices=("gif", "mp4"), default="gif", help="for --record (default gif)")
    p.add_argument("--figures", metavar="DIR", help="save each figure to DIR when the script calls plt.show()")
    p.add_argument("--report", action="store_true",
                   help="at the end, a migration report: every TF1 / tf.contrib / Keras 2 / gym 0.21 / "
                        "Python 2 construct the script ran, where (file:line), its TF2 / gymnasium "
                        "form, and which change numbers (Markdown on stderr)")
    p.add_argument("--json", action="store_true", help="the report as JSON (implies --report)")
    p.add_argument("--report-out", metavar="FILE", help="write the report to FILE instead of stderr")
    g = p.add_argument_group("many seeds, a record each, and a verdict against a port (docs/legacy.md)")
    g.add_argument("--seeds", type=_seeds, metavar="A..B",
                   help="run the script once per seed (A..B, N for 0..N-1, or a list with commas), each in "
                        "a fresh process and a fresh copy of its folder; every episode's return and length "
                        "captured at the environment; records, summary, table, curves in --out-dir")
    g.add_argument("--against", metavar="PORT.py|tf1.15|tfX.Y",
                   help="with --seeds: also run PORT.py (your TF2 / gymnasium port, as it is) on the same "
                        "seeds, verdict on PORT - SCRIPT; or tf1.15: the same script on real TensorFlow 1.15 "
                        "with gym 0.21 (Python 3.7; Python 2 code on Python 2.7 with gym 0.16), verdict on "
                        "today - TF 1.15; or tfX.Y (2.12 and later): the same script through this runner on "
                        "that TensorFlow release (matrix's cached environment), verdict on today - tfX.Y")
    g.add_argument("--workers", type=_positive, default=2, metavar="N", help="runs at a time (default 2)")
    argtypes.add_backend_arguments(g, "the script's runs")
    g.add_argument("--out-dir", metavar="DIR", help="where the runs and the summary go (default: a new "
                                                    "legacy-seeds-<time> folder)")
    g.add_argument("--resume", action="store_true", help="keep the valid runs already in --out-dir")
    g.add_argument("--force", action="store_true", help="write over files this package did not write "
                   "(an earlier run's results in --out-dir, files in --record, --figures, --report-out)")
    g.add_argument("--margin", type=_margin, metavar="POINTS",
                   help="the equivalence margin in return points (default: 5%% of the environment's "
                        "reward_threshold, gym's 'solved')")
    g.add_argument("--outcome", default="last10", type=_outcome, metavar="last10|mean|lastN",
                   help="a run's outcome: mean return over the last 10%% of its episodes (default), over "
                        "all of them, or over the last N; each episode's return counted within the time limit "
                        "its environment is registered with (the margin's scale; env.unwrapped runs past it)")
    g.add_argument("--collapse-below", type=_finite, metavar="RETURN",
                   help="for scripts whose runs have two modes (a policy that collapses to one action): runs "
                        "whose outcome lies below RETURN collapsed; the verdict then weighs the collapse rates "
                        "(Fisher's exact test, at 10 points) apart from the runs that did not collapse")
    p.add_argument("script", metavar="SCRIPT.py|NOTEBOOK.ipynb")
    p.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS", help="the script's own arguments")
    return p


def _check_dir(path, flag, force=False, names=()):
    """An output directory, checked before the script starts: one line naming it if it is
    a file, cannot be made or written, or holds files this package did not write
    (``outdirs.check_out_dir``)."""
    from ..infra import outdirs

    p = Path(path)
    if p.exists() and not p.is_dir():
        raise UsageError(f"{flag} {path}: is not a directory")
    outdirs.check_out_dir(p, flag, force=force, names=names)
    parent = p
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"{flag} {path}: cannot write in {parent}")
    return os.path.realpath(p)


def main(args) -> int:
    if not os.path.isfile(args.script):
        raise UsageError(f"{args.script}: no such script")
    if not args.script.endswith((".py", ".ipynb")):
        raise UsageError(f"{args.script}: expected a Python script (.py) or a notebook (.ipynb)")
    for module, pip in (("tf_keras", "tf-keras"), ("tf_slim", "tf-slim"), ("fissix", "fissix"),
                        ("imageio", "imageio"), ("nbformat", "nbformat"), ("IPython", "ipython")):
        if importlib.util.find_spec(module) is None:
            raise UsageError(f"legacy needs {pip}: pip install {pip}")
    if args.record_format == "mp4" and args.record and importlib.util.find_spec("imageio_ffmpeg") is None:
        raise UsageError("--record-format mp4 needs imageio-ffmpeg: pip install imageio-ffmpeg")
    if args.script.endswith(".ipynb"):  # read here: a file nbformat cannot read is one line before any run
        from ..tools.legacy.ipython import notebook_source

        notebook_source(args.script)
    if args.seeds is not None:
        return _many_seeds(args)
    if args.backend != "local" or args.address:
        raise UsageError("--backend and --address go with --seeds (a single run runs here)")
    if args.against or args.out_dir or args.resume or args.margin is not None or args.collapse_below is not None:
        raise UsageError("--against, --out-dir, --resume, --margin and --collapse-below go with --seeds")
    opts = {"episodes": args.episodes, "steps": args.steps, "seconds": args.seconds, "seed": args.seed,
            "record_format": args.record_format,
            "report": "json" if args.json else ("md" if args.report or args.report_out else None)}
    if args.record:
        opts["record"] = _check_dir(args.record, "--record", args.force, names=("env*-episode*.*",))
    if args.figures:
        opts["figures"] = _check_dir(args.figures, "--figures", args.force, names=("figure-*.png",))
    if args.report_out:
        out = argtypes.check_out(args.report_out, flag="--report-out", force=args.force)
        opts["report_out"] = os.path.realpath(out)
    from ..infra.checkout import ROOT

    root = str(ROOT)
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1", MPLBACKEND="Agg",
               TF_CPP_MIN_LOG_LEVEL=os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3"),
               PYTHONPATH=os.pathsep.join(x for x in (root, os.environ.get("PYTHONPATH")) if x))

    from ..tools.legacy.runs import LEGACY_BOOT, RESTORE_SIGINT

    cmd = [sys.executable, "-c", LEGACY_BOOT, "--options", json.dumps(opts), args.script] + args.args
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:  # Ctrl-C reaches the script once it runs,
        # never the interpreter's start-up (a traceback of Python's own, not the script's): the command,
        # which gets it too, ends the script then
        env[RESTORE_SIGINT] = "1"
    code = subprocess.call(cmd, env=env, preexec_fn=(lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
                           if RESTORE_SIGINT in env else None)
    if code < 0:  # ended by a signal: say which, and exit as a shell would (128 + N)
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        print(f"tfrepro legacy: {args.script} was killed by {name}", file=sys.stderr)
        return 128 - code
    return code


def _many_seeds(args) -> int:
    from ..infra import outdirs
    from ..tools.legacy.runs import run_seeds

    for flag, value in (("--record", args.record), ("--figures", args.figures), ("--report", args.report),
                        ("--json", args.json), ("--report-out", args.report_out), ("--seed", args.seed)):
        if value:
            raise UsageError(f"{flag} is for a single run; with --seeds each run is a record in --out-dir")
    if args.script.endswith(".ipynb"):
        raise UsageError("--seeds runs scripts; a notebook runs once (tfrepro legacy NOTEBOOK.ipynb)")
    if args.against is not None and re.fullmatch(r"tf\d+\.\d+", args.against) and args.against != "tf1.15":
        from ..tools.matrix import DEFAULT_CACHE, check_published, requirements

        requirements(args.against[2:])  # a release the matrix can build, or one line saying why not
        check_published([args.against[2:]], DEFAULT_CACHE, legacy=True)  # one that exists, asked before any build
    elif args.against is not None and args.against != "tf1.15":
        if not os.path.isfile(args.against):
            raise UsageError(f"--against {args.against}: no such script")
        if not args.against.endswith(".py"):
            raise UsageError(f"--against {args.against}: expected a Python script (.py)")
    argtypes.use_backend(args)  # an unreachable cluster: one line, before any folder
    out = Path(args.out_dir) if args.out_dir else outdirs.fresh("legacy-seeds")
    outdirs.check_results_dir(out, resume=args.resume, force=args.force,
                              names=("summary.json", "table.md", "curves.png", "index.html", "compare.*",
                                     "runs/*"))
    stops = {k: getattr(args, k) for k in ("episodes", "steps", "seconds") if getattr(args, k) is not None}
    return run_seeds(args.script, args.args, args.seeds, out, workers=args.workers, against=args.against,
                     margin=args.margin, kind=args.outcome, stops=stops, resume=args.resume,
                     collapse_below=args.collapse_below)
