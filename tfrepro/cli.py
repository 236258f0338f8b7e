"""``tfrepro``: run the book programs in TF1 graph form or as TF2 ports, reproduce the
books' numbers, and time book loops against fast ones.

This module only assembles the subcommands of ``tfrepro.commands`` into one parser and
turns their errors into one line and an exit code. Process-wide switches (TensorFlow's log
level, SIGTERM handling) are set here or in a command's ``main``, at the entry point, and
nowhere in library code.
"""
from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys

from . import commands
from .core.errors import UsageError


def one_line(text) -> str:
    """``text`` with every character that is not printable (line breaks of any kind, control
    characters: a user's file name may hold them) shown as its escape: errors stay one line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage dump) and exit code 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {one_line(message)}\n")


def command_modules():
    """name -> module of every subcommand, in ``commands.NAMES`` order."""
    return {name: importlib.import_module(f"{commands.__name__}.{name}") for name in commands.NAMES}


def build_parser(modules=None) -> Parser:
    p = Parser(prog="tfrepro", description=__doc__.split("\n\n")[0],
               epilog="environment: TFREPRO_GYM=gymnasium|gym chooses the environment library "
                      "(default: gymnasium when installed, else gym <= 0.21, as in the TF 1.15 image)",
               formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True
    for _name, module in (modules or command_modules()).items():
        sp = module.add_parser(sub)
        sp.set_defaults(main=module.main)
        if not any("--program-file" in a.option_strings for a in sp._actions):
            sp.add_argument("--program-file", action="append", metavar="PAIR.py",
                            help="also know the programs of this file (a ProgramSpec named PROGRAM or "
                                 "PROGRAMS; docs/own-program.md); repeatable")
    return p


def _terminate_as_interrupt(signum, frame):
    raise KeyboardInterrupt  # SIGTERM: clean up (stop worker processes) as for Ctrl-C


def main(argv=None) -> int:
    """The command line. Called as the program (``argv`` None), the command also gets its
    lifeline (``infra.lifeline``): whatever it starts ends with it, even under ``kill -9``."""
    if argv is None:
        from .infra import lifeline

        lifeline.start()
        try:
            return _main(argv)
        finally:
            lifeline.finish()
    return _main(argv)


def _main(argv) -> int:
    from .infra import provenance

    allowed = os.environ.get(provenance.ALLOW_ENV)  # --force holds for this command only
    provenance.begin()
    ok = False
    try:
        code = _dispatch(argv)
        ok = code in (0, 1)  # 1: a verdict (worse), its outputs complete
        return code
    finally:
        if not ok:  # an error, a full disk, Ctrl-C: the partial outputs go, earlier results stay
            provenance.rollback()
        else:
            provenance.end()
        if allowed is None:
            os.environ.pop(provenance.ALLOW_ENV, None)
        else:
            os.environ[provenance.ALLOW_ENV] = allowed


def _dispatch(argv) -> int:
    args = build_parser().parse_args(argv)
    if args.command in ("reproduce", "bench", "matrix", "diff"):
        signal.signal(signal.SIGTERM, _terminate_as_interrupt)
    try:
        from .infra import programs

        if getattr(args, "program_file", None):
            programs.use_program_files(args.program_file)
        asked = {str(a).split(":")[0] for a in (sys.argv[1:] if argv is None else argv)}
        for name, problem in programs.problems().items():  # a broken plug-in: said, never fatal here
            if name in asked:
                continue  # asked for by name: its error is the one line
            print(f"tfrepro: warning: plug-in {name} not loaded: {one_line(problem)}", file=sys.stderr)
        return args.main(args)
    except UsageError as e:
        print(f"tfrepro {args.command}: error: {one_line(e)}", file=sys.stderr)
        return 2
    except OSError as e:  # unwritable --out, full disk, ...: say which file
        where = f" {e.filename}:" if getattr(e, "filename", None) else ""
        print(one_line(f"tfrepro {args.command}: error:{where} {e.strerror or e}"), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tfrepro: interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        print(f"tfrepro {args.command}: error: out of memory (a smaller --seeds, --steps or --iterations?)",
              file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
