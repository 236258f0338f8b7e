"""``tfrepro speed``: book loop against fast loop (and lockstep), both frameworks, side by side.

Every figure is a ratio of times measured in this one process, one run after another
(never two at once): absolute times on a shared machine are noise, ratios are not.
Book mode runs a few iterations and is compared per environment step; each timing is
repeated and the median kept; a short warm-up run per (program, framework, mode) pays
for graph building and tracing first. Lockstep runs ``lockstep_seeds`` seeds at once; its
figure is per seed, the run's training time shared out over them.
"""
from __future__ import annotations

import statistics
import time

from ..infra import programs
from ..infra.records import atomic_write_text, dumps, versions

SCHEMA = "tfrepro.speed/1"

# Each program's ``Timing`` (tfrepro.core.protocol) sets the book loop's iterations, the fast
# loop's (DQNs: a fixed number of frames / episodes in both modes, as a full fast run is long),
# the warm-up and the config overrides (DQNs learn from the first frames on, so that nearly
# every timed env step carries an update).


def _overrides(name):
    return programs.get(name).timing.overrides or None


def _time_run(name, framework, mode, seed, iterations):
    from ..infra.runner import RunSettings, run_program

    rec = run_program(RunSettings(name, framework, mode, seed, iterations=iterations, overrides=_overrides(name)))
    return rec["train_wall_s"], rec["train_env_steps"]


def _time_lockstep(name, framework, seeds, iterations):
    from ..infra.runner import run_seeds

    recs = run_seeds(name, framework, "lockstep", seeds, iterations=iterations, overrides=_overrides(name))
    return recs[0]["train_wall_s"], statistics.mean(r["train_env_steps"] for r in recs)


def layer_sizes(cfg, kind="policy") -> tuple:
    """The program's network, inputs to outputs: 4 -> hidden ... -> 2 (Q network) or 1 (policy)."""
    hidden = cfg.hidden if isinstance(cfg.hidden, tuple) else (cfg.hidden,)
    return (4,) + tuple(hidden) + ((2,) if kind == "q-batch" else (1,))


def update_flops_per_step(cfg, kind="policy"):
    """The arithmetic an environment step costs, counted: 2 FLOPs per multiply-add of the
    network's matmuls. DQN (one update per frame on a batch): online forward, target forward
    on the next states, backward (twice the forward), and the greedy action's forward on one
    state. Policy gradient: the action's forward on one state, and once per step in the
    update, forward and backward (three forwards). None for a program that names no kind
    (``Timing.flops``)."""
    if kind is None:
        return None
    sizes = layer_sizes(cfg, kind)
    macs = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    if kind == "q-batch":
        return 2.0 * macs * (4 * cfg.batch_size + 1)
    return 2.0 * macs * (1 + 3)


def machine_gflops(repeats=5) -> float:
    """This process's float32 matmul rate (GFLOP/s) on a 512 x 512 product, the best of a
    few: an upper bound of what a small network's matmuls reach, so the arithmetic floor
    derived from it is a lower bound."""
    import numpy as np

    a = np.random.default_rng(0).random((512, 512), dtype=np.float32)
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(20):
            a @ a
        best = min(best, (time.perf_counter() - t) / 20)
    return 2 * 512 ** 3 / best / 1e9


def env_floor_us(env_id, seeds=30, steps=3000) -> dict:
    """What stepping CartPole alone costs per step: gymnasium's own environment (one
    copy, random actions, reset when over) and the lockstep environment (``seeds`` seeds
    at once, per seed)."""
    import numpy as np

    from ..core.envs import make
    from ..core.lockstep import LockstepCartPole

    env, rng = make(env_id), np.random.default_rng(0)
    env.reset(seed=0)
    t = time.perf_counter()
    for _ in range(steps):
        _, _, terminated, truncated, _ = env.step(int(rng.integers(2)))
        if terminated or truncated:
            env.reset()
    single = (time.perf_counter() - t) / steps * 1e6
    lock = LockstepCartPole(env_id, 1, list(range(seeds)))
    lock.reset()
    actions = rng.integers(2, size=(steps, seeds, 1))
    t = time.perf_counter()
    for i in range(steps):
        terminated, truncated = lock.step(actions[i])
        over = terminated | truncated
        if over.any():
            lock.reset(over)
        lock.observations()
    return {"env_us_per_step": single, "lockstep_env_us_per_step": (time.perf_counter() - t) / steps / seeds * 1e6}


