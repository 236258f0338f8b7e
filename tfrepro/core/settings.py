"""Settings dataclasses: a command's options as one typed object, each field with its help.

A field made with ``setting(default, help, ...)`` is one command-line option: ``--name``
(underscores become dashes) unless ``flag`` names another, with the argparse keywords given
(``nargs``, ``choices``, ``metavar``, ``action``) and ``kind``, the name of the parser in
``tfrepro.commands.argtypes`` that reads its value (``"positive"``, ``"seed_range"``...).
``commands.argtypes.add_settings`` builds a parser's options from the class and
``settings_from`` reads the parsed arguments back into it; the tool that runs the command
takes the object. A field with ``cli=False`` is set by the command, not an option.
"""
from __future__ import annotations

import copy
from dataclasses import MISSING, field, fields


def setting(default, help: str, *, flag: str | None = None, kind: str | None = None, cli: bool = True,
            **argparse_kw):
    """A settings field: its default, its help text (argparse's ``%(default)s`` works) and how
    the command line gives it."""
    meta = {"help": help, "flag": flag, "kind": kind, "cli": cli, "argparse": argparse_kw}
    if isinstance(default, (list, dict, set)):
        return field(default_factory=lambda: copy.copy(default), metadata=meta)
    return field(default=default, metadata=meta)


def options(cls):
    """(field name, flag, default, metadata) of each command-line field of a settings class."""
    for f in fields(cls):
        meta = f.metadata
        if not meta.get("cli", False):
            continue
        default = f.default if f.default is not MISSING else f.default_factory()
        yield f.name, meta["flag"] or "--" + f.name.replace("_", "-"), default, meta


def help_of(cls, name: str) -> str:
    """The help text of one field."""
    return next(f.metadata["help"] for f in fields(cls) if f.name == name)
