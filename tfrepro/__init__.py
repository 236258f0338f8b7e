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
"""
import os

__version__ = "0.1.0"

# TensorFlow's thread policy (docs/lockstep.md): one intra-op and one inter-op thread per
# process unless the environment already says otherwise. Parallelism comes from worker
# processes and lockstep batches; and a thread count is part of a run's numbers (Eigen
# splits a matmul's sums by thread), so a fixed one makes runs repeatable across machines
# with any number of cores. TensorFlow reads these when it starts: set before it is imported.
THREAD_VARS = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")
for _var in THREAD_VARS:
    os.environ.setdefault(_var, "1")
