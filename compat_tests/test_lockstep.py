"""Tier 4: Lockstep mode: many seeds in one process, one batched update per step for all of them.
Nothing but speed may change: the environment, the replay memory and the policies' random
draws are each seed's own, exactly (checked against gymnasium's CartPole and the lone
pieces); one batched update gives each seed the lone fast update's weights; a short lockstep
run gives each seed the lone fast run's episodes; the same seeds twice give the same records,
whichever other seeds share the batch."""
import numpy as np
import pytest

from tfrepro.core.envs import VecEpisodes, make
from tfrepro.core.lockstep import (LockstepCartPole, LockstepEpisodes, pad_batches,
                                   stacked_sampling_policy)
from tfrepro.core.policies import sampling_policy
from tfrepro.infra import programs
from tfrepro.infra.runner import RunSettings, run_program, run_seeds


def _balancer(obs):
    """A controller that keeps the pole up for hundreds of steps (so time limits are reached)."""
    return (obs[..., 2] + 0.5 * obs[..., 3] > 0).astype(np.int64)


@pytest.mark.parametrize("env_id", ["CartPole-v0", "CartPole-v1"])
@pytest.mark.parametrize("controller", ["random", "balancer"])
def test_lockstep_cartpole_is_gymnasiums_cartpole_seed_by_seed(env_id, controller):
    seeds = [0, 1, 7, 123, 2**31 - 1]
    lock = LockstepCartPole(env_id, 1, seeds)
    lock.reset()
    envs = [make(env_id) for _ in seeds]
    obs = [e.reset(seed=s)[0] for e, s in zip(envs, seeds)]
    g, episodes, truncations = np.random.default_rng(3), 0, 0
    for t in range(3000):
        assert np.array_equal(lock.observations()[:, 0], np.array(obs)), t  # bit for bit
        a = g.integers(2, size=len(seeds)) if controller == "random" else _balancer(np.array(obs))
        terminated, truncated = lock.step(a[:, None])
        for k, env in enumerate(envs):
            obs[k], _, te, tr, _ = env.step(int(a[k]))
            assert (te, tr) == (terminated[k, 0], truncated[k, 0]), (t, k)
            if te or tr:
                obs[k] = env.reset()[0]
                episodes, truncations = episodes + 1, truncations + tr
        lock.reset((terminated | truncated))
    assert episodes > 10 and (truncations > 0) == (controller == "balancer")


@pytest.mark.parametrize("env_id,n,max_steps", [("CartPole-v1", 1, None), ("CartPole-v0", 10, None),
                                                ("CartPole-v1", 7, 60)])
def test_lockstep_episodes_are_each_seeds_vec_episodes(env_id, n, max_steps):
    """Seed k's batches are VecEpisodes(seed k)'s, auto-resets and policy draws included,
    while the other seeds run longer or shorter episodes beside it."""
    seeds, K = [3, 17, 0, 5, 1000], 5
    g = np.random.default_rng(1)
    weights = [g.normal(size=(K, 4, 4)), g.normal(size=(K, 4)) * 0.1, g.normal(size=(K, 4, 1)) * 2,
               g.normal(size=(K, 1)) * 0.1]
    lock = LockstepEpisodes(env_id, n, seeds, max_steps=max_steps)
    rngs = [np.random.default_rng(s) for s in seeds]
    lone = [(VecEpisodes(env_id, n, seed=s, max_steps=max_steps), np.random.default_rng(s)) for s in seeds]
    for _ in range(4):
        batches = lock.play(stacked_sampling_policy(weights, "relu"), rngs)
        for k, (venv, rng) in enumerate(lone):
            b = venv.play(sampling_policy([w[k] for w in weights], "relu"), rng)
            assert np.array_equal(b.obs, batches[k].obs) and np.array_equal(b.actions, batches[k].actions)
            assert np.array_equal(b.alive, batches[k].alive)
            assert np.array_equal(b.returns, batches[k].returns)
    assert lock.env_steps.tolist() == [venv.env_steps for venv, _ in lone]


def test_pad_batches():
    flats = [(np.ones((2, 4), np.float32), np.array([0, 1])), (np.ones((3, 4), np.float32), np.array([1, 1, 0]))]
    obs, actions, weights, steps = pad_batches(flats, [np.array([1.0, 2.0]), np.array([3.0, 4.0, 5.0])])
    assert obs.shape == (2, 3, 4) and obs[0, 2].sum() == 0 and actions.tolist() == [[0, 1, 0], [1, 1, 0]]
    assert weights.tolist() == [[1, 2, 0], [3, 4, 5]] and steps.tolist() == [2, 3]


