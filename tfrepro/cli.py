"""``tfrepro``: run the book programs in TF1 graph form or as TF2 ports, reproduce the
books' numbers, and time book loops against fast ones.

Process-wide switches (TensorFlow's log level) are set here, at the entry point, and
nowhere in library code.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import programs
from .errors import UsageError

EPILOG_RUN = """examples:
  tfrepro run pg-tang --framework tf1 --mode fast --seed 0 --out runs/tang.json
  tfrepro run pg-geron --framework tf2 --variant notebook --save ckpt/geron --out g.json
  tfrepro run pg-geron --framework tf2 --load ckpt/geron --iterations 0 --gif geron.gif --out e.json
  tfrepro run dqn-meertens --variant exercises --logdir runs/m --qplot q.png --takeover basic --out m.json
  tfrepro run dqn-pylessons --framework tf2 --load cartpole-dqn.h5 --iterations 0 --save conv --out p.json
"""


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage dump) and exit code 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def _seed(text):
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid seed {text!r} (an integer >= 0)") from None
    if not 0 <= v < 2**31:
        raise argparse.ArgumentTypeError(f"invalid seed {v} (0 <= seed < 2**31)")
    return v


def _count(text):
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid count {text!r} (an integer >= 0)") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"invalid count {v} (must be >= 0)")
    return v


def _seed_range(text):
    """``A..B`` (inclusive) or ``N`` (0..N-1)."""
    m = __import__("re").fullmatch(r"(\d+)\.\.(\d+)|(\d+)", text.strip())
    if not m:
        raise argparse.ArgumentTypeError(f"{text!r}: expected A..B or a count N")
    if m.group(3) is not None:
        n = int(m.group(3))
        if n < 1:
            raise argparse.ArgumentTypeError("a seed count must be at least 1")
        return list(range(n))
    a, b = int(m.group(1)), int(m.group(2))
    if b < a:
        raise argparse.ArgumentTypeError(f"{text!r}: empty range")
    return list(range(a, b + 1))


def _tf_version(text):
    if not __import__("re").fullmatch(r"2\.\d+(\.\d+)?", text):
        raise argparse.ArgumentTypeError(f"{text!r}: expected a TensorFlow 2 version like 2.16")
    return text


def _positive(text):
    v = _count(text)
    if v == 0:
        raise argparse.ArgumentTypeError("must be >= 1")
    return v


def build_parser() -> Parser:
    from .envs import ENV_IDS

    p = Parser(prog="tfrepro", description=__doc__.split("\n\n")[0],
               epilog="environment: TFREPRO_GYM=gymnasium|gym chooses the environment library "
                      "(default: gymnasium when installed, else gym <= 0.21, as in the TF 1.15 image)",
               formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True

    r = sub.add_parser("run", help="run one program in one form and write its result record",
                       description="Run one program in its TF1 graph form (tf1) or TF2 port (tf2), "
                       "print a summary and write the result record (JSON).",
                       epilog=EPILOG_RUN, formatter_class=argparse.RawDescriptionHelpFormatter)
    r.add_argument("program", metavar="PROGRAM", help="one of: " + ", ".join(programs.PROGRAMS))
    r.add_argument("--framework", choices=programs.FRAMEWORKS, default="tf2",
                   help="tf1: legacy_tf1 graph code; tf2: modern_tf2 port (default: %(default)s)")
    r.add_argument("--mode", choices=programs.MODES, default=None,
                   help="book: the source's loop as written; fast: the same math vectorised "
                   "(default: fast where the program has it)")
    r.add_argument("--seed", type=_seed, default=0, help="run seed (default: %(default)s)")
    r.add_argument("--env", choices=ENV_IDS, help="override the program's environment")
    r.add_argument("--variant", help="program variant (pg-geron: book | notebook = 500-step "
                   "episodes; dqn-meertens: book | exercises = epsilon-greedy + target network)")
    r.add_argument("--iterations", type=_count, metavar="K",
                   help="training iterations (updates or training episodes); 0 evaluates only")
    r.add_argument("--save", metavar="DIR", help="save the trained model into DIR (TF1: Saver "
                   "checkpoint, or cartpole-dqn.h5 for dqn-pylessons as the source saved it; "
                   "TF2: model.keras)")
    r.add_argument("--load", metavar="PATH", help="start from a model saved by --save; "
                   "dqn-pylessons also loads a Keras 2 .h5 file (with --iterations 0: evaluate "
                   "it; with --save: convert it to .keras)")
    r.add_argument("--gif", metavar="FILE", help="save an animation of one evaluation episode")
    r.add_argument("--logdir", metavar="DIR", help="TensorBoard summaries (DQN programs)")
    r.add_argument("--qplot", metavar="FILE.png", help="plot predicted Q(s, a) per frame of the "
                   "first test episode (DQN programs)")
    r.add_argument("--takeover", choices=("human", "basic"),
                   help="after training, one more test episode in which someone else acts when "
                   "max Q falls 0.2 below its initial value: you at the terminal (human) or the "
                   "hard-coded policy (basic) (DQN programs)")
    r.add_argument("--takeover-margin", type=float, default=0.2, metavar="M",
                   help="take over when max Q < max Q(initial state) - M (default: %(default)s, "
                   "the source's)")
    r.add_argument("--out", metavar="FILE.json", required=True, help="result record to write")
    r.add_argument("--quiet", action="store_true", help="no progress bar")

    rp = sub.add_parser("reproduce", help="every program, both forms, several seeds: the table",
                        description="Run every program in both forms over several seeds, print "
                        "and write the reproduction table (Markdown + JSON) and a PNG of learning "
                        "curves, TF1 beside TF2.")
    rp.add_argument("--mode", choices=programs.MODES, default="fast", help="default: %(default)s")
    rp.add_argument("--seeds", type=_positive, default=8, help="seeds 0..N-1 (default: %(default)s)")
    rp.add_argument("--programs", nargs="+", metavar="PROGRAM[:VARIANT]",
                    help="subset (default: all; dqn-meertens runs its exercises variant unless "
                    "given as dqn-meertens:book)")
    rp.add_argument("--iterations", type=_count, metavar="K",
                    help="override every training program's iterations (for quick looks)")
    rp.add_argument("--workers", type=_positive, default=min(2, os.cpu_count() or 1),
                    help="parallel runs, each in a fresh process (default: %(default)s)")
    rp.add_argument("--out-dir", default="results/reproduce", metavar="DIR",
                    help="where records, table and plot go (default: %(default)s)")

    dp = sub.add_parser("diff", help="the migration ladder between a program's TF1 and TF2 forms",
                        description="Climb TensorFlow's migration ladder between the TF1 graph "
                        "form and the TF2 port of a program: (1) variables mapped by name and "
                        "shape, (2) forward pass on a fixed batch with the same weights, (3) loss "
                        "and gradients on the same recorded batch, (4) weights after N optimizer "
                        "steps with the optimizer pairing stated (Keras Adam with TF1's epsilon, "
                        "or the TF2 optimizers that reproduce TF1's and Keras 2's RMSProp), and "
                        "with --seeds K (5) learning over K seeds per framework in fast mode: "
                        "final rewards compared (bootstrap interval, Mann-Whitney, probability "
                        "that TF2 is better) and both learning curves in a PNG. One row per rung "
                        "with the largest difference and the tolerance. Exit code 0 when every "
                        "rung passes, 1 when one fails. --explain lists the causes of drift "
                        "measured on this stack, each measured afresh.")
    dp.add_argument("program", nargs="?", metavar="PROGRAM[:VARIANT]",
                    help="one of: " + ", ".join(n for n, p in programs.PROGRAMS.items() if p.has_model)
                    + " (the variant applies to rung 5; default: the one reproduce runs)")
    dp.add_argument("--all", action="store_true", help="every program with weights")
    dp.add_argument("--explain", action="store_true", help="measure and list the known causes of "
                    "drift between TF1 code and its TF2 port (no PROGRAM)")
    dp.add_argument("--steps", type=_positive, default=10, help="optimizer steps for rung 4 "
                    "(default: %(default)s, at least 10)")
    dp.add_argument("--seed", type=_seed, default=0)
    dp.add_argument("--port-optimizer", action="store_true", help="rung 4 with the Adam ports' own "
                    "Keras Adam (epsilon 1e-7) instead of Keras Adam with TF1's 1e-8: shows that drift")
    dp.add_argument("--seeds", type=_positive, metavar="K", help="rung 5: train both forms over "
                    "seeds 0..K-1 (fast mode) and compare the final rewards")
    dp.add_argument("--iterations", type=_count, metavar="N", help="rung 5: training iterations "
                    "per run (default: the program's own)")
    dp.add_argument("--alpha", type=float, default=0.05, help="rung 5 fails when Mann-Whitney "
                    "p < ALPHA (default: %(default)s)")
    dp.add_argument("--workers", type=_positive, default=min(2, os.cpu_count() or 1),
                    help="rung 5: parallel runs, each in a fresh process (default: %(default)s)")
    dp.add_argument("--out-dir", default="results/diff", metavar="DIR",
                    help="rung 5: records and curves go to DIR/PROGRAM (default: %(default)s)")
    dp.add_argument("--json", action="store_true", help="print JSON instead of tables")

    cp = sub.add_parser("convert", help="convert a checkpoint between the TF1 and TF2 forms",
                        description="Convert a TF1 form's checkpoint (tf.train.Saver; "
                        "cartpole-dqn.h5 for dqn-pylessons) into the TF2 port's model.keras, or "
                        "the reverse, and check that both forms then give the same outputs on a "
                        "fixed batch. Errors (another architecture, a truncated file, a missing "
                        "variable) print one line and write nothing.")
    cp.add_argument("program", metavar="PROGRAM")
    cp.add_argument("src", metavar="CHECKPOINT", help="a --save directory, a checkpoint prefix, "
                    "a .keras or .h5 file")
    cp.add_argument("--out", metavar="DIR", required=True, help="directory to write into")

    ip = sub.add_parser("inspect", help="list the variables of a checkpoint or model file",
                        description="List variables, shapes and dtypes of a TF1 tf.train.Saver "
                        "checkpoint (a directory written by --save, or its prefix), a .keras "
                        "model or a Keras 2 .h5 model.")
    ip.add_argument("path", metavar="CHECKPOINT")
    ip.add_argument("--json", action="store_true", help="print JSON instead of a table")

    bp = sub.add_parser("bench", help="rewards and speed of the suite, into one results file",
                        description="Run a suite over programs x frameworks x modes x seeds: reward "
                        "runs (fast mode, every seed) and speed timings (book and fast loops, warm-up "
                        "excluded, repeated, each alone in a fresh process), into one JSON results "
                        "file per (machine, environment, commit) under --out-dir, rewritten "
                        "atomically after every finished job. `tfrepro compare` reads two of them.",
                        epilog="Suites: quick = pg-tang, pg-geron, imitation-policy over 5 seeds + "
                        "speed of pg-tang, pg-geron, dqn-meertens, dqn-pylessons (3 repeats); full = "
                        "every learning program over 10 seeds (dqn-meertens exercises for 60,000 "
                        "frames, dqn-pylessons evaluated) + the same timings, longer (5 repeats).")
    bp.add_argument("--suite", default="quick", help="quick | full (default: %(default)s)")
    bp.add_argument("--programs", nargs="+", metavar="PROGRAM[:VARIANT]",
                    help="only these programs (with the suite's settings)")
    bp.add_argument("--seeds", type=_seed_range, metavar="A..B|N",
                    help="reward seeds: 0..9 (inclusive) or a count N for 0..N-1 (default: the suite's)")
    bp.add_argument("--frameworks", nargs="+", choices=programs.FRAMEWORKS, default=list(programs.FRAMEWORKS))
    bp.add_argument("--iterations", type=_positive, metavar="K", help="shorten every training "
                    "program's reward runs to K iterations (quick looks; recorded per run)")
    bp.add_argument("--modes", nargs="+", choices=programs.MODES, default=["fast"],
                    help="modes of the reward runs (default: fast; book loops are slow: Géron's "
                    "takes ~13 min per run; the speed timings always cover both)")
    bp.add_argument("--no-speed", action="store_true", help="reward runs only")
    bp.add_argument("--no-reward", action="store_true", help="speed timings only")
    bp.add_argument("--repeats", type=_positive, help="timed repeats per speed job (default: the suite's)")
    bp.add_argument("--workers", type=_positive, default=min(2, os.cpu_count() or 1),
                    help="reward runs at a time, each in a fresh process; speed timings always run "
                    "one at a time (default: %(default)s)")
    bp.add_argument("--backend", choices=("local", "ray"), default="local",
                    help="local: a process pool; ray: Ray tasks (default: %(default)s)")
    bp.add_argument("--address", help="Ray cluster address (default: start a local Ray)")
    bp.add_argument("--resume", action="store_true", help="continue an interrupted bench: run only "
                    "the jobs its results file lacks")
    bp.add_argument("--out-dir", default="results/bench", metavar="DIR", help="default: %(default)s")
    bp.add_argument("--out", metavar="FILE.json", help="results file (default: DIR/<machine>_tf<version>_"
                    "<environment>_<commit>.json)")

    cm = sub.add_parser("compare", help="what changed between two bench results files",
                        description="Compare two bench results files (BASE, NEW) per program x "
                        "framework x mode: reward (medians, IQRs, bootstrap 95% interval of the "
                        "mean difference, Mann-Whitney p, probability that NEW is better) and speed "
                        "(ratio of median steps/s with a bootstrap interval). Prints a table, writes "
                        "Markdown, JSON and a PNG. Exit code 1 when a row got worse beyond the "
                        "thresholds, 0 otherwise, 2 on unreadable input.")
    cm.add_argument("base", metavar="BASE")
    cm.add_argument("new", metavar="NEW")
    cm.add_argument("--alpha", type=float, default=0.05, help="reward: Mann-Whitney significance "
                    "(default: %(default)s)")
    cm.add_argument("--reward-tol", type=float, default=0.05, help="reward: smallest mean change "
                    "that counts, as a share of BASE's median (default: %(default)s)")
    cm.add_argument("--speed-tol", type=float, default=0.10, help="speed: a change counts when the "
                    "whole 95%% interval of the ratio lies beyond 1 +/- this (default: %(default)s)")
    cm.add_argument("--out-dir", default="results/compare", metavar="DIR",
                    help="where compare.md, compare.json and compare.png go (default: %(default)s)")

    mp = sub.add_parser("matrix", help="bench under several TensorFlow releases, one report",
                        description="For each TensorFlow version: build (once, cached) an isolated "
                        "environment with that TensorFlow, its tf-keras and the Keras pip resolves "
                        "for it, run `tfrepro bench` there on this checkout, then compare every "
                        "version with the first: a table with one row per version, Markdown, JSON "
                        "and a PNG with one line per version. Exit code 1 when a version is worse "
                        "than the first beyond the thresholds.")
    mp.add_argument("--tf", nargs="+", required=True, metavar="VERSION", type=_tf_version,
                    help="TensorFlow versions, e.g. 2.15 2.16 2.18 2.21 (the first is the base)")
    mp.add_argument("--suite", default="quick", help="bench suite (default: %(default)s)")
    mp.add_argument("--programs", nargs="+", metavar="PROGRAM[:VARIANT]", help="only these programs")
    mp.add_argument("--seeds", type=_seed_range, metavar="A..B|N", help="reward seeds (default: the suite's)")
    mp.add_argument("--iterations", type=_positive, metavar="K", help="shorten reward runs (quick looks)")
    mp.add_argument("--frameworks", nargs="+", choices=programs.FRAMEWORKS,
                    help="only these forms (default: both)")
    mp.add_argument("--repeats", type=_positive, help="timed repeats per speed job")
    mp.add_argument("--workers", type=_positive, default=min(2, os.cpu_count() or 1))
    mp.add_argument("--cache", metavar="DIR", help="where the environments live (default: "
                    "~/.cache/tfrepro/matrix)")
    mp.add_argument("--resume", action="store_true", help="complete the results files already there")
    mp.add_argument("--out-dir", default="results/matrix", metavar="DIR", help="default: %(default)s")
    mp.add_argument("--alpha", type=float, default=0.05)
    mp.add_argument("--reward-tol", type=float, default=0.05)
    mp.add_argument("--speed-tol", type=float, default=0.10)

    lp = sub.add_parser("legacy", help="run a TF1-era script unchanged on today's TensorFlow",
                        description="Run SCRIPT.py as printed in a TF1-era book, unchanged, in a fresh "
                        "process: `import tensorflow as tf` gives tf.compat.v1 in graph mode (tf.layers, "
                        "tf.train optimizers, Session, FileWriter), `import gym` the gym 0.21 API over "
                        "gymnasium, `import keras` Keras 2 (tf-keras) with lr= honoured and spaces in "
                        "model names allowed; tabs mixed into indentation read as Python 2 read them, "
                        "raw_input and xrange defined. The shims apply to the script (and modules next "
                        "to it) only; nothing is installed. The exit code is the script's.")
    lp.add_argument("--report", action="store_true", help="list the shims the script used, at the end")
    lp.add_argument("script", metavar="SCRIPT.py")
    lp.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS", help="the script's own arguments")

    sp = sub.add_parser("speed", help="time book loops against fast ones, as ratios",
                        description="Time the book loop against the fast one for the learning "
                        "programs in both frameworks, side by side in one process, and report "
                        "time per environment step and ratios. Book mode runs a few iterations "
                        "and is scaled by environment steps. The DQNs run a fixed number of "
                        "frames (meertens) or episodes (pylessons) in both modes, learning from "
                        "frame 100 (meertens) or 64 (pylessons) on.")
    sp.add_argument("--programs", nargs="+", default=["pg-tang", "pg-geron"], metavar="PROGRAM")
    sp.add_argument("--book-iterations", type=_positive, default=None, metavar="K",
                    help="iterations of the book loop (default: 30 for pg-tang, 3 for pg-geron, "
                    "1500 frames for dqn-meertens, 25 episodes for dqn-pylessons)")
    sp.add_argument("--fast-iterations", type=_positive, default=None, metavar="K",
                    help="iterations of the fast loop (default: the program's full run for the "
                    "REINFORCE programs, 20000 frames / 60 episodes for the DQNs)")
    sp.add_argument("--repeats", type=_positive, default=3, help="repeats of each timing (median)")
    sp.add_argument("--seed", type=_seed, default=0)
    sp.add_argument("--out", metavar="FILE.json", help="also write the measurements")
    return p


def quiet_tensorflow():
    """Entry-point only: TensorFlow's C++ logs below ERROR off, its Python deprecation
    notes off (the TF1 programs use deprecated symbols on purpose), CUDA probing off on
    machines without an NVIDIA device, and the banner TensorFlow prints on import muted.
    ``TFREPRO_TF_LOGS=1`` keeps all of it."""
    if os.environ.get("TFREPRO_TF_LOGS") == "1":
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if not os.path.exists("/dev/nvidia0"):
        os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")
    import logging
    import warnings

    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", message=".*is deprecated.*")
    # tf-keras in a TF1 graph (pylessons) warns on every predict graph it builds
    warnings.filterwarnings("ignore", message="`Model.state_updates` will be removed")
    if "tensorflow" in sys.modules:
        return
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow  # noqa: F401  (absl logs its banner before any setting applies)
    except ImportError:
        pass  # reported, with its message, where the program imports it
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _check_out(path):
    out = Path(path)
    if out.exists() and out.is_dir():
        raise UsageError(f"--out {path}: is a directory")
    return out


def _asker(kind, margin):
    if kind is None:
        return None
    from .takeover import HumanAsker, PolicyAsker

    asker = HumanAsker() if kind == "human" else PolicyAsker()
    asker.margin = margin
    return asker


def _load_for(name, framework, path):
    """``--load`` takes a checkpoint of either world: a TF1 Saver checkpoint for the TF2
    port, or a .keras model for the TF1 form, is converted first (into a temporary
    directory; the user's files are only read)."""
    import tempfile

    from .convert import convert
    from .inspect_ckpt import inspect

    kind, _ = inspect(path)
    other = (framework == "tf2" and kind.startswith("TF1")) or \
        (framework == "tf1" and kind.startswith("Keras .keras"))
    if not other:
        return path
    converted, world, diff = convert(name, path, tempfile.mkdtemp(prefix="tfrepro-load-"))
    print(f"  --load {path}: a {world} checkpoint, converted for {framework} "
          f"(outputs differ by at most {diff:.3g})")
    return os.path.dirname(converted)


def cmd_run(args) -> int:
    prog = programs.get(args.program)
    args.mode = args.mode or ("fast" if "fast" in prog.modes else prog.modes[0])
    out = _check_out(args.out)
    if args.load and not Path(args.load).exists():
        raise UsageError(f"--load {args.load}: no such file or directory")
    if args.gif and Path(args.gif).is_dir():
        raise UsageError(f"--gif {args.gif}: is a directory")
    prog.make_config(env_id=args.env, iterations=args.iterations, variant=args.variant)  # validate
    if not prog.has_model and (args.save or args.load):
        raise UsageError(f"{prog.name} has no weights: --save and --load do not apply")
    if args.mode not in prog.modes:
        raise UsageError(f"{prog.name} has no {args.mode} mode yet (modes: {', '.join(prog.modes)})")
    if (args.qplot or args.takeover) and not prog.q_network:
        raise UsageError(f"{prog.name} has no Q values: --qplot and --takeover do not apply")
    if args.takeover and not prog.takeover:
        raise UsageError(f"{prog.name} has no takeover mode (dqn-meertens has)")
    quiet_tensorflow()
    load = _load_for(prog.name, args.framework, args.load) if args.load else None
    try:
        return _run_and_report(args, prog, out, load)
    finally:
        if load and load != args.load:  # the temporary conversion
            import shutil

            shutil.rmtree(load, ignore_errors=True)


def _run_and_report(args, prog, out, load) -> int:
    from .records import write_record
    from .runner import run_program

    progress = None
    if not args.quiet and prog.iterations_field and args.iterations != 0:
        from tqdm import tqdm

        progress = lambda it: tqdm(it, desc=f"{prog.name} {args.framework} {args.mode}",  # noqa: E731
                                   unit="it", leave=False, file=sys.stderr)
    record = run_program(prog.name, args.framework, args.mode, args.seed, env_id=args.env,
                         iterations=args.iterations, variant=args.variant, save=args.save,
                         load=load, progress=progress, keep_weights=bool(args.gif),
                         logdir=args.logdir, takeover=_asker(args.takeover, args.takeover_margin))
    weights = record.pop("_weights", None)
    write_record(out, record)
    print(f"{prog.name} [{args.framework}, {args.mode}, seed {args.seed}, {record['env_id']}]: "
          f"eval mean {record['eval_mean']:.1f} (std {record['eval_std']:.1f}, min "
          f"{record['eval_min']:.0f}, max {record['eval_max']:.0f}) over "
          f"{len(record['eval_returns'])} episodes; source: {prog.number_for(args.variant)}")
    if record["train_returns"]:
        print(f"  trained {record['train_env_steps']} env steps, {record['updates']} updates in "
              f"{record['train_wall_s']:.1f} s")
    print(f"  wrote {out}")
    if record.get("takeover"):
        t = record["takeover"]
        print(f"  takeover episode: {t['frames']} frames, {t['takeover_frames']} handled by "
              f"{args.takeover}, {t['agent_frames']} by the agent; ended: {t['ended']}")
    if args.logdir:
        print(f"  TensorBoard summaries in {args.logdir} (tensorboard --logdir {args.logdir})")
    if args.qplot:
        from .render import save_q_plot

        save_q_plot(args.qplot, record["q_trace"], title=f"{prog.name} [{args.framework}]")
        print(f"  wrote {args.qplot}")
    if args.gif:
        from .policies import basic_policy_batch, greedy_q_policy, sampling_policy
        from .render import episode_frames, save_gif

        if weights is None:
            policy = basic_policy_batch
        elif prog.q_network:
            policy = greedy_q_policy(weights)
        else:
            policy = sampling_policy(weights, prog.form(args.framework).ACTIVATION)
        n = save_gif(args.gif, episode_frames(record["env_id"], policy, args.seed + 20_000,
                                              record["config"].get("max_steps") or None))
        print(f"  wrote {args.gif} ({n} frames)")
    return 0


def cmd_reproduce(args) -> int:
    from .reproduce import reproduce

    names = args.programs or [n for n, p in programs.PROGRAMS.items() if p.in_reproduce]
    entries = []
    for entry in names:
        prog, variant = programs.parse_entry(entry)
        entries.append((prog.name, variant))
    if Path(args.out_dir).exists() and not Path(args.out_dir).is_dir():
        raise UsageError(f"--out-dir {args.out_dir}: exists and is not a directory")
    quiet_tensorflow()
    return reproduce(entries, mode=args.mode, seeds=list(range(args.seeds)),
                     out_dir=Path(args.out_dir), workers=args.workers, iterations=args.iterations)


def cmd_diff(args) -> int:
    import json

    if args.explain:
        if args.program or args.all:
            raise UsageError("--explain takes no PROGRAM and no --all")
        quiet_tensorflow()
        from .drift import explain

        return explain(as_json=args.json)
    if args.all == bool(args.program):
        raise UsageError("give one PROGRAM, --all or --explain")
    entries = ([(n, p.reproduce_variant) for n, p in programs.PROGRAMS.items() if p.has_model]
               if args.all else [programs.parse_entry(args.program)])
    entries = [(getattr(p, "name", p), v) for p, v in entries]
    for name, _ in entries:
        if not programs.get(name).has_model:
            raise UsageError(f"{name} has no weights: nothing to diff")
    if args.steps < 10:
        raise UsageError(f"--steps {args.steps}: rung 4 takes at least 10 steps")
    if not 0 < args.alpha < 1:
        raise UsageError(f"--alpha {args.alpha}: must be between 0 and 1")
    if args.seeds is None and args.iterations is not None:
        raise UsageError("--iterations applies to rung 5: give --seeds K as well")
    if args.seeds is not None and Path(args.out_dir).exists() and not Path(args.out_dir).is_dir():
        raise UsageError(f"--out-dir {args.out_dir}: exists and is not a directory")
    quiet_tensorflow()
    from .ladder import Rung, climb, climb_learning, rungs_json, table

    results = []
    for name, variant in entries:
        rungs = climb(name, steps=args.steps, seed=args.seed, port_optimizer=args.port_optimizer)
        if args.seeds is not None:
            label = programs.entry_label(name, variant)
            if programs.get(name).iterations_field:
                rungs.append(climb_learning(label, range(args.seeds), Path(args.out_dir) /
                                            label.replace(":", "-"), iterations=args.iterations,
                                            workers=args.workers, alpha=args.alpha))
            else:
                rungs.append(Rung(5, "learning", None, "-", None, "no training in this program"))
        results.append(rungs_json(programs.entry_label(name, variant) if args.seeds else name, rungs))
        if not args.json:
            print(table(name, rungs))
            print()
    if args.json:
        print(json.dumps(results if args.all else results[0], indent=1))
    return 0 if all(r["passed"] for r in results) else 1


def cmd_convert(args) -> int:
    quiet_tensorflow()
    from .convert import convert

    path, world, diff = convert(programs.get(args.program).name, args.src, args.out)
    other = "tf2" if world == "tf1" else "tf1"
    print(f"{args.program}: {world} checkpoint {args.src} -> {other} {path}; outputs of both "
          f"forms on 64 observations differ by at most {diff:.3g}")
    return 0


def cmd_inspect(args) -> int:
    import json

    quiet_tensorflow()
    from .inspect_ckpt import inspect, table

    kind, rows = inspect(args.path)
    if args.json:
        print(json.dumps({"path": args.path, "kind": kind, "variables": [
            {"name": n, "shape": s, "dtype": d} for n, s, d in rows]}, indent=1))
    else:
        print(table(args.path, kind, rows))
    return 0


def cmd_bench(args) -> int:
    from .bench import SUITES, bench, load_results, summary_table

    if args.suite not in SUITES:
        raise UsageError(f"unknown suite {args.suite!r} (choose from: {', '.join(SUITES)})")
    if args.no_speed and args.no_reward:
        raise UsageError("--no-speed and --no-reward leave nothing to run")
    if args.programs:
        for entry in args.programs:
            programs.parse_entry(entry)  # validates names and variants
    if args.address and args.backend != "ray":
        raise UsageError("--address applies to --backend ray")
    if args.out:
        _check_out(args.out)
    quiet_tensorflow()
    path = bench(args.suite, args.programs, args.seeds, args.out_dir, args.workers, args.resume,
                 args.backend, args.address, speed=not args.no_speed, rewards=not args.no_reward,
                 frameworks=args.frameworks, repeats=args.repeats, out=args.out,
                 iterations=args.iterations, modes=args.modes)
    print(summary_table(load_results(path)))
    print(f"wrote {path}")
    return 0


def cmd_compare(args) -> int:
    from .compare import Thresholds, compare

    if not 0 < args.alpha < 1:
        raise UsageError(f"--alpha {args.alpha}: must be between 0 and 1")
    if args.reward_tol < 0 or args.speed_tol < 0:
        raise UsageError("--reward-tol and --speed-tol must be >= 0")
    if Path(args.out_dir).exists() and not Path(args.out_dir).is_dir():
        raise UsageError(f"--out-dir {args.out_dir}: exists and is not a directory")
    th = Thresholds(args.alpha, args.reward_tol, args.speed_tol)
    out = Path(args.out_dir)
    rows, md = compare([args.base, args.new], th, out / "compare.md", out / "compare.png",
                       out / "compare.json")
    print(md)
    print(f"wrote {out / 'compare.md'}, {out / 'compare.json'}, {out / 'compare.png'}")
    worse = [r for r in rows[0] if r["verdict"] == "worse"]
    if worse:
        print("worse: " + ", ".join(f"{r['program']} {r['framework']} {r['mode']}" for r in worse),
              file=sys.stderr)
    return 1 if worse else 0


def cmd_matrix(args) -> int:
    from .bench import SUITES
    from .compare import Thresholds
    from .matrix import DEFAULT_CACHE, matrix, requirements

    if args.suite not in SUITES:
        raise UsageError(f"unknown suite {args.suite!r} (choose from: {', '.join(SUITES)})")
    if len(set(args.tf)) != len(args.tf) or len(args.tf) < 2:
        raise UsageError("--tf takes two or more different versions")
    for v in args.tf:
        requirements(v)  # validates the range
    if args.programs:
        for entry in args.programs:
            programs.parse_entry(entry)
    if not 0 < args.alpha < 1 or args.reward_tol < 0 or args.speed_tol < 0:
        raise UsageError("--alpha must be in (0, 1); --reward-tol and --speed-tol >= 0")
    th = Thresholds(args.alpha, args.reward_tol, args.speed_tol)
    return matrix(args.tf, args.suite, args.seeds, args.repeats, args.workers,
                  Path(args.cache) if args.cache else DEFAULT_CACHE, Path(args.out_dir), args.resume,
                  th, args.programs, args.iterations, log=lambda m: print(m, file=sys.stderr),
                  frameworks=args.frameworks)


def cmd_legacy(args) -> int:
    import importlib.util
    import subprocess

    if not os.path.isfile(args.script):
        raise UsageError(f"{args.script}: no such script")
    if not args.script.endswith(".py"):
        raise UsageError(f"{args.script}: expected a Python script (.py)")
    if importlib.util.find_spec("tf_keras") is None:
        raise UsageError("legacy needs tf-keras (Keras 2) for tf.layers and standalone Keras code: "
                         "pip install tf-keras")
    root = str(Path(__file__).resolve().parents[1])
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL=os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"),
               PYTHONPATH=os.pathsep.join(x for x in (root, os.environ.get("PYTHONPATH")) if x))
    boot = "import sys, tfrepro.legacy_boot as b; sys.exit(b.main())"
    cmd = [sys.executable, "-c", boot] + (["--report"] if args.report else []) + [args.script] + args.args
    return subprocess.call(cmd, env=env)


