"""``tfrepro inspect CHECKPOINT``: the variables of a TF1 checkpoint, a .keras or a Keras 2 .h5 model."""
from __future__ import annotations

import json

from ..infra import programs
from ..infra.tfquiet import quiet_tensorflow


def add_parser(sub):
    p = sub.add_parser("inspect", help="list the variables of a checkpoint or model file",
                       description="List variables, shapes and dtypes of a TF1 tf.train.Saver "
                       "checkpoint (a directory written by --save, or its prefix), a .keras "
                       "model or a Keras 2 .h5 model. With --program-file, the plug-in's forms are "
                       "imported first, so a .keras holding its own layers loads.")
    p.add_argument("path", metavar="CHECKPOINT")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return p


def main(args) -> int:
    quiet_tensorflow()
    from ..tools.checkpoints import inspect, table

    if getattr(args, "program_file", None):  # a .keras may hold a plug-in's own (registered) layers
        for name in programs.names(lambda p: p.origin.startswith("file ")):
            programs.get(name)  # imports and checks both forms

    kind, rows = inspect(args.path)
    if args.json:
        print(json.dumps({"path": args.path, "kind": kind, "variables": [
            {"name": n, "shape": s, "dtype": d} for n, s, d in rows]}, indent=1))
    else:
        print(table(args.path, kind, rows))
    return 0