LOCKSTEP = [n for n, p in programs.BUILTINS.items() if "lockstep" in p.modes]
REPLAYS = [n for n in LOCKSTEP if programs.get(n).lockstep_replays_fast]
SHORT = {"pg-tang": 12, "pg-geron": 3, "dqn-meertens": 1300, "imitation-policy": 15}


@pytest.mark.parametrize("framework", ["tf1", "tf2"])
@pytest.mark.parametrize("name", LOCKSTEP)
def test_one_lockstep_update_is_each_seeds_fast_update(name, framework):
    """On the same batches (each seed its own, the program's ``diff`` batch) and weights, the
    stacked update (``update_each``) gives every seed the loss and weights the lone program's
    fast update gives it (float32 rounding of a batched matmul apart), three updates running.
    One protocol for every engine: the test knows no program by name."""
    prog = programs.get(name)
    module = prog.form(framework)
    cfg = prog.make_config(variant=prog.reproduce_variant)
    seeds = [4, 9]
    lones = [prog.make_agent(framework, cfg, seed) for seed in seeds]
    batches = [prog.hook("record_batch")(prog, cfg, lone, seed + 3)[0] for lone, seed in zip(lones, seeds)]
    with module.lockstep_agent(cfg, seeds) as stacked:
        for _ in range(3):
            losses, after = stacked.update_each(batches)
    for k, lone in enumerate(lones):
        if hasattr(lone, "sync_target"):  # a target network: synced from the online one at the start
            lone.sync_target()
        for _ in range(3):
            loss, w = lone.fast_update(batches[k])
        assert (loss is None) == (losses is None)
        if loss is not None:
            assert abs(loss - losses[k]) < 1e-4 * max(1.0, abs(loss))
        for x, y in zip(w, after[k]):
            np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)
        lone.close()


@pytest.mark.parametrize("framework", ["tf1", "tf2"])
def test_lockstep_imitation_reads_each_seeds_p_left_before_its_step(framework):
    """imitation-policy's lockstep call also returns what its actions are drawn from: every
    seed's P(left) from its weights before the step, the lone program's ``proba_left``."""
    prog = programs.get("imitation-policy")
    module = prog.form(framework)
    cfg = prog.make_config(variant=prog.reproduce_variant)
    seeds = [4, 9]
    obs = np.random.default_rng(0).normal(scale=0.1, size=(3, 2, 1, 4)).astype(np.float32)  # both signs
    with module.lockstep_agent(cfg, seeds) as stacked:
        p_left = [stacked.step(o) for o in obs]
    for k, seed in enumerate(seeds):
        with prog.make_agent(framework, cfg, seed) as lone:
            for i in range(3):
                np.testing.assert_allclose(lone.proba_left(obs[i, k]), p_left[i][k], rtol=1e-5, atol=1e-6)
                lone.train_step(obs[i, k, 0])


def _key(rec):
    return rec["train_returns"], rec["eval_returns"], rec["env_steps"]


