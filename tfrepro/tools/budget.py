"""``reproduce --budget 10m``: seeds where they settle a verdict, within a time budget, read
with a group-sequential design (``core.sequential``) so that stopping early is honest.

Every program starts with one look (its quick tier's seeds, a lockstep block of 30, 6 for
dqn-pylessons), whatever the budget: every program gets its row and a spread to plan on.
After each look the verdict is read at that look's nominal level; a program
that is decided (``equivalent``, ``worse``, ``better``) or cannot be decided within
``--max-seeds`` (futility) stops. While time is left, a free worker takes the next look of the
undecided program that is cheapest to decide: the seeds its spread asks for, times its cost
per seed measured so far (cheap undecided programs get seeds first). A look is started only if
its runs are expected to end within the budget; runs in flight are never cut. Seeds are the
same blocks every command runs (a look reuses the earlier looks' runs unchanged: a seed's
record does not depend on its batch), and records land in ``DIR/runs`` as they finish, so
``--resume`` continues a budget run where it stopped.
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..core import sequential
from ..infra import programs
from ..infra.grid import PROCESS_SECONDS, chunks, job_cost, mode_for, record_path, reusable, run_chunk
from ..infra.judge import judge_rewards
from ..infra.records import cpu_model, read_json, write_record


@dataclass
class Track:
    """One program's sequential plan and its state."""
    name: str
    variant: str | None
    mode: str
    look_size: int
    n_max: int
    looks: list = field(default_factory=list)  # seeds per side at each look read
    records: dict = field(default_factory=dict)  # (framework, seed) -> record
    pending: list = field(default_factory=list)  # jobs of the look in flight, not yet started
    running: int = 0  # jobs of that look started and not done
    target: int = 0  # seeds per side the look in flight reads at
    verdict: dict | None = None
    state: str = "waiting"  # waiting, running, decided, futile, spent, out of time
    seconds: float = 0.0  # measured worker-seconds of its jobs
    estimated: float = 0.0  # what job_cost expected of them
    prior: int | None = None  # seeds per side a planning spread asks for (``prior_needs``), before any look
    prior_cost: float | None = None  # its worker-seconds, as estimated when it was left out
    prior_scale: float | None = None  # seconds over job_cost's estimate an earlier run measured (Plan)

    @property
    def label(self) -> str:
        return programs.entry_label(self.name, self.variant)

    def seeds_done(self) -> int:
        """Seeds per side with a record on both sides, from 0 up."""
        n = 0
        while all((fw, n) in self.records for fw in programs.FRAMEWORKS):
            n += 1
        return n


@dataclass
class Plan:
    """What a budget run plans on before its own looks: seeds per side each entry's planning
    spread asks for (``prior_needs``; None: none up to the cap) and, where an earlier run on
    this CPU measured them, each entry's seconds over ``job_cost``'s estimate (``measured_scales``)."""
    needs: dict = field(default_factory=dict)
    scales: dict = field(default_factory=dict)


def parse_budget(text: str) -> float:
    """``10m``, ``90s``, ``1h``, ``1.5h`` or plain seconds: seconds (1 s to 7 days)."""
    units = {"s": 1, "m": 60, "h": 3600}
    t = text.strip().lower()
    scale = units.get(t[-1:], None)
    try:
        v = float(t[:-1] if scale else t) * (scale or 1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text[:40]!r}: expected a duration such as 10m, 90s or 1h") from None
    if not (math.isfinite(v) and 1 <= v <= 7 * 86400):
        raise argparse.ArgumentTypeError(f"{text[:40]!r}: a budget of 1 s to 7 days")
    return v


