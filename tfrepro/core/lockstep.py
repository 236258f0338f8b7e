"""Many seeds in lockstep: CartPole for K seeds at once, each seed's stream exactly its own.

``LockstepEpisodes(env_id, N, seeds)`` plays, per call, one batch of N complete episodes for
each of the K seeds, all K x N copies stepped by one set of NumPy operations. Seed ``s``
sees exactly what ``VecEpisodes(env_id, N, seed=s)`` alone shows it: the same start states
(its own generator, seeded as gymnasium seeds one), the same dynamics (gymnasium's
vectorised CartPole formulas, element for element), the same auto-resets of the copies
that finish early, and the same random draws of its policy. A seed whose episodes are all
over waits, frozen (no step, no draw), until the slowest seed is done, so nothing it
draws depends on the other seeds. ``compat_tests/test_lockstep.py`` checks all of this
against gymnasium's own environment, trajectory for trajectory.

The gymnasium back end only: gym 0.21 (the TF 1.15 image) seeds each copy through a
hash of its own, which this does not reproduce.
"""
from __future__ import annotations

import math
import random
import warnings

import numpy as np

from .envs import EpisodeBatch, backend, episode_limit, gym_module
from .errors import UsageError


def seed_generator(seed):
    """The generator gymnasium's ``reset(seed=seed)`` gives an environment."""
    from gymnasium.utils import seeding

    return seeding.np_random(int(seed))[0]


class LockstepCartPole:
    """K seeds x N copies of gymnasium's CartPole with their state in one (4, K, N) array.
    Seed k's copies draw their start states from seed k's own generator, in the order
    gymnasium's vectorised CartPole draws them (or a lone CartPole, when N is 1)."""

    # the physics and limits, copied from the environment gymnasium makes (``__init__``)
    gravity: float
    masspole: float
    total_mass: float
    length: float
    polemass_length: float
    force_mag: float
    tau: float
    kinematics_integrator: str
    theta_threshold_radians: float
    x_threshold: float
    max_episode_steps: int
    low: float
    high: float

    def __init__(self, env_id: str, num_envs: int, seeds):
        if backend() != "gymnasium":
            raise UsageError("lockstep mode needs the gymnasium back end (gym 0.21 seeds another way)")
        gym = gym_module()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ref = gym.make_vec(env_id, num_envs=1, vectorization_mode="vector_entry_point").unwrapped
        # the physics and limits of the environment gymnasium itself would make
        for name in ("gravity", "masspole", "total_mass", "length", "polemass_length", "force_mag",
                     "tau", "kinematics_integrator", "theta_threshold_radians", "x_threshold",
                     "max_episode_steps", "low", "high"):
            setattr(self, name, getattr(ref, name))
        sutton_barto = getattr(ref, "_sutton_barto_reward", False)
        ref.close()
        if sutton_barto:
            raise UsageError(f"{env_id}: the Sutton-Barto reward is not supported in lockstep mode")
        self.seeds = [int(s) for s in seeds]
        self.K, self.N = len(self.seeds), int(num_envs)
        self.rngs = [seed_generator(s) for s in self.seeds]
        self.state = np.zeros((4, self.K, self.N))
        self.steps = np.zeros((self.K, self.N), np.int32)

    def reset(self, which=None):
        """Start the copies in ``which`` (K, N) bool (all when None) over; seed by seed."""
        which = np.ones((self.K, self.N), bool) if which is None else which
        for k in np.flatnonzero(which.any(axis=1)):
            slots = which[k]
            self.state[:, k, slots] = self.rngs[k].uniform(low=self.low, high=self.high,
                                                           size=(4, int(slots.sum())))
        self.steps[which] = 0

    def physics(self, action):
        """The next state of every copy and whether it terminated (nothing is stored)."""
        x, x_dot, theta, theta_dot = self.state
        force = np.sign(action - 0.5) * self.force_mag
        costheta = np.cos(theta)
        sintheta = np.sin(theta)
        temp = (force + self.polemass_length * np.square(theta_dot) * sintheta) / self.total_mass
        thetaacc = (self.gravity * sintheta - costheta * temp) / (
            self.length * (4.0 / 3.0 - self.masspole * np.square(costheta) / self.total_mass))
        xacc = temp - self.polemass_length * thetaacc * costheta / self.total_mass
        if self.kinematics_integrator == "euler":
            x = x + self.tau * x_dot
            x_dot = x_dot + self.tau * xacc
            theta = theta + self.tau * theta_dot
            theta_dot = theta_dot + self.tau * thetaacc
        else:  # semi-implicit euler
            x_dot = x_dot + self.tau * xacc
            x = x + self.tau * x_dot
            theta_dot = theta_dot + self.tau * thetaacc
            theta = theta + self.tau * theta_dot
        terminated = ((x < -self.x_threshold) | (x > self.x_threshold)
                      | (theta < -self.theta_threshold_radians) | (theta > self.theta_threshold_radians))
        return np.stack((x, x_dot, theta, theta_dot)), terminated

    def step(self, action, active=None):
        """One step of the seeds in ``active`` (K,) bool (all when None), the time limit
        applied: returns (terminated, truncated), (K, N) bool. Nothing is reset."""
        new, terminated = self.physics(action)
        if active is None:
            self.state = new
            self.steps += 1
        else:
            self.state[:, active] = new[:, active]
            self.steps[active] += 1
        return terminated, self.steps >= self.max_episode_steps

    def observations(self) -> np.ndarray:
        """(K, N, 4) float32, as gymnasium returns them."""
        return self.state.transpose(1, 2, 0).astype(np.float32)


