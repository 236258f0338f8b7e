"""``tfrepro convert PROGRAM SRC DST``: carry a trained model between the two worlds.

A TF1 form's checkpoint (``tf.train.Saver``; the source's ``cartpole-dqn.h5`` for
dqn-pylessons) becomes the TF2 port's ``model.keras`` and the reverse. The weights pass
through both programs, so a checkpoint of another architecture, a truncated file or a
missing variable fails in the program's own checks, before anything is written; the
result is then checked: both forms must give the same outputs on a fixed batch.
"""
from __future__ import annotations

import os

from ..core.errors import UsageError
from ..infra import outdirs, programs
from ..infra.twins import FORWARD_TOL, as_list, max_diff, observations
from .checkpoints import inspect


def source_world(name, src) -> str:
    """'tf1' or 'tf2': which form wrote ``src`` (the spec names the kinds its TF1 form writes:
    a Saver checkpoint; dqn-pylessons' source saves a Keras 2 .h5)."""
    kind, _ = inspect(src)
    if kind.startswith(tuple(programs.get(name).tf1_checkpoint_kinds)):
        return "tf1"
    if kind.startswith("Keras .keras") or kind.startswith("Keras 2"):
        return "tf2"
    raise UsageError(f"{src}: {kind} is not a checkpoint of {name}")  # pragma: no cover


def model_files() -> tuple:
    """What a ``--save`` of any program writes."""
    return tuple(dict.fromkeys(f for p in programs.registry().values() for f in p.model_files))


def check_destination(src, dst, force=False) -> None:
    """Before any work: ``dst`` must not be the source's own folder (both forms would then sit
    side by side and a later ``--load DIR`` would pick one), and a model already in it is
    replaced only with ``force``."""
    if os.path.exists(dst) and not os.path.isdir(dst):
        raise UsageError(f"--out {dst}: exists and is not a directory")
    src_dir = src if os.path.isdir(src) else os.path.dirname(os.path.abspath(src))
    if os.path.isdir(dst) and os.path.samefile(src_dir, dst):
        raise UsageError(f"--out {dst}: is the source's own directory; both forms would sit there and a "
                         "later --load would pick one of them: give another directory")
    there = [f for f in model_files() if os.path.exists(os.path.join(dst, f))]
    if there and not force:
        raise UsageError(f"--out {dst}: already holds a model ({', '.join(there)}); refusing to replace "
                         "it (--force replaces it)")
    outdirs.check_out_dir(dst, "--out", force=force)  # a folder of the user's is not written into


def convert(name, src, dst, seed=0, force=False):
    """Convert ``src`` into the other world's format under directory ``dst``.
    Returns (written path, source world, largest output difference)."""
    prog = programs.get(name)
    if not prog.has_model:
        raise UsageError(f"{name} has no weights: nothing to convert")
    check_destination(src, dst, force)
    world = source_world(name, src)
    cfg = prog.config()
    with prog.make_agent("tf1", cfg, seed) as a, prog.make_agent("tf2", cfg, seed) as b:
        if world == "tf1":
            a.restore(src)
            b.set_weights(a.weights())
        else:
            b.restore(src)
            a.set_weights(b.weights())
        obs = observations()
        diff, ok = max_diff(as_list(a.forward(obs)), as_list(b.forward(obs)), *FORWARD_TOL)
        if not ok:  # pragma: no cover - would mean the forms disagree (see `tfrepro diff`)
            raise UsageError(f"after conversion the two forms differ by {diff:.3g}: not written")
        path = (b if world == "tf1" else a).save(dst)
        return path, world, diff