class Scheduler:
    """The jobs of a budget run, one look at a time per program; ``next_job`` for the pool."""

    def __init__(self, entries, mode, runs_dir: Path, budget_s, workers, iterations=None, margins=None,
                 max_seeds=300, spending="pocock", alpha=sequential.ALPHA, reuse=False, log=None, prior=None):
        self.runs_dir, self.budget, self.workers = Path(runs_dir), float(budget_s), workers
        self.iterations, self.margins, self.alpha, self.spending = iterations, margins or {}, alpha, spending
        self.t0 = time.monotonic()
        self.log = log or (lambda msg: print(msg, file=sys.stderr))
        self.tracks = []
        for name, variant in entries:
            prog = programs.get(name)
            m = mode_for(name, mode)
            size = prog.lockstep_block if (m == "lockstep" and "tf1" not in prog.lockstep_batch_invariant) \
                else prog.quick_seeds
            size = max(1, min(size, max_seeds))
            track = Track(name, variant, m, size, max(size, max_seeds))
            if prior and (name, variant) in prior.needs:
                need = prior.needs[name, variant]
                track.prior = track.n_max + 1 if need is None else int(need)  # None: none up to the cap
            if prior and (name, variant) in prior.scales:
                track.prior_scale = float(prior.scales[name, variant])
            if reuse:  # the runs of an earlier budget run (or any run of these seeds): taken as they are
                for fw in programs.FRAMEWORKS:
                    s = 0
                    while True:
                        rec = reusable(record_path(self.runs_dir, name, variant, fw, m, s), name, variant, fw, m,
                                        s, iterations)
                        if rec is None:
                            break
                        track.records[fw, s] = rec
                        s += 1
            self.tracks.append(track)
        self.scale = 1.0  # measured seconds over job_cost's estimate, over every job done
        for track in self.tracks:  # looks already on disk are read in order, as they were taken
            done = track.seeds_done()
            n = 0
            while track.state in ("waiting", "running") and n + track.look_size <= done:
                n += track.look_size
                self._read(track, n)

    # ---- time ----------------------------------------------------------------------------

    def left(self) -> float:
        return self.budget - (time.monotonic() - self.t0)

    def _scale(self, track: Track) -> float:
        """Measured seconds over ``job_cost``'s estimate: the program's own once it has run jobs;
        before that, what an earlier run on this CPU measured of it (``Plan.scales``), else the
        run's so far but never below 1 (cheap programs' jobs, whose estimate is mostly the fixed
        cost of a worker they did not pay, would promise a costly program's look in a fraction
        of its time)."""
        if track.estimated:
            return track.seconds / track.estimated
        if track.prior_scale is not None:
            return track.prior_scale
        return max(1.0, self.scale)

    def _estimate(self, jobs, track: Track) -> float:
        """Expected wall seconds of a look's jobs on the free workers (each job on one worker)."""
        costs = sorted((job_cost(j) * self._scale(track) for j in jobs), reverse=True)
        lanes = [0.0] * max(1, self.workers)
        for c in costs:
            lanes[lanes.index(min(lanes))] += c
        return max(lanes)

    # ---- looks ---------------------------------------------------------------------------

    def _look_jobs(self, track: Track, n: int) -> list:
        seeds = list(range(track.seeds_done(), n))
        jobs = []
        for fw in programs.FRAMEWORKS:
            todo = [s for s in seeds if (fw, s) not in track.records]
            jobs += [(track.name, track.variant, fw, track.mode, chunk, self.iterations, False)
                     for chunk in chunks(todo, track.mode, self.workers, track.name, fw)]
        return jobs

    def _cost_to_decide(self, track: Track) -> float:
        """Seconds of runs the track is expected to need: its next look for a track with none
        read yet, else the seeds per side its spread asks for beyond those it has."""
        n = track.seeds_done()
        if not track.looks and track.prior is None:
            return sum(job_cost(j) for j in self._look_jobs(track, track.look_size)) * self._scale(track)
        need = (track.prior if not track.looks else sequential_need(track.verdict)) or track.n_max
        more = max(track.look_size, min(track.n_max, need) - n)
        per_seed = sum(job_cost(j) for j in self._look_jobs(track, n + track.look_size)) / track.look_size
        return more * per_seed * self._scale(track)

    def next_job(self):
        for track in self.tracks:  # the look in flight first
            if track.pending:
                track.running += 1
                return track.pending.pop(0)
        open_ = [t for t in self.tracks if t.state == "waiting"]
        # a program with neither a look nor a planning spread first (nothing to plan on: its first
        # look always runs), then the undecided program cheapest to decide, planned from its spread:
        # its own once it has a look, else the planning spread's (``prior_needs``)
        for track in sorted(open_, key=lambda t: (bool(t.looks) or t.prior is not None, self._cost_to_decide(t))):
            n = min(track.n_max, track.seeds_done() + track.look_size)
            jobs = self._look_jobs(track, n)
            if not jobs:  # the records are all there already: read the look at once
                self._read(track, n)
                return self.next_job()
            if (track.looks or track.prior is not None) and self._estimate(jobs, track) > self.left():
                track.state = "out of time"
                if not track.looks:
                    track.prior_cost = self._cost_to_decide(track)
                continue
            track.pending, track.target, track.state = jobs, n, "running"
            track.running = 1
            return track.pending.pop(0)
        return None

    def done(self, job, recs, seconds):
        name, variant, fw, m = job[:4]
        track = next(t for t in self.tracks if (t.name, t.variant) == (name, variant))
        for rec in recs:
            write_record(record_path(self.runs_dir, name, variant, fw, m, rec["seed"]), rec)
            track.records[fw, rec["seed"]] = rec
        track.seconds += seconds
        track.estimated += job_cost(job)
        spent = sum(t.seconds for t in self.tracks)
        expected = sum(t.estimated for t in self.tracks)
        self.scale = spent / expected if expected else 1.0
        track.running -= 1
        if track.running == 0 and not track.pending:
            self._read(track, track.target)

    def _read(self, track: Track, n: int):
        """Read the look at ``n`` seeds per side and settle the track's state."""
        base = [track.records["tf1", s]["eval_mean"] for s in range(n)]
        new = [track.records["tf2", s]["eval_mean"] for s in range(n)]
        track.looks.append(n)
        label, margins = track.label, self.margins

        def judge(b, a_new, a):
            return judge_rewards(label, b, a_new, alpha=a, margins=margins)

        track.verdict = sequential.read_look(judge, base, new, track.looks, track.n_max, self.alpha, self.spending)
        v = track.verdict
        track.state = ("decided" if v["verdict"] in ("equivalent", "worse", "better") else
                       "futile" if v.get("futile") and n < track.n_max else
                       "spent" if n >= track.n_max else "waiting")
        self.log(f"  {label}: look {v['look']} at {n}+{n} seeds, nominal alpha {v['nominal_alpha']:.4f}: "
                 f"{v['verdict']}" + (f" ({v['futile']})" if v.get("futile") else ""))

    def states(self) -> str:
        short = {"decided": "", "waiting": "…", "running": "▶", "futile": "✗", "spent": "✗", "out of time": "⏱"}
        out = []
        for t in self.tracks:
            v = t.verdict["verdict"] if t.verdict else "-"
            out.append(f"{t.label} {short.get(t.state, '')}{v if t.state == 'decided' else t.state} "
                       f"{t.seeds_done()}")
        return "; ".join(out)


