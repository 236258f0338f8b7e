"""``tfrepro rerun RECORD.json``: run again the run that wrote a result record (in lockstep, its
whole batch) and say whether it gives the same record."""
from __future__ import annotations

import sys

from ..core.errors import UsageError
from ..infra.tfquiet import quiet_tensorflow
from . import argtypes

COMPARED = ("eval_returns", "train_returns", "env_steps", "train_env_steps", "updates")


def add_parser(sub):
    p = sub.add_parser("rerun", help="run again the run of a result record and check it gives the same",
                       description="Run again the run that wrote RECORD.json: the same program, form, mode, "
                       "variant, seed and training length (in lockstep, with the seeds it ran beside: a "
                       "lockstep run's numbers may depend on its batch) and compare the new record with it, "
                       "episode by episode. Exit 0 when identical, 1 when they differ.")
    p.add_argument("record", metavar="RECORD.json")
    p.add_argument("--out", metavar="FILE.json", help="also write the new record")
    p.add_argument("--force", action="store_true", help="replace --out even if this package did not write it")
    return p


def batch_of(rec) -> tuple[list, str]:
    """(the seeds ``rec``'s run ran together, how that is known): ``runner.record_batch``, one
    line for a record whose batch is not a batch."""
    from ..infra.runner import record_batch

    try:
        return record_batch(rec)
    except ValueError as e:
        raise UsageError(f"record: {e}") from None


def first_difference(old, new):
    """None when the compared fields are equal, else (field, index or None, old value, new value)."""
    for key in COMPARED:
        a, b = old.get(key), new.get(key)
        if isinstance(a, list) and isinstance(b, list):
            for i, (x, y) in enumerate(zip(a, b)):
                if x != y:
                    return key, i, x, y
            if len(a) != len(b):
                return key, min(len(a), len(b)), f"{len(a)} values", f"{len(b)} values"
        elif a != b:
            return key, None, a, b
    return None


def main(args) -> int:
    from ..infra import programs
    from ..infra.records import cpu_model, read_record, versions, write_record

    rec = read_record(args.record)
    out = argtypes.check_out(args.out, force=args.force) if args.out else None
    prog = programs.get(rec["program"])
    if rec["framework"] not in programs.FRAMEWORKS:
        raise UsageError(f"{args.record}: framework {rec['framework'][:40]!r} is not one of {programs.FRAMEWORKS}")
    if rec["mode"] not in prog.modes:
        raise UsageError(f"{args.record}: {prog.name} has no {rec['mode'][:40]!r} mode "
                         f"(modes: {', '.join(prog.modes)})")
    variant = rec.get("variant") if rec.get("variant") not in (None, "book") else None
    config: dict = rec["config"] if isinstance(rec.get("config"), dict) else {}
    its = config.get(prog.iterations_field) if prog.iterations_field else None
    if its is not None and not (isinstance(its, int) and not isinstance(its, bool) and 0 <= its <= argtypes.MAX_COUNT):
        raise UsageError(f"{args.record}: config.{prog.iterations_field} is not a count")
    batch, how = batch_of(rec)
    quiet_tensorflow()
    now = versions()
    moved = {k: (rec["versions"].get(k), v) for k, v in now.items() if rec["versions"].get(k) != v}
    print(f"rerun {prog.name} [{rec['framework']}, {rec['mode']}, seed {rec['seed']}]"
          + (f" in its batch of {len(batch)} seeds ({how})" if rec["mode"] == "lockstep" else ""))
    if moved:
        print("  versions differ from the record's: " + ", ".join(f"{k} {a} -> {b}" for k, (a, b) in moved.items()))
    cpu = cpu_model()
    if rec.get("cpu") != cpu:
        print(f"  CPU: {str(rec.get('cpu') or 'not named in the record')[:60]} -> {cpu} (per-seed numbers carry "
              "only between like CPUs)")
    from ..infra.runner import run_seeds

    recs = run_seeds(prog.name, rec["framework"], rec["mode"], batch, env_id=rec.get("env_id"),
                     iterations=its, variant=variant)
    new = next(r for r in recs if r["seed"] == rec["seed"])
    if out is not None:
        write_record(out, new)
        print(f"  wrote {out}")
    diff = first_difference(rec, new)
    if diff is None:
        print(f"  identical: {len(new['eval_returns'])} test and {len(new['train_returns'])} training "
              f"episodes, {new['env_steps']} environment steps (eval mean {new['eval_mean']:.2f})")
        return 0
    key, i, a, b = diff
    print(f"  differs: {key}{f'[{i}]' if i is not None else ''} {a} in the record, {b} now "
          f"(eval mean {rec['eval_mean']:.2f} -> {new['eval_mean']:.2f})", file=sys.stderr)
    return 1
