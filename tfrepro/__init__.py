"""tfrepro: classic CartPole programs from four books and blog posts, kept alive on
today's TensorFlow in TF1 graph form (legacy_tf1) and as TF2 ports (modern_tf2).

The package in layers, imports running one way, down:

* ``tfrepro.core``: framework-free math and environments (returns, policies, replay,
  the gym/gymnasium adapters, configs, seeding, statistics);
* ``tfrepro.infra``: the plumbing (result records, bench results files, the program
  registry, the runner, fresh-process pools, grids of runs, rendering, the twins' helpers);
* ``tfrepro.tools``: what each subcommand drives, callable from Python (ladder, drift,
  convert, checkpoints, bench, compare, matrix, reproduce, speed, the legacy runner);
* ``tfrepro.commands``: one module per subcommand (its arguments, help and ``main``),
  assembled by ``tfrepro.cli``.

The modules' earlier flat paths (``tfrepro.envs``, ``tfrepro.records``, ...) stay
importable, and runnable with ``python -m``, as aliases of the same module objects.
"""
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys

__version__ = "0.1.0"

# TensorFlow's thread policy (docs/speed.md): one intra-op and one inter-op thread per
# process unless the environment already says otherwise. Parallelism comes from worker
# processes and lockstep batches; and a thread count is part of a run's numbers (Eigen
# splits a matmul's sums by thread), so a fixed one makes runs repeatable across machines
# with any number of cores. TensorFlow reads these when it starts: set before it is imported.
THREAD_VARS = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")
for _var in THREAD_VARS:
    os.environ.setdefault(_var, "1")

MOVED = {  # earlier flat module -> where it lives now
    **{m: "core." + m for m in ("errors", "configs", "envs", "policies", "replay", "returns",
                                "seeding", "stats", "loops", "takeover", "h5models")},
    **{m: "infra." + m for m in ("records", "pool", "programs", "runner", "render")},
    **{m: "tools." + m for m in ("ladder", "drift", "convert", "bench", "matrix", "reproduce",
                                 "speed", "compare", "legacy_boot")},
    "inspect_ckpt": "tools.checkpoints",
}


class _AliasSpec(importlib.machinery.ModuleSpec):
    """A spec for an alias whose ``parent`` is the real module's package, so that
    ``python -m tfrepro.envs`` resolves the module's relative imports where it lives."""

    def __init__(self, name, loader, real_parent):
        super().__init__(name, loader)
        self._real_parent = real_parent

    @property
    def parent(self):
        return self._real_parent


class _Aliases(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """``import tfrepro.X`` for an X in ``MOVED``: the very module object that lives at its
    new path (one module, one set of classes), not a copy."""

    @staticmethod
    def _target(fullname):
        head, _, leaf = fullname.partition(".")
        return f"{head}.{MOVED[leaf]}" if head == __name__ and leaf in MOVED else None

    def find_spec(self, fullname, path=None, target=None):
        real = self._target(fullname)
        return _AliasSpec(fullname, self, real.rpartition(".")[0]) if real else None

    def create_module(self, spec):
        module = importlib.import_module(self._target(spec.name))
        spec._real_spec = module.__spec__
        return module

    def exec_module(self, module):
        module.__spec__ = module.__spec__._real_spec  # the import system set the alias's

    def get_code(self, fullname):  # python -m tfrepro.X
        real = importlib.util.find_spec(self._target(fullname))
        return real.loader.get_code(real.name)


if not any(isinstance(f, _Aliases) for f in sys.meta_path):
    sys.meta_path.append(_Aliases())
