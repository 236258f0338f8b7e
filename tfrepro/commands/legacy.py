"""``tfrepro legacy SCRIPT.py``: a TF1-era script run unchanged, in a fresh process, with shims for
the script's own imports (``tfrepro.tools.legacy_boot``)."""
from __future__ import annotations

import argparse
import os
import sys

from ..core.errors import UsageError


def add_parser(sub):
    p = sub.add_parser("legacy", help="run a TF1-era script unchanged on today's TensorFlow",
                       description="Run SCRIPT.py as printed in a TF1-era book, unchanged, in a fresh "
                       "process: `import tensorflow as tf` gives tf.compat.v1 in graph mode (tf.layers, "
                       "tf.train optimizers, Session, FileWriter), `import gym` the gym 0.21 API over "
                       "gymnasium, `import keras` Keras 2 (tf-keras) with lr= honoured and spaces in "
                       "model names allowed; tabs mixed into indentation read as Python 2 read them, "
                       "raw_input and xrange defined. The shims apply to the script (and modules next "
                       "to it) only; nothing is installed. The exit code is the script's.")
    p.add_argument("--report", action="store_true", help="list the shims the script used, at the end")
    p.add_argument("script", metavar="SCRIPT.py")
    p.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS", help="the script's own arguments")
    return p


def main(args) -> int:
    import importlib.util
    import subprocess

    if not os.path.isfile(args.script):
        raise UsageError(f"{args.script}: no such script")
    if not args.script.endswith(".py"):
        raise UsageError(f"{args.script}: expected a Python script (.py)")
    if importlib.util.find_spec("tf_keras") is None:
        raise UsageError("legacy needs tf-keras (Keras 2) for tf.layers and standalone Keras code: "
                         "pip install tf-keras")
    from ..infra.checkout import ROOT

    root = str(ROOT)
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL=os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"),
               PYTHONPATH=os.pathsep.join(x for x in (root, os.environ.get("PYTHONPATH")) if x))
    boot = "import sys, tfrepro.tools.legacy_boot as b; sys.exit(b.main())"
    cmd = [sys.executable, "-c", boot] + (["--report"] if args.report else []) + [args.script] + args.args
    return subprocess.call(cmd, env=env)
