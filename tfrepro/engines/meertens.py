"""Fused frames: Meertens's DQN frame loop for K seeds, many frames per framework call.

The plan is ``design/0002-fused-loop.md``. A frame of the lone ``fast`` run draws from three
streams, and none of them depends on what the network computes: its actions from
``default_rng(seed)`` (``u = rng.random()``; if ``u < epsilon``, ``rng.integers(2)``; epsilon
is a function of the frame number), its replay batches from ``random.Random(seed)``
(positions chosen from the memory's length alone, ``min(frame + 1, capacity)``), its start
states from the environment's generator (four uniforms per reset; only *when* a reset comes
depends on the play). So ``FusedDraws`` makes every draw of the next F frames in NumPy,
seed by seed and in the lone run's order, and the program's graph runs the F frames in one
call (``LockstepDQN.fused_frames`` in both forms: a ``tf.while_loop``), taking the next
start state from a per-seed queue at each reset. Nothing is drawn inside the graph, so both
forms see the same numbers and a seed's run does not depend on the seeds beside it.

The graph's CartPole is ``tfrepro.engines.graph_cartpole``. ``meertens_fused`` drives the
calls and turns their per-frame outputs into the lone run's episode returns and logged
losses.
"""
from __future__ import annotations

import itertools
import time

import numpy as np

from ..core.protocol import RunResult, Transitions
from ..core.lockstep import LockstepCartPole, SampleStream, each_seed, greedy_play_lockstep, save_each
from ..core.replay import linear_epsilon

# frames per call: a multiple of the loss-logging period (1000), so a call's outputs are
# small and the progress bar moves every call
CHUNK = 1000


class EachDQN:
    """``update_each`` of the DQN engine (``LockstepDQN`` in both forms)."""

    def update_each(self, batches):
        """One stacked update on each seed's own ``Transitions`` (of one size), as each lone
        program's ``fast_update(batch)`` makes it: (each seed's loss, its new weights)."""
        losses, after = self.fast_update(Transitions(*(np.stack(x) for x in zip(*batches))))
        return list(losses), each_seed(after)


class FusedDraws:
    """Every random draw of each seed's lone fast run, made ahead in NumPy: the actions'
    generators, the replay's ``random.Random`` streams (``SampleStream``) and the start
    states of ``env`` (a ``LockstepCartPole``, whose generators are the environment's)."""

    def __init__(self, cfg, seeds, env: LockstepCartPole):
        self.cfg, self.K = cfg, len(seeds)
        self.rngs = [np.random.default_rng(int(s)) for s in seeds]
        self.stream = SampleStream(seeds)
        self.env = env
        self._starts = [np.zeros((0, 4)) for _ in seeds]
        self._used = np.zeros(self.K, np.int64)  # start states each seed has taken

    def actions(self, f0: int, n: int):
        """Frames ``f0 .. f0 + n - 1``: (explore (K, n) bool, random actions (K, n) int32),
        drawn as the lone run draws them (a greedy frame draws only its uniform)."""
        cfg = self.cfg
        explore = np.ones((self.K, n), bool)
        random_action = np.zeros((self.K, n), np.int32)
        if not cfg.epsilon_greedy:
            for k, rng in enumerate(self.rngs):
                for j in range(n):
                    random_action[k, j] = rng.integers(2)
            return explore, random_action
        eps = [linear_epsilon(f, cfg.epsilon_start, cfg.epsilon_end, cfg.epsilon_anneal_frames)
               for f in range(f0, f0 + n)]
        for k, rng in enumerate(self.rngs):
            row, acts = explore[k], random_action[k]
            for j in range(n):
                if rng.random() < eps[j]:
                    acts[j] = rng.integers(2)
                else:
                    row[j] = False
        return explore, random_action

    def slots(self, f0: int, n: int) -> np.ndarray:
        """The replay rows each learning frame of ``f0 .. f0 + n - 1`` samples: (K, n, B)
        int32 indices into the (K * capacity) rows of the stacked memory (seed k's rows
        ``k * capacity ...``); frames that do not learn get zeros (and must not learn)."""
        cfg, cap = self.cfg, self.cfg.memory
        out = np.zeros((self.K, n, cfg.batch_size), np.int32)
        base = np.arange(self.K)[:, None] * cap
        for j, frame in enumerate(range(f0, f0 + n)):
            count = frame + 1  # transitions stored once this frame's is appended
            if count <= cfg.learn_after:
                continue
            size, head = min(count, cap), count % cap
            picks = self.stream.sample(size, cfg.batch_size)
            out[:, j] = base + (head - size + picks) % cap
        return out

    def starts(self, n: int) -> np.ndarray:
        """Each seed's next ``n`` start states, not yet taken (K, n, 4) float64."""
        env = self.env
        for k, gen in enumerate(env.rngs):
            have = len(self._starts[k]) - self._used[k]
            if have < n:  # four uniforms per reset, as ``LockstepCartPole.reset`` draws them
                more = gen.uniform(low=env.low, high=env.high, size=(n - have + 64, 4))
                self._starts[k] = np.concatenate([self._starts[k][self._used[k]:], more])
                self._used[k] = 0
        return np.stack([s[u:u + n] for s, u in zip(self._starts, self._used)])

    def take(self, counts) -> None:
        """Mark ``counts`` (K,) start states per seed as taken."""
        self._used += np.asarray(counts, np.int64)


