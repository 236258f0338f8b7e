"""What one ``tfrepro legacy`` run shares between its shims: the options it was started
with, the episode counter behind ``--episodes``, and where the script's own files are."""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field


class EpisodesDone(BaseException):
    """``--episodes N`` reached: unwinds the script (a BaseException, so that the script's
    own ``except Exception`` does not catch it) and ends the run with exit 0."""


class NotCovered(AttributeError):
    """A name of the TF1 era this runner does not provide: if the script does not catch it,
    the run ends with one line naming it, exit 2."""


class MissingModule(ImportError):
    """A third-party module the script imports that is not installed (one line, exit 2)."""


@dataclass
class Options:
    script_dir: str = ""
    episodes: int | None = None  # stop after this many episodes (counted at reset)
    seed: int | None = None  # seed Python, NumPy, TensorFlow and every environment
    record: str | None = None  # write rendered frames here, one file per episode
    record_format: str = "gif"
    figures: str | None = None  # save each figure here when the script calls plt.show()
    report: str | None = None  # "md" or "json": the migration report, at the end
    report_out: str | None = None  # write the report here instead of standard error
    resets: int = 0  # episodes begun, over every environment
    envs_made: int = 0
    extra: dict = field(default_factory=dict)


OPTS = Options()


def is_script_file(filename: str) -> bool:
    """True for the script and the modules next to it (what the shims apply to)."""
    return bool(filename) and os.path.dirname(os.path.abspath(filename)) == OPTS.script_dir


def caller(depth: int = 2):
    """(file, line) of the nearest frame in the script's own files, or None."""
    f = sys._getframe(depth)
    while f is not None:
        if is_script_file(f.f_code.co_filename):
            return f.f_code.co_filename, f.f_lineno
        f = f.f_back
    return None


def episode_begins():
    """Called at every ``reset``: counts episodes for ``--episodes``."""
    OPTS.resets += 1
    if OPTS.episodes is not None and OPTS.resets > OPTS.episodes:
        raise EpisodesDone()