def sequential_need(verdict) -> int | None:
    """Seeds per side a fixed design would need at this spread (the collapse rate's too)."""
    if not verdict:
        return None
    from ..infra.judge import seeds_to_decide

    try:
        return seeds_to_decide(verdict)
    except (KeyError, TypeError, ValueError):
        return None


PLAN_FROM = "results/reproduce-full/summary.json"  # the checkout's own --full run: the default planning spreads


def prior_needs(path: Path, entries, margins=None, alpha=sequential.ALPHA) -> dict:
    """Seeds per side each entry is expected to need, planned from an earlier reproduction's
    per-seed values (``summary.json``) blind to the difference between the forms: both sides
    pooled, the fixed design's count at a difference of 0 for that spread (``seeds_needed``;
    with a collapse rate apart, the larger of the rate's and the kept runs'). Only the nuisance
    parameters (the spread, the collapse rate) are taken from it, never its verdict, so that the
    order in which programs get seeds does not depend on what their runs showed. None for an
    entry no count up to the cap would decide; entries the file lacks (or an unreadable file)
    are left out: they plan from their own first look."""
    import numpy as np

    from ..core.errors import UsageError
    from ..core.verdicts import rate_seeds_needed, seeds_needed
    from ..infra.judge import margin_of

    try:
        data = read_json(path)
    except (UsageError, OSError):
        return {}
    listed = data.get("rows") if isinstance(data, dict) else None
    rows = {r["program"]: r for r in (listed if isinstance(listed, list) else [])
            if isinstance(r, dict) and isinstance(r.get("program"), str)}
    out = {}
    for name, variant in entries:
        label = programs.entry_label(name, variant)
        row = rows.get(label)
        if row is None or (programs.margin_for(label) is None and not margins):
            continue
        margin, _, collapse_below, rate_margin = margin_of(label, margins)
        vals = []
        for side in ("tf1", "tf2"):
            got = row.get(side, {}).get("eval_means") if isinstance(row.get(side), dict) else None
            vals += [float(v) for v in (got if isinstance(got, list) else [])
                     if isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v)]
        if len(vals) < 6:
            continue
        arr = np.asarray(vals)
        if collapse_below is not None:
            down = arr < collapse_below
            parts = [seeds_needed(float(np.std(arr[~down], ddof=1)), 0.0, margin, alpha) if (~down).sum() > 2 else 2,
                     rate_seeds_needed(float(down.mean()), rate_margin, alpha) or 2]
            out[(name, variant)] = None if None in parts else max(parts)
        else:
            out[(name, variant)] = seeds_needed(float(np.std(arr, ddof=1)), 0.0, margin, alpha)
    return out