class LockstepEpisodes:
    """One batch of N complete episodes per seed per call, on ``LockstepCartPole``, with
    the next-step auto-reset of gymnasium's vectorised CartPole."""

    def __init__(self, env_id: str, num_envs: int, seeds, max_steps: int | None = None):
        self.env = LockstepCartPole(env_id, num_envs, seeds)
        self.K, self.N, self.rngs = self.env.K, self.env.N, self.env.rngs
        self.max_steps = episode_limit(env_id, max_steps)
        self.env_steps = np.zeros(self.K, np.int64)  # counted steps per seed, as VecEpisodes counts

    def _step(self, action, active):
        """A step of gymnasium's ``CartPoleVectorEnv`` for the active seeds: copies that
        ended on the previous step start over instead of moving."""
        env, prev_done = self.env, self.prev_done
        terminated, truncated = env.step(action, active)
        restart = prev_done & active[:, None]
        env.reset(restart)
        done = (terminated | truncated) & ~prev_done
        self.prev_done = np.where(active[:, None], done, prev_done)
        return done

    # -- whole episodes ---------------------------------------------------------
    def play(self, policy, rngs) -> list[EpisodeBatch]:
        """``policy(obs (K, N, 4) float32, rngs, active (K,) bool) -> actions (K, N)``; it
        must draw from ``rngs[k]`` only for active seeds. One ``EpisodeBatch`` per seed."""
        self.env.reset()
        self.prev_done = np.zeros((self.K, self.N), bool)
        K, N, T = self.K, self.N, self.max_steps
        obs = self.env.observations()
        obs_buf = np.zeros((T, K, N, obs.shape[-1]), np.float32)
        act_buf = np.zeros((T, K, N), np.int64)
        alive = np.zeros((T, K, N), bool)
        running = np.ones((K, N), bool)
        active = np.ones(K, bool)
        ends = np.full(K, T)
        for t in range(T):
            actions = np.asarray(policy(obs, rngs, active))
            obs_buf[t], act_buf[t], alive[t] = obs, actions, running
            done = self._step(actions, active)
            obs = self.env.observations()
            running = running & ~done
            finished = active & ~running.any(axis=1)
            ends[finished] = t + 1
            active = active & ~finished
            if not active.any():
                break
        batches = []
        for k in range(K):
            n = ends[k]
            batch = EpisodeBatch(obs_buf[:n, k], act_buf[:n, k], np.ones((n, N)), alive[:n, k])
            self.env_steps[k] += int(batch.alive.sum())
            batches.append(batch)
        return batches

    def close(self):
        pass


def stacked_proba_left(weights, obs, activation: str) -> np.ndarray:
    """``policies.mlp_proba_left`` for K stacked networks: ``weights`` [(K, 4, H), (K, H),
    (K, H, 1), (K, 1)], ``obs`` (K, N, 4); returns (K, N)."""
    from .policies import ACTIVATIONS

    w1, b1, w2, b2 = weights
    h = ACTIVATIONS[activation](obs @ w1 + b1[:, None, :])
    logits = (h @ w2 + b2[:, None, :])[..., 0]
    return 1.0 / (1.0 + np.exp(-logits))


def stacked_sampling_policy(weights, activation: str):
    """``policies.sampling_policy`` for K stacked networks, each seed drawing from its own
    generator exactly what the lone policy draws (one uniform per copy per step)."""
    weights = [np.asarray(w, np.float64) for w in weights]

    def policy(obs, rngs, active):
        p = stacked_proba_left(weights, np.asarray(obs, np.float64), activation)
        u = np.ones_like(p)
        for k in np.flatnonzero(active):
            u[k] = rngs[k].random(p.shape[1])
        return (u >= p).astype(np.int64)

    return policy