def speed(names, book_iterations=None, fast_iterations=None, repeats=3, seed=0, out=None, lockstep_seeds=30) -> int:
    rows = []
    gflops = machine_gflops()
    for name in names:
        prog = programs.get(name)
        cfg = prog.make_config(variant=prog.reproduce_variant)
        floors = env_floor_us(cfg.env_id, max(lockstep_seeds, 1))
        flops = update_flops_per_step(cfg, prog.timing.flops)
        full = (fast_iterations or prog.timing.speed_fast_iterations
                or getattr(prog.config(), prog.iterations_field or ""))
        k_book = book_iterations or prog.timing.speed_book_iterations
        row = {"program": name, "fast_iterations": full, "book_iterations": k_book, **floors,
               "update_flops_per_step": flops,
               "arithmetic_floor_us_per_step": None if flops is None else flops / (gflops * 1e3)}
        for fw in programs.FRAMEWORKS:
            for mode, its in (("book", k_book), ("fast", full)):
                _time_run(name, fw, mode, seed, prog.timing.bench_warmup)  # warm-up: kernels, imports
                samples = [_time_run(name, fw, mode, seed + i, its) for i in range(repeats)]
                us = [1e6 * t / max(s, 1) for t, s in samples]
                row[f"{fw}_{mode}_us_per_step"] = statistics.median(us)
                row[f"{fw}_{mode}_us_per_step_all"] = us
                row[f"{fw}_{mode}_train_s"] = statistics.median(t for t, _ in samples)
                row[f"{fw}_{mode}_steps"] = statistics.median(s for _, s in samples)
            if "lockstep" in prog.modes and lockstep_seeds:
                seeds = [seed + i for i in range(lockstep_seeds)]
                _time_lockstep(name, fw, seeds[:2], prog.timing.bench_warmup)
                # other seeds each repeat, a whole number of blocks apart (a lockstep seed runs in its
                # block of ``lockstep_block``: seeds off the block boundary would run two blocks)
                step = prog.lockstep_block * -(-1000 // prog.lockstep_block)
                samples = [_time_lockstep(name, fw, [s + step * i for s in seeds], full) for i in range(repeats)]
                us = [1e6 * t / max(n, 1) for t, n in samples]
                row[f"{fw}_lockstep_us_per_step"] = statistics.median(us)
                row[f"{fw}_lockstep_us_per_step_all"] = us
                row[f"{fw}_lockstep_train_s"] = statistics.median(t for t, _ in samples)
                row[f"{fw}_lockstep_over_fast"] = row[f"{fw}_fast_us_per_step"] / row[f"{fw}_lockstep_us_per_step"]
            row[f"{fw}_speedup"] = row[f"{fw}_book_us_per_step"] / row[f"{fw}_fast_us_per_step"]
            # book time for the full run, scaled by env steps of the fast runs
            row[f"{fw}_book_projected_s"] = row[f"{fw}_book_us_per_step"] * row[f"{fw}_fast_steps"] / 1e6
        row["tf2_over_tf1_fast_time"] = row["tf2_fast_train_s"] / row["tf1_fast_train_s"]
        row["tf2_over_tf1_fast_per_step"] = row["tf2_fast_us_per_step"] / row["tf1_fast_us_per_step"]
        rows.append(row)

    print("| program | framework | book µs/step | fast µs/step | fast speed-up (per step) | "
          "fast train s (full run) | book projected s | lockstep µs/step per seed | lockstep over fast |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        for fw in programs.FRAMEWORKS:
            lock = (f"{r[f'{fw}_lockstep_us_per_step']:.2f} | {r[f'{fw}_lockstep_over_fast']:.1f}×"
                    if f"{fw}_lockstep_us_per_step" in r else "– | –")
            print(f"| {r['program']} | {fw} | {r[f'{fw}_book_us_per_step']:.1f} | "
                  f"{r[f'{fw}_fast_us_per_step']:.2f} | {r[f'{fw}_speedup']:.0f}× | "
                  f"{r[f'{fw}_fast_train_s']:.2f} | {r[f'{fw}_book_projected_s']:.0f} | {lock} |")
    print()
    print("| program | gymnasium env µs/step | lockstep env µs/step per seed | update FLOPs per step | "
          "arithmetic floor µs/step |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['program']} | {r['env_us_per_step']:.1f} | {r['lockstep_env_us_per_step']:.2f} | "
              + ("– | – |" if r["update_flops_per_step"] is None else
                 f"{r['update_flops_per_step']:,.0f} | {r['arithmetic_floor_us_per_step']:.2f} |"))
    print(f"floors: the environment alone, and the update's FLOPs at this process's 512x512 float32 "
          f"matmul rate ({gflops:.0f} GFLOP/s), both measured here")
    for r in rows:
        print(f"{r['program']}: TF2 fast / TF1 fast = {r['tf2_over_tf1_fast_time']:.2f} (train time), "
              f"{r['tf2_over_tf1_fast_per_step']:.2f} (per env step)")
    book = ", ".join(f"{r['program']} {r['book_iterations']} it" for r in rows)
    print(f"medians of {repeats} repeats; book loops timed on: {book}; lockstep on {lockstep_seeds} seeds at once")
    if out:
        atomic_write_text(out, dumps({"schema": SCHEMA, "versions": versions(), "repeats": repeats, "seed": seed,
                                           "lockstep_seeds": lockstep_seeds, "matmul_gflops": gflops,
                                           "rows": rows}, indent=1))
        print(f"wrote {out}")
    return 0
