"""``tfrepro diff PROGRAM``: the migration ladder between a program's TF1 graph form and TF2 port
(rungs 1-4, rung 5 with ``--seeds``), or ``--explain``: the measured causes of drift."""
from __future__ import annotations

import json
import os
from pathlib import Path

from ..core.errors import UsageError
from ..infra import programs
from ..infra.tfquiet import quiet_tensorflow
from . import argtypes

MAX_STEPS = 100_000  # rung 4 on one batch: more steps say nothing new, and take hours


def add_parser(sub):
    p = sub.add_parser("diff", help="the migration ladder between a program's TF1 and TF2 forms",
                       description="Climb TensorFlow's migration ladder between the TF1 graph "
                       "form and the TF2 port of a program: (1) variables mapped by name and "
                       "shape, (2) forward pass on a fixed batch with the same weights, (3) loss "
                       "and gradients on the same recorded batch, (4) weights after N optimizer "
                       "steps with the optimizer pairing stated (Keras Adam with TF1's epsilon, "
                       "or the TF2 optimizers that reproduce TF1's and Keras 2's RMSProp), and "
                       "with --seeds K (5) learning over K seeds per framework in fast mode: "
                       "final rewards judged at the program's declared margin (equivalent, better, "
                       "worse, or inconclusive with the seeds that would decide; --seeds auto runs them), "
                       "and both learning curves in a PNG. One row per rung "
                       "with the largest difference and the tolerance. Exit code 0 when every "
                       "rung passes or is not judged, 1 when one fails. --explain lists the causes of drift "
                       "measured on this stack, each measured afresh.")
    p.add_argument("program", nargs="?", metavar="PROGRAM[:VARIANT]",
                   help="one of: " + ", ".join(programs.names(lambda p: p.has_model))
                   + ", or a program of --program-file (the variant applies to rung 5; default: the one "
                   "reproduce runs)")
    p.add_argument("--all", action="store_true", help="every program with weights (--program-file's too)")
    p.add_argument("--explain", action="store_true", help="measure and list the known causes of "
                   "drift between TF1 code and its TF2 port (no PROGRAM)")
    p.add_argument("--steps", type=argtypes.positive, default=10, help="optimizer steps for rung 4 "
                   f"(default: %(default)s, 10 to {MAX_STEPS})")
    p.add_argument("--seed", type=argtypes.seed, default=0)
    p.add_argument("--port-optimizer", action="store_true", help="rung 4 with the Adam ports' own "
                   "Keras Adam (epsilon 1e-7) instead of Keras Adam with TF1's 1e-8: shows that drift")
    p.add_argument("--seeds", type=argtypes.seed_count_or_auto, metavar="K|auto", help="rung 5: train both "
                   "forms over seeds 0..K-1 (fast mode) and judge the final rewards at the program's "
                   "margin; auto: a pilot of --pilot seeds, then the seeds its spread needs to decide")
    p.add_argument("--pilot", type=argtypes.positive, default=5, help="--seeds auto: pilot seeds per side "
                   "(default: %(default)s)")
    p.add_argument("--max-seeds", type=argtypes.seed_count, default=60, help="--seeds auto: at most this many "
                   "seeds per side (default: %(default)s)")
    p.add_argument("--iterations", type=argtypes.count, metavar="N", help="rung 5: training iterations "
                   "per run (default: the program's own)")
    p.add_argument("--alpha", type=argtypes.alpha, default=0.05, help="rung 5: level of the tests "
                   "(default: %(default)s)")
    p.add_argument("--margin", type=argtypes.margin, action="append", metavar="[PROGRAM=]POINTS",
                   help="rung 5: equivalence margin in reward points (default: the program's declared one)")
    p.add_argument("--workers", type=argtypes.positive, default=min(2, os.cpu_count() or 1),
                   help="rung 5: worker processes running the runs (default: %(default)s)")
    argtypes.add_backend_arguments(p, "rung 5's runs")
    p.add_argument("--out-dir", metavar="DIR",
                   help="rung 5: records and curves go to DIR/PROGRAM (default: a new folder "
                   "results/diff-DATE-TIME; DIR/PROGRAM holding an earlier run needs --resume or --force)")
    p.add_argument("--resume", action="store_true", help="rung 5: reuse the records already in "
                   "DIR/PROGRAM/runs for the same runs and run only the missing")
    p.add_argument("--force", action="store_true",
                   help="rung 5: write into DIR/PROGRAM over an earlier run's results")
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    return p


def main(args) -> int:
    if args.explain:
        if args.program or args.all:
            raise UsageError("--explain takes no PROGRAM and no --all")
        quiet_tensorflow()
        from ..tools.drift import explain

        return explain(as_json=args.json)
    if args.all == bool(args.program):
        raise UsageError("give one PROGRAM, --all or --explain")
    entries = ([(n, programs.get(n).reproduce_variant) for n in programs.names(lambda p: p.has_model)]
               if args.all else [(p.name, v) for p, v in [programs.parse_entry(args.program)]])
    for name, _ in entries:
        if not programs.get(name).has_model:
            raise UsageError(f"{name} has no weights: nothing to diff")
    if not 10 <= args.steps <= MAX_STEPS:
        raise UsageError(f"--steps {args.steps}: rung 4 takes 10 to {MAX_STEPS} steps")
    if args.seeds != "auto" and (args.pilot != 5 or args.max_seeds != 60):
        raise UsageError("--pilot and --max-seeds apply to --seeds auto")
    if args.seeds == "auto" and args.pilot < 2:
        raise UsageError("--pilot takes at least 2 seeds per side")
    if args.seeds is None and (args.iterations is not None or args.resume):
        raise UsageError("--iterations and --resume apply to rung 5: give --seeds K as well")
    if args.resume and not args.out_dir:
        raise UsageError("--resume continues an earlier run: give its --out-dir")
    if args.force and args.seeds is None:
        raise UsageError("--force applies to rung 5: give --seeds K as well")
    if args.backend != "local" and args.seeds is None:
        raise UsageError("--backend applies to rung 5: give --seeds K as well")
    argtypes.use_backend(args)
    out_root = None
    if args.seeds is not None:
        from ..infra.outdirs import check_out_dir, check_results_dir, fresh

        out_root = Path(args.out_dir) if args.out_dir else fresh("results/diff")
        check_out_dir(out_root, force=args.force)
        for name, variant in entries:
            check_results_dir(out_root / programs.entry_label(name, variant).replace(":", "-"),
                              resume=args.resume, force=args.force, names=("curves.png",))
    quiet_tensorflow()
    from ..tools.ladder import climb_entries

    results = climb_entries(entries, steps=args.steps, seed=args.seed, port_optimizer=args.port_optimizer,
                            seeds=args.seeds, out_root=out_root,
                            iterations=args.iterations, workers=args.workers, alpha=args.alpha,
                            margins=dict(args.margin or []), resume=args.resume, pilot=args.pilot,
                            max_seeds=args.max_seeds, show=not args.json)
    if args.json:
        print(json.dumps(results if args.all else results[0], indent=1))
    return 0 if all(r["passed"] for r in results) else 1
