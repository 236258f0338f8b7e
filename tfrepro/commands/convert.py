"""``tfrepro convert PROGRAM CHECKPOINT --out DIR``: a checkpoint carried between the two forms."""
from __future__ import annotations

from ..infra import programs
from ..infra.tfquiet import quiet_tensorflow


def add_parser(sub):
    p = sub.add_parser("convert", help="convert a checkpoint between the TF1 and TF2 forms",
                       description="Convert a TF1 form's checkpoint (tf.train.Saver; "
                       "cartpole-dqn.h5 for dqn-pylessons) into the TF2 port's model.keras, or "
                       "the reverse, and check that both forms then give the same outputs on a "
                       "fixed batch. Errors (another architecture, a truncated file, a missing "
                       "variable) print one line and write nothing.")
    p.add_argument("program", metavar="PROGRAM")
    p.add_argument("src", metavar="CHECKPOINT", help="a --save directory, a checkpoint prefix, "
                   "a .keras or .h5 file")
    p.add_argument("--out", metavar="DIR", required=True, help="directory to write into (not the "
                   "source's own; one already holding a model needs --force)")
    p.add_argument("--force", action="store_true", help="replace a model already in --out")
    return p


def main(args) -> int:
    quiet_tensorflow()
    from ..tools.convert import convert

    path, world, diff = convert(programs.get(args.program).name, args.src, args.out, force=args.force)
    other = "tf2" if world == "tf1" else "tf1"
    print(f"{args.program}: {world} checkpoint {args.src} -> {other} {path}; outputs of both "
          f"forms on 64 observations differ by at most {diff:.3g}")
    return 0