@pytest.mark.parametrize("framework", ["tf1", "tf2"])
@pytest.mark.parametrize("name", REPLAYS)
def test_short_lockstep_run_is_each_seeds_fast_run(name, framework):
    """Over a short run (before float32 rounding can flip an action) every seed of a lockstep
    batch plays exactly the episodes its lone fast run plays and ends with its weights."""
    seeds = [2, 5]
    prog = programs.get(name)
    batch = run_seeds(name, framework, "lockstep", seeds, iterations=SHORT[name],
                      variant=prog.reproduce_variant, keep_weights=True)
    for seed, rec in zip(seeds, batch):
        lone = run_program(RunSettings(name, framework, "fast", seed, iterations=SHORT[name],
                                       variant=prog.reproduce_variant, keep_weights=True))
        assert rec["mode"] == "lockstep" and rec["seed"] == seed
        assert rec["lockstep"]["batch"] == ([2, 5] if framework in prog.lockstep_batch_invariant else list(range(30)))
        assert _key(rec) == _key(lone)
        for x, y in zip(rec["_weights"], lone["_weights"]):
            np.testing.assert_allclose(x, y, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("framework", ["tf1", "tf2"])
@pytest.mark.parametrize("name", ["imitation-policy"])
def test_same_seeds_same_records_whatever_shares_the_batch(name, framework):
    """A form declared batch-invariant: lockstep runs are repeatable, and seed 5's record does
    not depend on which other seeds ran beside it (each seed's slice of a batched op is computed
    on its own; imitation-policy, whose seeds finish at different steps, keeps each seed's
    weights of its last step). The forms that are not (pg-tang, ...) run whole blocks:
    ``test_a_seeds_record_is_the_same_alone_or_among_others``."""
    its = 20
    a = run_seeds(name, framework, "lockstep", [5, 6, 7], iterations=its)
    b = run_seeds(name, framework, "lockstep", [5, 6, 7], iterations=its)
    c = run_seeds(name, framework, "lockstep", [9, 5], iterations=its)
    assert [_key(r) for r in a] == [_key(r) for r in b]
    assert _key(a[0]) == _key(c[1])
    assert _key(a[0]) != _key(a[1])


def test_a_seeds_batch_is_fixed_whatever_else_is_asked_for():
    """A form not declared batch-invariant runs every seed in its block (seed s beside the
    block's seeds s - s % B .. s - s % B + B - 1, asked for or not), one run per block, so no
    block runs twice in one command; a declared form runs the seeds as asked."""
    from tfrepro.infra.runner import lockstep_batches, lockstep_groups

    for name in programs.names():
        prog = programs.get(name)
        if "lockstep" not in prog.modes:
            continue
        for fw in programs.FRAMEWORKS:
            if fw in prog.lockstep_batch_invariant:
                assert lockstep_batches(prog, fw, [9, 5]) == [[9, 5]]
                continue
            b = prog.lockstep_block
            block = list(range(b, 2 * b))
            for asked in ([b + 3], [b + 3, 0], [2 * b - 1, b + 3, 7 * b], list(range(3 * b))):
                assert block in lockstep_batches(prog, fw, asked), (name, fw, asked)
            assert lockstep_groups(prog, fw, [b + 3, 1, b + 4, 1]) == [[b + 3, b + 4], [1]]
            top = 2**31 - 1  # the last block stops at the last seed
            assert lockstep_batches(prog, fw, [top])[0][-1] == top


@pytest.mark.parametrize("framework", ["tf1", "tf2"])
def test_a_seeds_record_is_the_same_alone_or_among_others(framework):
    """The record of seed 33 of a form that is not batch-invariant is the same run alone, beside
    other seeds of its block, or beside seeds of other blocks (its block runs whole each time)."""
    name, its = "pg-tang", 25
    alone = run_seeds(name, framework, "lockstep", [33], iterations=its)[0]
    among = run_seeds(name, framework, "lockstep", [31, 2, 33], iterations=its)
    assert [r["seed"] for r in among] == [31, 2, 33]
    assert _key(alone) == _key(among[2])
    assert alone["lockstep"]["batch"] == among[2]["lockstep"]["batch"] == list(range(30, 60))
    assert among[1]["lockstep"]["batch"] == list(range(30)) and alone["lockstep"]["block"] == 30


def test_lockstep_refuses_what_it_cannot_do():
    from tfrepro.core.errors import UsageError

    with pytest.raises(UsageError, match="has no lockstep mode"):
        run_seeds("random-policy", "tf1", "lockstep", [0])
    with pytest.raises(UsageError, match="takes no"):
        run_program(RunSettings("pg-tang", "tf1", "lockstep", 0, iterations=2, load="somewhere"))


@pytest.mark.parametrize("n,k", [(33, 32), (100, 33), (277, 32), (278, 32), (1000, 5), (1000, 6),
                                 (30_000, 32), (2**15, 64), (2**15 + 1, 32), (1, 1)])
def test_sample_stream_is_random_sample_draw_for_draw(n, k):
    """Both algorithms of random.sample (pool for small populations, set for large ones),
    across the refills of the stream's blocks."""
    import random

    from tfrepro.core.lockstep import SampleStream

    seeds = [0, 1, 99, 2**31 - 1]
    stream, lone = SampleStream(seeds), [random.Random(s) for s in seeds]
    for _ in range(300):
        picks = stream.sample(n, k)
        assert [p.tolist() for p in picks] == [r.sample(range(n), k) for r in lone]


@pytest.mark.slow
@pytest.mark.parametrize("framework", ["tf1", "tf2"])
def test_declared_batch_invariance_holds_over_full_runs(framework):
    """A form declared batch-invariant (``ProgramSpec.lockstep_batch_invariant``) gives a seed the
    same full-length record alone, first of three and last of two; every lockstep record names
    its batch and says whether its program's form is declared so."""
    declared = [n for n in programs.names() if framework in programs.get(n).lockstep_batch_invariant]
    assert declared, "no program declares it"
    for name in declared:
        alone, first, last = (run_seeds(name, framework, "lockstep", b) for b in ([0], [0, 1, 2], [3, 0]))
        assert _key(alone[0]) == _key(first[0]) == _key(last[1]), name
        assert first[0]["lockstep"]["batch"] == [0, 1, 2] and first[0]["lockstep"]["batch_invariant"]
