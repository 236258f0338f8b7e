"""Tier 4: fused frames (dqn-meertens's lockstep mode): the frame loop inside the graph,
many frames per call, with nothing but speed changed.

* the in-graph CartPole (``engines.graph_cartpole.cartpole_step``, in a ``tf.compat.v1`` graph and in TF2
  eagerly and under ``tf.function``) steps exactly as gymnasium's CartPole does, bit for bit,
  up to termination and through the time limit's length;
* every draw ``FusedDraws`` makes ahead is the draw the lone fast run makes at that frame:
  actions (``default_rng(seed)``), replay rows (``random.Random(seed).sample`` through a
  memory that wraps around), start states (the environment's generator);
* the calls' frames cover the run, none straddles the start of learning, and each target
  sync falls on a call's last frame;
* over a run with several target syncs and a replay memory that wraps around, each seed of a
  fused batch plays exactly the episodes of its lone fast run, logs its losses and ends
  with its weights; a seed's record does not depend on the seeds beside it.
"""
import dataclasses
import random

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from tfrepro.core.envs import make
from tfrepro.engines.graph_cartpole import cartpole_constants, cartpole_step, physics_tensor
from tfrepro.engines.meertens import FusedDraws, call_edges
from tfrepro.core.lockstep import LockstepCartPole, seed_generator
from tfrepro.core.replay import linear_epsilon
from tfrepro.infra import programs
from tfrepro.infra.runner import RunSettings, run_program, run_seeds


def _stepper(framework, env, K):
    """A function (state (K, 4) float64, action (K,)) -> (next state, terminated) running
    ``cartpole_step`` in ``framework``'s form: a TF1 graph and session, or TF2 (eager and
    ``tf.function``, which must agree)."""
    values, euler = cartpole_constants(env)
    if framework == "tf1":
        import tensorflow.compat.v1 as tf1

        graph = tf1.Graph()
        with graph.as_default():
            state = tf1.placeholder(tf1.float64, [None, 4])
            action = tf1.placeholder(tf1.int32, [None])
            physics = physics_tensor(tf1, tf1.Variable(values, trainable=False), K)
            out = cartpole_step(tf1, physics, euler, state, action)
            init = tf1.global_variables_initializer()
        sess = tf1.Session(graph=graph)
        sess.run(init)
        return lambda s, a: sess.run(out, {state: s, action: a})
    import tensorflow as tf

    physics = tf.Variable(values, trainable=False)
    graph_step = tf.function(lambda s, a: cartpole_step(tf, physics_tensor(tf, physics, K), euler, s, a))

    def step(s, a):
        eager = [x.numpy() for x in cartpole_step(tf, physics_tensor(tf, physics, K), euler, tf.constant(s),
                                                  tf.constant(a, tf.int32))]
        traced = [x.numpy() for x in graph_step(tf.constant(s), tf.constant(a, tf.int32))]
        assert all(np.array_equal(x, y) for x, y in zip(eager, traced))
        return eager
    return step


@pytest.mark.parametrize("framework", ["tf1", "tf2"])
@pytest.mark.parametrize("env_id", ["CartPole-v0", "CartPole-v1"])
def test_in_graph_cartpole_is_gymnasiums_bit_for_bit(framework, env_id):
    """Random and balancing action sequences from start states drawn wider than gymnasium's
    reset range: every state, bit for bit, and every termination, until each copy ends."""
    env = LockstepCartPole(env_id, 1, [0])
    K = 24
    step = _stepper(framework, env, K)
    g = np.random.default_rng(11)
    state = g.uniform(-0.15, 0.15, size=(K, 4))
    refs = [make(env_id).unwrapped for _ in range(K)]
    for ref, s in zip(refs, state):
        ref.reset(seed=0)
        ref.state = s.copy()
    alive, ended, steps = np.ones(K, bool), 0, 0
    for t in range(600):
        balance = (state[:, 2] + 0.5 * state[:, 3] > 0).astype(np.int32)
        action = np.where(np.arange(K) % 2 == 0, g.integers(2, size=K).astype(np.int32), balance)
        new, terminated = step(state, action)
        for k in np.flatnonzero(alive):
            _, _, te, _, _ = refs[k].step(int(action[k]))
            assert np.array_equal(np.asarray(refs[k].state, np.float64), new[k]), (t, k)
            assert bool(te) == bool(terminated[k]), (t, k)
            steps += 1
            if te:
                alive[k], ended = False, ended + 1
        state = new
        if not alive.any():
            break
    assert ended >= K // 2 and steps > 500  # both ends of the range were exercised