def measured_scales(runs_dir: Path, entries, mode, iterations=None) -> dict:
    """Each entry's seconds over ``job_cost``'s estimate in an earlier run's records (``runs_dir``:
    the run whose summary gives the planning spreads), counting only records made on this CPU at
    the iterations this run uses (a lockstep batch's wall time once per batch, a fast run's its
    own): the cost a program's first look is planned at, in place of its ``Timing``'s hand-set
    numbers (dqn-meertens's, 200 s a process and 8 s a seed, promised 446 s for a look's job whose
    records took 201-264 s). Entries with no such records are left out."""
    cpu = cpu_model()
    want = {(name, variant): mode_for(name, mode) for name, variant in entries}
    spent: dict = {}
    try:
        paths = sorted(Path(runs_dir).glob("*.json"))
    except OSError:
        return {}
    seen = set()
    for path in paths:
        try:
            rec = read_json(path)
        except Exception:  # noqa: BLE001 - an unreadable record plans nothing
            continue
        if not isinstance(rec, dict):
            continue
        key = (rec.get("program"), None if rec.get("variant") in (None, "book") else rec.get("variant"))
        m = want.get(key)
        if (m is None or rec.get("mode") != m or rec.get("cpu") != cpu
                or rec.get("framework") not in programs.FRAMEWORKS):
            continue
        prog = programs.get(str(key[0]))
        field_ = prog.iterations_field
        if field_ is not None:
            expected = getattr(prog.make_config(iterations=iterations, variant=key[1]), field_, None)
            if not isinstance(rec.get("config"), dict) or rec["config"].get(field_) != expected:
                continue
        lock = rec.get("lockstep") if m == "lockstep" else None
        if isinstance(lock, dict) and isinstance(lock.get("batch"), list):
            batch = tuple(lock["batch"])
            if (key, rec["framework"], batch) in seen:
                continue
            seen.add((key, rec["framework"], batch))
            wall, seeds = lock.get("wall_s"), list(batch)
        else:
            wall, seeds = rec.get("wall_s"), [rec.get("seed", 0)]
        if not isinstance(wall, (int, float)) or isinstance(wall, bool) or not math.isfinite(wall) or wall <= 0:
            continue
        work = job_cost((key[0], key[1], rec["framework"], m, seeds, iterations, False)) - PROCESS_SECONDS
        if work > 0:
            got = spent.setdefault(key, [0.0, 0.0])
            got[0] += float(wall)
            got[1] += work
    return {key: w / e for key, (w, e) in spent.items() if e > 0}


def run_budget(entries, mode, out_dir: Path, budget_s, workers=2, iterations=None, margins=None,
               max_seeds=300, spending="pocock", reuse=False, prior=None) -> tuple[list, list]:
    """Run the budget; (the records read, the tracks). ``prior``: a ``Plan``."""
    from tqdm import tqdm

    from ..infra.pool import run_in_workers

    sched = Scheduler(entries, mode, out_dir / "runs", budget_s, workers, iterations, margins, max_seeds,
                      spending, reuse=reuse, log=lambda msg: tqdm.write(msg, file=sys.stderr), prior=prior)
    bar = tqdm(total=round(budget_s), file=sys.stderr, unit="s",
               bar_format="{desc} {n_fmt}/{total_fmt} s of the budget |{bar:20}| {postfix}")
    bar.set_description_str(f"reproduce --budget {budget_s / 60:g}m")
    started = {}

    def tick():
        bar.n = min(round(time.monotonic() - sched.t0), bar.total)
        bar.set_postfix_str(sched.states(), refresh=True)

    def on_start(job):
        started[job] = time.monotonic()

    def on_done(job, recs):
        sched.done(job, recs, time.monotonic() - started.pop(job, time.monotonic()))
        tick()

    try:
        run_in_workers(run_chunk, sched.next_job, workers, on_done, on_start=on_start, on_tick=tick,
                       died="a worker process died (killed?); the records of finished runs are kept: "
                            "run again with --resume")
    finally:
        bar.close()
    records = [rec for t in sched.tracks for n in [t.looks[-1] if t.looks else 0]
               for fw in programs.FRAMEWORKS for s in range(n) for rec in [t.records[fw, s]]]
    return records, sched.tracks