def call_edges(cfg, chunk: int = CHUNK):
    """The frames of each call, (first, end) pairs: at most ``chunk`` frames; a call ends
    where learning starts (so it learns on every frame or on none) and on every frame that
    syncs the target network (synced between calls)."""
    cuts = {0, cfg.frames, min(cfg.frames, cfg.learn_after)}
    if cfg.target_sync_every:
        cuts |= set(range(1, cfg.frames, cfg.target_sync_every))
    edges = sorted(cuts)
    out = []
    for a, b in zip(edges[:-1], edges[1:]):
        out += [(f, min(f + chunk, b)) for f in range(a, b, chunk)]
    return out


def meertens_fused(agent, cfg, seeds, progress=None, chunk: int = CHUNK):
    """Meertens's ``fast`` frame loop for K seeds, ``chunk`` frames per call of
    ``agent.fused_frames`` (the program's in-graph loop), each seed drawing exactly what its
    lone fast run draws (``FusedDraws``). Returns per seed (training returns, losses (frame,
    loss) where frame % 1000 == 1), as the lone run returns them."""
    K = len(seeds)
    env = LockstepCartPole(cfg.env_id, 1, seeds)
    draws = FusedDraws(cfg, seeds, env)
    state = draws.starts(1)[:, 0]  # the first reset
    draws.take(np.ones(K))
    steps = np.zeros(K, np.int32)
    since = np.zeros(K, np.int64)  # frames of each seed's current episode before this call
    returns: list[list] = [[] for _ in seeds]
    losses: list[list] = [[] for _ in seeds]
    ticks = iter(progress(range(cfg.frames))) if progress else None
    for f0, f1 in call_edges(cfg, chunk):
        n = f1 - f0
        explore, random_action = draws.actions(f0, n)
        learn = f0 + 1 > cfg.learn_after
        slots = draws.slots(f0, n) if learn else np.zeros((K, n, cfg.batch_size), np.int32)
        starts = draws.starts(n)
        terminal, loss, state, steps = agent.fused_frames(f0, learn, state, steps, explore, random_action,
                                                          slots, starts)
        draws.take(terminal.sum(axis=1))
        for k in range(K):
            ends = np.flatnonzero(terminal[k])
            if len(ends):
                lengths = np.diff(np.concatenate([[-1], ends]))
                lengths[0] += since[k]
                returns[k].extend(float(x) for x in lengths)
                since[k] = n - 1 - ends[-1]
            else:
                since[k] += n
        if learn:
            for j in range((1 - f0) % 1000, n, 1000):  # frames with i % 1000 == 1
                for k in range(K):
                    losses[k].append((f0 + j, float(loss[k, j])))
        if cfg.target_sync_every and (f1 - 1) % cfg.target_sync_every == 0:
            agent.sync_target()  # after the frame's update, as the lone run syncs
        if ticks is not None:
            for _ in itertools.islice(ticks, n):
                pass
    if ticks is not None:
        for _ in ticks:
            pass
    return returns, losses


def meertens_results(agent, cfg, seeds, progress=None, save=None):
    """Train K seeds of Meertens's DQN in lockstep, then test-play each: one result per
    seed, with the keys the lone ``run`` returns. ``train_wall_s`` is the lockstep
    training time shared out over the seeds; ``save``: one directory per seed (or None),
    each written by ``agent.lone(k).save``."""
    t0 = time.perf_counter()
    train_returns, losses = meertens_fused(agent, cfg, seeds, progress)
    train_wall = time.perf_counter() - t0
    weights = agent.weights()
    save_each(agent, save)
    eval_returns, q_trace = greedy_play_lockstep(weights, cfg.env_id, [s + 10_000 for s in seeds],
                                                 cfg.test_episodes, cfg.max_steps)
    out = []
    for k in range(len(seeds)):
        out.append(RunResult(train_returns=train_returns[k], eval_returns=eval_returns[k],
                             env_steps=cfg.frames + int(sum(eval_returns[k])), train_env_steps=cfg.frames,
                             updates=max(0, cfg.frames - cfg.learn_after - 1), episodes_per_iteration=1,
                             train_wall_s=train_wall / len(seeds), weights=[w[k] for w in weights],
                             q_trace=q_trace[k], losses=losses[k], lockstep_seeds=len(seeds)))
    return out
