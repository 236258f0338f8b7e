"""Wall time to a solved CartPole-v1: the pylessons DQN (fast mode, TF1 and TF2 forms)
against Stable-Baselines3's DQN with the RL Zoo's tuned CartPole-v1 hyperparameters.

Criterion, the same for every agent: every ``--eval-freq`` env steps (1000), play 10
greedy episodes on a separate CartPole-v1; the clock stops at the first evaluation whose
mean return is >= 475. Evaluation time counts. The clock starts when training starts
(after imports and model construction). Agents run one after another, each in a fresh
process, never two at once; read the result as ratios within one run.

The pylessons agent is ``dqn-pylessons --variant evaluated``: it trains as the source does
(one fit per env step, epsilon decay, reward -100 on failure) but does not stop at its
first 500-step episode: the greedy evaluation decides (budget: the source's 1000 episodes). SB3 needs PyTorch,
so it runs in its own interpreter:

    python3 -m venv /tmp/sb3 && /tmp/sb3/bin/pip install -r benchmarks/requirements-sb3.txt
    python benchmarks/time_to_solve.py --seeds 0 1 2 --sb3-python /tmp/sb3/bin/python \\
        --out results/time_to_solve.json
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
THRESHOLD, EVAL_EPISODES = 475.0, 10

# RL Zoo (rl-baselines3-zoo, hyperparams/dqn.yml), CartPole-v1
SB3_ZOO = dict(learning_rate=2.3e-3, batch_size=64, buffer_size=100_000, learning_starts=1000,
               gamma=0.99, target_update_interval=10, train_freq=256, gradient_steps=128,
               exploration_fraction=0.16, exploration_final_eps=0.04,
               policy_kwargs=dict(net_arch=[256, 256]))
SB3_TIMESTEPS = 50_000  # the Zoo's n_timesteps (its exploration schedule depends on it)


def run_pylessons(framework, seed, eval_freq, budget_steps):
    """The ``evaluated`` variant: the source's training, stopped by the greedy evaluation
    (every ``eval_freq`` env steps, 10 episodes, mean >= 475) within 1000 episodes."""
    sys.path.insert(0, str(ROOT))
    from tfrepro.infra.tfquiet import quiet_tensorflow

    quiet_tensorflow()
    from tfrepro.infra.runner import RunSettings, run_program

    rec = run_program(RunSettings("dqn-pylessons", framework, "fast", seed, variant="evaluated",
                                  overrides={"eval_every": eval_freq, "eval_episodes": EVAL_EPISODES,
                                             "eval_threshold": THRESHOLD, "test_episodes": 1}))
    evals = rec.get("evaluations", [])
    if rec["solved_episode"] is None:
        return [(s, None, m) for s, m in evals]
    # the wall time of the passing evaluation is the end of training
    return [(s, None, m) for s, m in evals[:-1]] + [(evals[-1][0], rec["train_wall_s"], evals[-1][1])]


def run_sb3(seed, eval_freq, budget_steps):
    import gymnasium as gym
    import numpy as np
    import torch
    from stable_baselines3 import DQN
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.evaluation import evaluate_policy

    evals = []
    eval_env = gym.make("CartPole-v1")

    class Eval(BaseCallback):
        def _on_step(self):
            steps = self.num_timesteps
            if steps % eval_freq:
                return True
            eval_env.reset(seed=10_000 + steps)
            rewards, _ = evaluate_policy(self.model, eval_env, n_eval_episodes=EVAL_EPISODES,
                                         deterministic=True, return_episode_rewards=True)
            evals.append((steps, time.perf_counter() - t0, float(np.mean(rewards))))
            return evals[-1][2] < THRESHOLD and steps < budget_steps

    model = DQN("MlpPolicy", gym.make("CartPole-v1"), seed=seed, verbose=0, device="cpu", **SB3_ZOO)
    torch.set_num_threads(os.cpu_count() or 1)
    t0 = time.perf_counter()
    model.learn(total_timesteps=SB3_TIMESTEPS, callback=Eval())
    return evals


def one(agent, seed, eval_freq, budget_steps):
    if agent == "sb3":
        evals = run_sb3(seed, eval_freq, budget_steps)
    else:
        evals = run_pylessons(agent.split("-")[1], seed, eval_freq, budget_steps)
    solved = next((e for e in evals if e[2] >= THRESHOLD and e[1] is not None), None)
    return {"agent": agent, "seed": seed, "evals": evals,
            "solved_steps": solved[0] if solved else None,
            "solved_s": solved[1] if solved else None}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--agents", nargs="+", default=["pylessons-tf1", "pylessons-tf2", "sb3"],
                   choices=["pylessons-tf1", "pylessons-tf2", "sb3"])
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--eval-freq", type=int, default=1000, help="env steps between evaluations")
    p.add_argument("--budget", type=int, default=100_000, help="env steps before giving up")
    p.add_argument("--sb3-python", default=sys.executable,
                   help="interpreter with stable-baselines3 and torch installed")
    p.add_argument("--out", help="write all runs and the summary as JSON")
    p.add_argument("--one", nargs=2, metavar=("AGENT", "SEED"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.one:
        print(json.dumps(one(args.one[0], int(args.one[1]), args.eval_freq, args.budget)))
        return 0
    runs = []
    for seed in args.seeds:  # interleave agents per seed so machine drift hits all alike
        for agent in args.agents:
            python = args.sb3_python if agent == "sb3" else sys.executable
            proc = subprocess.run([python, __file__, "--one", agent, str(seed), "--eval-freq",
                                   str(args.eval_freq), "--budget", str(args.budget)],
                                  capture_output=True, text=True)
            if proc.returncode != 0:
                print(f"{agent} seed {seed} failed: {proc.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
                return 1
            run = json.loads(proc.stdout.strip().splitlines()[-1])
            runs.append(run)
            print(f"{agent:14s} seed {seed}: solved after {run['solved_steps']} steps, "
                  f"{run['solved_s'] if run['solved_s'] is None else round(run['solved_s'], 1)} s",
                  file=sys.stderr)
    summary = {}
    for agent in args.agents:
        times = [r["solved_s"] for r in runs if r["agent"] == agent]
        ok = [t for t in times if t is not None]
        summary[agent] = {"solved": f"{len(ok)}/{len(times)}",
                          "median_s": statistics.median(ok) if ok else None,
                          "times_s": times,
                          "steps": [r["solved_steps"] for r in runs if r["agent"] == agent]}
    print("| agent | solved | median wall s to eval mean >= 475 | per seed (s) | env steps |")
    print("|---|---|---|---|---|")
    for agent, s in summary.items():
        per = ", ".join("–" if t is None else f"{t:.1f}" for t in s["times_s"])
        med = "–" if s["median_s"] is None else f"{s['median_s']:.1f}"
        print(f"| {agent} | {s['solved']} | {med} | {per} | {s['steps']} |")
    if "sb3" in summary and summary["sb3"]["median_s"]:
        for agent in args.agents:
            if agent != "sb3" and summary[agent]["median_s"]:
                print(f"{agent} / sb3 (medians): {summary[agent]['median_s'] / summary['sb3']['median_s']:.2f}")
    if args.out:
        sys.path.insert(0, str(ROOT))
        from tfrepro.infra.records import atomic_write_text

        atomic_write_text(args.out, json.dumps({"seeds": args.seeds, "eval_freq": args.eval_freq,
                                                "threshold": THRESHOLD, "runs": runs,
                                                "summary": summary}, indent=1))
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
