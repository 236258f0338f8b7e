"""``tfrepro new NAME --dir DIR``: a working skeleton of a user's own program pair.

Four files: ``NAME_pair.py`` (config and ``ProgramSpec``), ``NAME_tf1.py`` (the TF1 graph
form), ``NAME_tf2.py`` (the TF2 port) and ``test_NAME.py``. Out of the box they are a small Q
network learning from a replay memory whose two forms pass ``tfrepro diff NAME
--program-file DIR/NAME_pair.py`` (rungs 1-4) and their own test; a user replaces the network,
loss and loop with their code (docs/own-program.md)."""
from __future__ import annotations

import os
import re
from pathlib import Path

from ..core.errors import UsageError
from ..infra import programs, provenance
from ..infra.records import atomic_write_text

TEMPLATES = Path(__file__).resolve().parent / "skeleton"
NAME = re.compile(r"^[a-z][a-z0-9_-]*$")


def files_for(name: str) -> dict:
    """file name -> template name."""
    mod = name.replace("-", "_")
    return {f"{mod}_pair.py": "pair.py.tmpl", f"{mod}_tf1.py": "tf1.py.tmpl", f"{mod}_tf2.py": "tf2.py.tmpl",
            f"test_{mod}.py": "test.py.tmpl"}


def new(name: str, directory, force: bool = False) -> list:
    """Write the skeleton of program ``name`` into ``directory``; returns the paths written.
    Refuses (before writing anything) a name that is not a module-safe program name, a
    built-in's name, and files already there unless ``force``."""
    if not NAME.match(name or ""):
        raise UsageError(f"{name!r}: a program name starts with a letter and holds lowercase letters, "
                         "digits, '-' and '_' (its files are Python modules)")
    if name in programs.BUILTINS:
        raise UsageError(f"{name!r} is a built-in program's name: choose another")
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"--dir {directory}: exists and is not a directory")
    files = files_for(name)
    there = [f for f in files if (directory / f).exists()]
    if there and not force:
        raise UsageError(f"--dir {directory}: already holds {', '.join(there)}; refusing to replace "
                         "(--force replaces them)")
    if force:
        for f in there:
            provenance.allow(directory / f)
    mod = name.replace("-", "_")
    texts = {f: (TEMPLATES / t).read_text().replace("{name}", name).replace("{mod}", mod)
             for f, t in files.items()}
    os.makedirs(directory, exist_ok=True)
    written = []
    for f, text in texts.items():
        atomic_write_text(directory / f, text, note=False)  # the user's code from now on
        written.append(directory / f)
    return written