class SampleStream:
    """``random.Random(seed).sample(range(n), k)`` for K seeds at once, draw for draw.

    Each seed's ``random.Random`` state is copied into a NumPy ``MT19937`` (the same
    generator: the same 32-bit outputs in the same order), whose outputs are drawn in
    blocks. ``random.sample`` turns outputs into positions by its two algorithms: for a
    population larger than a small set, a position is ``output >> (32 - bits)``, kept if
    it is below n and not kept before, until k are kept (done here for all seeds in a few
    array operations, repeats included); for a small one, a shrinking pool (done here seed by seed, in Python).
    ``compat_tests/test_lockstep.py`` holds the result to ``random.Random.sample``'s."""

    BLOCK = 8192

    def __init__(self, seeds):
        self.gens = []
        for seed in seeds:
            words = random.Random(int(seed)).getstate()[1]
            gen = np.random.MT19937()
            state = gen.state
            state["state"]["key"] = np.array(words[:624], np.uint32)
            state["state"]["pos"] = words[624]
            gen.state = state
            self.gens.append(gen)
        self.raw = np.stack([g.random_raw(self.BLOCK) for g in self.gens]).astype(np.int64)
        self.pos = np.zeros(len(self.gens), np.int64)

    def _window(self, width):
        """The next ``width`` outputs of every seed (K, width), not yet consumed."""
        if (self.pos + width > self.raw.shape[1]).any():
            left = self.raw.shape[1] - self.pos  # each seed's outputs drawn, not yet consumed
            length = int(left.max()) + self.BLOCK + width
            # each seed's unconsumed outputs, then as many fresh ones as make rows of one length
            self.raw = np.stack([np.concatenate([self.raw[k, self.pos[k]:],
                                                 g.random_raw(length - left[k]).astype(np.int64)])
                                 for k, g in enumerate(self.gens)])
            self.pos = np.zeros(len(self.gens), np.int64)
        return np.take_along_axis(self.raw, self.pos[:, None] + np.arange(width)[None, :], axis=1)

    def _randbelow(self, k, n):
        """CPython's ``_randbelow_with_getrandbits(n)`` on seed k's outputs."""
        bits = n.bit_length()
        while True:
            r = int(self.raw[k, self.pos[k]]) >> (32 - bits)
            self.pos[k] += 1
            if r < n:
                return r

    def sample(self, n: int, k: int) -> np.ndarray:
        """Positions (K, k), row i what ``random.Random(seed_i).sample(range(n), k)`` gives."""
        setsize = 21 + (4 ** math.ceil(math.log(k * 3, 4)) if k > 5 else 0)
        K = len(self.gens)
        if n <= setsize:  # random.sample's pool algorithm
            out = np.empty((K, k), np.int64)
            self._window(4 * k)  # outputs enough for a few rejections
            for row in range(K):
                pool = list(range(n))
                for i in range(k):
                    if self.pos[row] >= self.raw.shape[1]:
                        self._window(4 * k)
                    j = self._randbelow(row, n - i)
                    out[row, i], pool[j] = pool[j], pool[n - i - 1]
            return out
        bits = n.bit_length()
        width = int(k * 2 ** bits / n * 1.25) + 8  # outputs enough for the usual rejections
        while True:
            cand = self._window(width) >> (32 - bits)
            valid = cand < n
            count = np.cumsum(valid, axis=1)
            if (count[:, -1] >= k).all():
                break
            width *= 2
        out = cand[valid & (count <= k)].reshape(K, k)
        used = (count < k).sum(axis=1) + 1  # outputs up to the k-th kept one
        srt = np.sort(out, axis=1)
        repeats = np.flatnonzero((srt[:, 1:] == srt[:, :-1]).any(axis=1))
        if len(repeats):  # a position drawn twice (rare for large n): those seeds' rows again
            out[repeats], used[repeats] = self._without_repeats(repeats, n, k, bits, width)
        self.pos += used
        return out

    def _without_repeats(self, rows, n, k, bits, width):
        """``random.sample``'s set algorithm for the seeds in ``rows``: an output is kept if
        below n and not kept before. Returns (positions (R, k), outputs used (R,))."""
        while True:
            cand = self._window(width)[rows] >> (32 - bits)
            # each row's repeats: a stable sort leaves a value's first occurrence first
            order = np.argsort(cand, axis=1, kind="stable")
            srt = np.take_along_axis(cand, order, axis=1)
            repeat = np.zeros_like(cand, dtype=bool)
            np.put_along_axis(repeat, order[:, 1:], srt[:, 1:] == srt[:, :-1], axis=1)
            keep = (cand < n) & ~repeat
            count = np.cumsum(keep, axis=1)
            if (count[:, -1] >= k).all():
                return cand[keep & (count <= k)].reshape(len(rows), k), (count < k).sum(axis=1) + 1
            width *= 2


# a transition's place in a packed row: state (4), action, reward, terminal, next state (4)
PACKED = {"states": slice(0, 4), "actions": 4, "rewards": 5, "terminals": 6, "next_states": slice(7, 11)}
PACKED_WIDTH = 11