def cmd_speed(args) -> int:
    from .speed import speed

    for name in args.programs:
        if programs.get(name).module not in ("pg_tang", "pg_geron", "dqn_meertens", "dqn_pylessons"):
            raise UsageError(f"speed times the learning programs (pg-tang, pg-geron, dqn-meertens, "
                             f"dqn-pylessons), not {name}")
    if args.out:
        _check_out(args.out)
    quiet_tensorflow()
    return speed(args.programs, book_iterations=args.book_iterations,
                 fast_iterations=args.fast_iterations, repeats=args.repeats,
                 seed=args.seed, out=args.out)


def _terminate_as_interrupt(signum, frame):
    raise KeyboardInterrupt  # SIGTERM: clean up (stop worker processes) as for Ctrl-C


def main(argv=None) -> int:
    import signal

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command in ("reproduce", "bench", "matrix", "diff"):
        signal.signal(signal.SIGTERM, _terminate_as_interrupt)
    try:
        return {"run": cmd_run, "reproduce": cmd_reproduce, "speed": cmd_speed,
                "diff": cmd_diff, "inspect": cmd_inspect, "convert": cmd_convert,
                "bench": cmd_bench, "compare": cmd_compare, "matrix": cmd_matrix,
                "legacy": cmd_legacy}[args.command](args)
    except UsageError as e:
        print(f"tfrepro {args.command}: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # unwritable --out, full disk, ...: say which file
        where = f" {e.filename}:" if getattr(e, "filename", None) else ""
        print(f"tfrepro {args.command}: error:{where} {e.strerror or e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tfrepro: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
