"""``tfrepro new NAME --dir DIR``: the skeleton of your own TF1 program and its TF2 port."""
from __future__ import annotations

import argparse

EPILOG = """example:
  tfrepro new my-dqn --dir my_dqn
  tfrepro diff my-dqn --program-file my_dqn/my_dqn_pair.py
  python -m pytest my_dqn
"""


def add_parser(sub):
    p = sub.add_parser("new", help="write the skeleton of your own program pair (TF1 form, TF2 port, spec, test)",
                       description="Write a working skeleton of your own program: NAME_pair.py (its "
                       "config and ProgramSpec), NAME_tf1.py (a TF1 graph form), NAME_tf2.py (its TF2 "
                       "port) and test_NAME.py. Out of the box the two forms pass `tfrepro diff NAME "
                       "--program-file DIR/NAME_pair.py` and the test; replace the network, loss and "
                       "loop with your own code (docs/own-program.md).",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("name", metavar="NAME", help="the program's name (lowercase letters, digits, '-', '_')")
    p.add_argument("--dir", required=True, metavar="DIR", help="where to write the four files")
    p.add_argument("--force", action="store_true", help="replace files of the same names already in DIR")
    return p


def main(args) -> int:
    from ..tools.new import new

    written = new(args.name, args.dir, force=args.force)
    pair = written[0]
    for path in written:
        print(f"wrote {path}")
    print(f"next: tfrepro diff {args.name} --program-file {pair}")
    return 0