def pack_transitions(states, actions, rewards, terminals, next_states) -> np.ndarray:
    """Transitions with leading axes (..., ) -> one float32 array (..., 11), in ``PACKED``
    order (actions 0/1 and terminals 0/1 are exact in float32)."""
    return np.concatenate([np.asarray(states, np.float32), np.asarray(actions, np.float32)[..., None],
                           np.asarray(rewards, np.float32)[..., None],
                           np.asarray(terminals, np.float32)[..., None],
                           np.asarray(next_states, np.float32)], axis=-1)


def each_seed(stacked) -> list:
    """Stacked weights (each layer's array with a leading seed axis) as one list of layers per seed."""
    return [list(layers) for layers in zip(*stacked)]


def initial_weights(lone_class, cfg, seeds):
    """The weights each seed's lone program starts from, stacked on a leading seed axis:
    ``lone_class(cfg, seed).weights()`` per seed (each form seeds its own initializers)."""
    lone = []
    for seed in seeds:
        agent = lone_class(cfg, int(seed))
        lone.append(agent.weights())
        agent.close()
    return [np.stack(w) for w in zip(*lone)]


def save_each(agent, save):
    """``save``: one directory per seed (or None); seed k's network saved there as its lone
    program saves it (``agent.lone(k).save``)."""
    for k, where in enumerate(save or []):
        if where:
            lone = agent.lone(k)
            lone.save(where)
            lone.close()


def stacked_mlp_q(weights, obs) -> np.ndarray:
    """``policies.mlp_q`` for K stacked networks: ``obs`` (K, N, 4) -> Q values (K, N, A)."""
    x = np.asarray(obs, np.float32)
    for i in range(0, len(weights) - 2, 2):
        x = np.maximum(x @ weights[i] + weights[i + 1][:, None, :], 0)
    return x @ weights[-2] + weights[-1][:, None, :]


def greedy_play_lockstep(weights, env_id, seeds, episodes, max_steps=0):
    """The DQN test play for K stacked networks: ``episodes`` greedy episodes per seed on
    argmax Q, seed k's environment seeded with ``seeds[k]`` once, then reset after every
    episode (as the lone ``play`` does), from NumPy Q values. Returns per seed (returns,
    Q values of both actions per frame of its first episode)."""
    env = LockstepCartPole(env_id, 1, seeds)
    limit = episode_limit(env_id, max_steps)
    K = env.K
    returns, first_q = [[] for _ in range(K)], [[] for _ in range(K)]
    env.reset()
    total = np.zeros(K)
    played = np.zeros(K, np.int64)
    active = np.ones(K, bool)
    while active.any():
        q = stacked_mlp_q(weights, env.observations())[:, 0]
        for k in np.flatnonzero(active & (played == 0)):
            first_q[k].append([float(x) for x in q[k]])
        terminated, truncated = env.step(np.argmax(q, axis=1)[:, None], active)
        total[active] += 1.0
        over = active & (((terminated | truncated)[:, 0]) | (total >= limit))
        for k in np.flatnonzero(over):
            returns[k].append(float(total[k]))
        played[over] += 1
        total[over] = 0.0
        active = active & (played < episodes)
        env.reset((over & active)[:, None])
    return returns, first_q


def pad_batches(flats, advantages):
    """Seed by seed (obs (n_k, 4), actions (n_k,)) and advantages (n_k,) -> zero-padded
    (K, T, 4), (K, T), (K, T) and the step counts (K,)."""
    steps = np.array([len(a) for _, a in flats])
    K, T = len(flats), int(steps.max())
    obs = np.zeros((K, T, 4), np.float32)
    actions = np.zeros((K, T), np.int64)
    weights = np.zeros((K, T), np.float32)
    for k, ((o, a), w) in enumerate(zip(flats, advantages)):
        n = len(a)
        obs[k, :n], actions[k, :n], weights[k, :n] = o, a, w
    return obs, actions, weights, steps.astype(np.float32)


def evaluate_lockstep(weights, activation, env_id, episodes, seeds, max_steps, rngs, chunk=500):
    """``loops.evaluate_fast`` (``envs.run_episodes``) for K stacked networks: seed k's
    episodes in chunks of ``chunk``, chunk i seeded ``seeds[k] + i * chunk``, actions drawn
    from ``rngs[k]``. Returns per seed (returns, env steps)."""
    policy = stacked_sampling_policy(weights, activation)
    returns, steps = [[] for _ in seeds], np.zeros(len(seeds), np.int64)
    done = 0
    while done < episodes:
        n = min(chunk, episodes - done)
        venv = LockstepEpisodes(env_id, n, [s + done for s in seeds], max_steps=max_steps or None)
        for k, batch in enumerate(venv.play(policy, rngs)):
            returns[k] += [float(r) for r in batch.returns]
        steps += venv.env_steps
        done += n
    return returns, steps.tolist()