@pytest.mark.parametrize("variant", ["book", "exercises"])
def test_fused_draws_are_the_lone_runs_draws(variant):
    """Actions, replay rows and start states, chunk by chunk, against the lone run's own
    draws: its ``default_rng`` (``rng.random() < eps`` then ``rng.integers(2)``), a
    ``random.Random`` sampling a memory of 50 that wraps around, and the environment's
    generator on every reset."""
    prog = programs.get("dqn-meertens")
    cfg = dataclasses.replace(prog.make_config(variant=variant), memory=50, learn_after=10, batch_size=8,
                              epsilon_anneal_frames=150, frames=400)
    seeds = [3, 0, 2**31 - 1]
    env = LockstepCartPole(cfg.env_id, 1, seeds)
    draws = FusedDraws(cfg, seeds, env)
    rngs = [np.random.default_rng(s) for s in seeds]
    pickers = [random.Random(s) for s in seeds]
    generators = [seed_generator(s) for s in seeds]
    explored = []
    for f0, f1 in [(0, 1), (1, 10), (10, 137), (137, 400)]:
        explore, random_action = draws.actions(f0, f1 - f0)
        slots = draws.slots(f0, f1 - f0)
        for k in range(len(seeds)):
            for j, frame in enumerate(range(f0, f1)):
                eps = linear_epsilon(frame, cfg.epsilon_start, cfg.epsilon_end, cfg.epsilon_anneal_frames)
                if not cfg.epsilon_greedy or rngs[k].random() < eps:
                    assert explore[k, j] and random_action[k, j] == rngs[k].integers(2), (k, frame)
                else:
                    assert not explore[k, j], (k, frame)
                count = frame + 1  # transitions stored once this frame's is appended
                if count > cfg.learn_after:  # the memory's positions, oldest first, as rows
                    size = min(count, cfg.memory)
                    stored = list(range(count - size, count))
                    picked = pickers[k].sample(stored, cfg.batch_size)
                    assert (slots[k, j] - k * cfg.memory).tolist() == [f % cfg.memory for f in picked], (k, frame)
        explored.append(explore)
    explored = np.concatenate(explored, axis=1)
    assert explored.any() and (variant == "book") == explored.all()  # greedy frames came, in the exercises
    for used in ([1, 1, 1], [0, 5, 2], [9, 0, 0]):
        starts = draws.starts(12)
        for k, gen in enumerate(generators):
            for i in range(used[k]):  # a reset's four uniforms, as gymnasium draws them
                assert np.array_equal(starts[k, i], gen.uniform(low=env.low, high=env.high, size=(4, 1))[:, 0])
        draws.take(used)


@settings(max_examples=200, deadline=None)
@given(frames=st.integers(1, 5000), learn_after=st.integers(0, 3000), sync=st.integers(0, 1500),
       chunk=st.integers(1, 1200))
def test_call_edges_cover_the_run_and_keep_learning_and_syncs_apart(frames, learn_after, sync, chunk):
    cfg = type("Cfg", (), dict(frames=frames, learn_after=learn_after, target_sync_every=sync))
    calls = call_edges(cfg, chunk)
    assert calls[0][0] == 0 and calls[-1][1] == frames
    assert all(a < b <= a + chunk for a, b in calls) and all(x[1] == y[0] for x, y in zip(calls, calls[1:]))
    for a, b in calls:
        assert len({f + 1 > learn_after for f in range(a, b)}) == 1  # learns on all frames or on none
        if sync:
            assert all(f % sync != 0 for f in range(a, b - 1))  # a sync frame ends its call


@pytest.mark.slow
@pytest.mark.parametrize("framework", ["tf1", "tf2"])
def test_fused_run_is_each_seeds_fast_run_over_syncs_and_a_wrapping_memory(framework):
    """3,500 frames, the target synced three times and a memory of 1,200 that wraps twice:
    every seed of the fused batch plays its lone fast run's episodes, logs its losses and
    ends with its weights (float32 rounding of a batched matmul apart); seed 5's record is
    the same beside other seeds."""
    overrides = dict(memory=1200, learn_after=600)
    seeds = [5, 8]
    batch = run_seeds("dqn-meertens", framework, "lockstep", seeds, iterations=3500, variant="exercises",
                      keep_weights=True, overrides=overrides)
    for seed, rec in zip(seeds, batch):
        lone = run_program(RunSettings("dqn-meertens", framework, "fast", seed, iterations=3500, variant="exercises",
                                       keep_weights=True, overrides=overrides))
        assert rec["mode"] == "lockstep" and rec["seed"] == seed
        assert rec["train_returns"] == lone["train_returns"] and rec["eval_returns"] == lone["eval_returns"]
        assert [x for x, _ in rec["losses"]] == [x for x, _ in lone["losses"]] == [1001, 2001, 3001]
        np.testing.assert_allclose([y for _, y in rec["losses"]], [y for _, y in lone["losses"]], rtol=1e-5)
        for x, y in zip(rec["_weights"], lone["_weights"]):
            np.testing.assert_allclose(x, y, rtol=1e-4, atol=1e-5)
    other = run_seeds("dqn-meertens", framework, "lockstep", [11, 5], iterations=3500, variant="exercises",
                      overrides=overrides)
    assert other[1]["train_returns"] == batch[0]["train_returns"]
    assert other[1]["eval_returns"] == batch[0]["eval_returns"]
