"""``tfrepro run PROGRAM``: one program, one form, one seed; prints a summary and writes its result record."""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from ..core.errors import UsageError
from ..infra import programs
from ..infra.tfquiet import quiet_tensorflow
from . import argtypes

EPILOG_RUN = """examples:
  tfrepro run pg-tang --framework tf1 --mode fast --seed 0 --out runs/tang.json
  tfrepro run pg-geron --framework tf2 --variant notebook --save ckpt/geron --out g.json
  tfrepro run pg-geron --framework tf2 --load ckpt/geron --iterations 0 --gif geron.gif --out e.json
  tfrepro run dqn-meertens --variant exercises --logdir runs/m --qplot q.png --takeover basic --out m.json
  tfrepro run dqn-pylessons --framework tf2 --load cartpole-dqn.h5 --iterations 0 --save conv --out p.json
"""


def add_parser(sub):
    from ..core.envs import ENV_IDS

    p = sub.add_parser("run", help="run one program in one form and write its result record",
                       description="Run one program in its TF1 graph form (tf1) or TF2 port (tf2), "
                       "print a summary and write the result record (JSON).",
                       epilog=EPILOG_RUN, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("program", metavar="PROGRAM", help="one of: " + ", ".join(programs.names())
                   + " (or a program of --program-file)")
    p.add_argument("--framework", choices=programs.FRAMEWORKS, default="tf2",
                   help="tf1: legacy_tf1 graph code; tf2: modern_tf2 port (default: %(default)s)")
    p.add_argument("--mode", choices=programs.MODES, default=None,
                   help="book: the source's loop as written; fast: the same math vectorised "
                   "(default: fast where the program has it)")
    p.add_argument("--seed", type=argtypes.seed, default=0, help="run seed (default: %(default)s)")
    p.add_argument("--env", choices=ENV_IDS, help="override the program's environment")
    p.add_argument("--variant", help="program variant (pg-geron: book | notebook = 500-step "
                   "episodes; dqn-meertens: book | exercises = epsilon-greedy + target network)")
    p.add_argument("--iterations", type=argtypes.count, metavar="K",
                   help="training iterations (updates or training episodes); 0 evaluates only")
    p.add_argument("--save", metavar="DIR", help="save the trained model into DIR (TF1: Saver "
                   "checkpoint, or cartpole-dqn.h5 for dqn-pylessons as the source saved it; "
                   "TF2: model.keras)")
    p.add_argument("--load", metavar="PATH", help="start from a model saved by --save; "
                   "dqn-pylessons also loads a Keras 2 .h5 file (with --iterations 0: evaluate "
                   "it; with --save: convert it to .keras)")
    p.add_argument("--gif", metavar="FILE", help="save an animation of one evaluation episode")
    p.add_argument("--logdir", metavar="DIR", help="TensorBoard summaries (DQN programs)")
    p.add_argument("--qplot", metavar="FILE.png", help="plot predicted Q(s, a) per frame of the "
                   "first test episode (DQN programs)")
    p.add_argument("--takeover", choices=("human", "basic"),
                   help="after training, one more test episode in which someone else acts when "
                   "max Q falls 0.2 below its initial value: you at the terminal (human) or the "
                   "hard-coded policy (basic) (DQN programs)")
    p.add_argument("--takeover-margin", type=argtypes.number(-1e6, 1e6, "Q units"), default=0.2, metavar="M",
                   help="take over when max Q < max Q(initial state) - M (default: %(default)s, "
                   "the source's)")
    p.add_argument("--out", metavar="FILE.json", required=True, help="result record to write (an "
                   "existing file is replaced only if this package wrote it; a missing directory is "
                   "created; - writes it to standard output, the summary to standard error)")
    p.add_argument("--force", action="store_true", help="replace --out even if it is not a file "
                   "this package wrote")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


SAVED = ("model.keras", "cartpole-dqn.h5", "checkpoint", "model.ckpt*")  # what --save writes (every program)


def main(args) -> int:
    prog = programs.get(args.program)
    args.mode = args.mode or ("fast" if "fast" in prog.modes else prog.modes[0])
    out = None if args.out == "-" else argtypes.check_out(args.out, force=args.force)
    # every other output too, before any work (the user's path named in the error)
    from ..infra import outdirs
    from ..infra.records import check_output, check_output_dir

    others = [os.path.realpath(x) for x in (args.out, args.gif, args.qplot) if x and x != "-"]
    if len(set(others)) < len(others):
        raise UsageError("--out, --gif and --qplot name the same file")
    if args.gif:
        check_output(args.gif, "--gif", force=args.force)
    if args.qplot:
        check_output(args.qplot, "--qplot", force=args.force)
    for flag, d, names in (("--save", args.save, SAVED), ("--logdir", args.logdir, ())):
        if d:
            check_output_dir(d, flag)
            outdirs.check_out_dir(d, flag, force=args.force, names=names)
    if args.load and not Path(args.load).exists():
        raise UsageError(f"--load {args.load}: no such file or directory (--save DIR on an earlier run "
                         "writes a checkpoint there)")
    prog.make_config(env_id=args.env, iterations=args.iterations, variant=args.variant)  # validate
    if not prog.has_model and (args.save or args.load):
        raise UsageError(f"{prog.name} has no weights: --save and --load do not apply")
    if args.mode not in prog.modes:
        raise UsageError(f"{prog.name} has no {args.mode} mode yet (modes: {', '.join(prog.modes)})")
    if (args.qplot or args.takeover) and not prog.q_network:
        raise UsageError(f"{prog.name} has no Q values: --qplot and --takeover do not apply")
    if args.takeover and not prog.takeover:
        raise UsageError(f"{prog.name} has no takeover mode")
    if args.gif and prog.has_model and prog.numpy_policy is None:
        raise UsageError(f"{prog.name} names no numpy_policy (weights -> policy) in its spec: --gif does not apply")
    quiet_tensorflow()
    load = _load_for(prog.name, args.framework, args.load) if args.load else None
    try:
        return _run_and_report(args, prog, out, load)
    finally:
        if load and load != args.load:  # the temporary conversion
            import shutil

            shutil.rmtree(load, ignore_errors=True)


def _asker(kind, margin):
    if kind is None:
        return None
    from ..core.takeover import HumanAsker, PolicyAsker

    asker = HumanAsker() if kind == "human" else PolicyAsker()
    asker.margin = margin
    return asker


def _load_for(name, framework, path):
    """``--load`` takes a checkpoint of either world: a TF1 Saver checkpoint for the TF2
    port, or a .keras model for the TF1 form, is converted first (into a temporary
    directory; the user's files are only read)."""
    from ..tools.checkpoints import inspect
    from ..tools.convert import convert

    kind, _ = inspect(path)
    other = (framework == "tf2" and kind.startswith("TF1")) or \
        (framework == "tf1" and kind.startswith("Keras .keras"))
    if not other:
        return path
    tmp = tempfile.mkdtemp(prefix="tfrepro-load-")
    try:
        converted, world, diff = convert(name, path, tmp)
    except BaseException:  # a failed conversion leaves no empty temporary directory behind
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
        raise
    print(f"  --load {path}: a {world} checkpoint, converted for {framework} "
          f"(outputs differ by at most {diff:.3g})")
    return os.path.dirname(converted)


def _run_and_report(args, prog, out, load) -> int:
    from ..infra import provenance
    from ..infra.records import write_record
    from ..infra.runner import RunSettings, run_program

    for d in (args.save, args.logdir):
        if d:
            provenance.mark_folder(d)  # a folder of the package's from now on (TensorBoard's files too)

    progress = None
    if not args.quiet and prog.iterations_field and args.iterations != 0:
        from tqdm import tqdm

        progress = lambda it: tqdm(it, desc=f"{prog.name} {args.framework} {args.mode}",  # noqa: E731
                                   unit="it", leave=False, file=sys.stderr)
    record = run_program(RunSettings(prog.name, args.framework, args.mode, args.seed, env_id=args.env,
                                     iterations=args.iterations, variant=args.variant, save=args.save,
                                     load=load, progress=progress, keep_weights=bool(args.gif),
                                     logdir=args.logdir, takeover=_asker(args.takeover, args.takeover_margin)))
    weights = record.pop("_weights", None)
    say = print
    if out is None:  # --out -: the record on standard output, the rest on standard error
        import functools

        from ..infra.records import dumps, validate

        sys.stdout.write(dumps(validate(record, "record"), indent=1) + "\n")
        sys.stdout.flush()
        say = functools.partial(print, file=sys.stderr)
    else:
        write_record(out, record)
    say(f"{prog.name} [{args.framework}, {args.mode}, seed {args.seed}, {record['env_id']}]: "
        f"eval mean {record['eval_mean']:.1f} (std {record['eval_std']:.1f}, min "
        f"{record['eval_min']:.0f}, max {record['eval_max']:.0f}) over "
        f"{len(record['eval_returns'])} episodes; source: {prog.number_for(args.variant)}")
    if record["train_returns"]:
        say(f"  trained {record['train_env_steps']} env steps, {record['updates']} updates in "
            f"{record['train_wall_s']:.1f} s")
    if out is not None:
        say(f"  wrote {out}")
    if record.get("takeover"):
        t = record["takeover"]
        say(f"  takeover episode: {t['frames']} frames, {t['takeover_frames']} handled by "
            f"{args.takeover}, {t['agent_frames']} by the agent; ended: {t['ended']}")
    if args.logdir:
        say(f"  TensorBoard summaries in {args.logdir} (tensorboard --logdir {args.logdir})")
    if args.qplot:
        from ..infra.render import save_q_plot

        save_q_plot(args.qplot, record["q_trace"], title=f"{prog.name} [{args.framework}]")
        say(f"  wrote {args.qplot}")
    if args.gif:
        from ..core.policies import basic_policy_batch
        from ..infra.render import episode_frames, save_gif

        policy = basic_policy_batch if weights is None else prog.hook("numpy_policy")(weights)
        n = save_gif(args.gif, episode_frames(record["env_id"], policy, args.seed + 20_000,
                                              record["config"].get("max_steps") or None))
        say(f"  wrote {args.gif} ({n} frames)")
    return 0
