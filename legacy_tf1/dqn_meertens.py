"""Deep Q-network for CartPole, TF1 graph form.

Source: Roland Meertens, "Introduction to OpenAI gym part 2: building a deep q-network"
(TF 1 graph, gym): placeholders for state, action and target; weights as raw
``tf.Variable``s from ``tf.random_normal(stddev=0.35)``, zero biases; 4-16-32-8-2 with
ReLU except the last; Q(s, a) through a one-hot mask; mean squared error;
``tf.train.RMSPropOptimizer(1e-4)``; replay memory of 30,000; batch 32; gamma 0.9; reward
0 on the terminal step; learning after 1000 frames; random actions for 300,001 frames; a
``loss`` summary written with a ``FileWriter`` every 100 frames. The TF1 graph form (as
published) is ``legacy_tf1/dqn_meertens.py``, the TF2 port ``modern_tf2/dqn_meertens.py``.
Code: https://github.com/rmeertens/reinforcementlearning-tensorflow-tradr-summerschool/blob/03e40aa91b9b48e5c3af64ed626762f7b2b38b11/OpenAI%20Universe%20part%202%20DQN.ipynb

What the port changes: nothing in this form, which keeps the source's framework:
placeholders, raw ``tf.Variable`` weights, ``sess.run``, ``tf.train.Saver``,
``tf.train.RMSPropOptimizer``, ``tf.summary.FileWriter``, gym's 4-tuple API.

Deviations, each for a reason:
* The published listing lost its indices in extraction (``tf.zeros()``, ``[var for var
  in experiences]``); they are restored from the text: bias shapes 16, 32, 8, 2; the
  batch's next states, states, actions and targets.
* ``replay_memory = replay_memory[1:]`` copies 30,000 tuples per frame; a
  ``deque(maxlen=30000)`` keeps the same transitions (``tfrepro.core.replay.ReplayMemory``).
* The Bellman target is computed by ``tfrepro.core.replay.bellman_targets`` (the source's
  per-row loop, vectorised; known-answer tested).
* The exercises the source leaves to the reader are options: epsilon-greedy with linear
  annealing, and a target network synced every N frames (``MEERTENS_EXERCISES``).
* The time limit ends an episode as a terminal state, as old gym's ``done`` did.
* ``fast`` mode (not in the source): greedy actions from a NumPy copy of the weights, and
  one call per frame for target, update and the new weights; ``lockstep`` mode: the fast
  runs of several seeds, every variable stacked on a leading seed axis, and the frame loop
  itself in the graph (a ``tf.while_loop`` with CartPole, the replay memory, epsilon-greedy
  and the update inside), up to 1000 frames per call, every random draw made ahead in NumPy
  as the lone run makes it (``tfrepro.engines.meertens``).
"""
from __future__ import annotations

import time

import numpy as np
import tensorflow.compat.v1 as tf

from legacy_tf1.common import GraphProgram, episode_limit, file_writer, loss_summary, old_gym_env
from legacy_tf1.engines import FastDQN, LockstepDQN
from tfrepro.core.configs import MeertensDQNConfig
from tfrepro.core.policies import mlp_q
from tfrepro.core.protocol import RunResult
from tfrepro.core.replay import ReplayMemory, bellman_targets, linear_epsilon
from tfrepro.core.takeover import play_with_takeover
from tfrepro.engines.meertens import meertens_results


class DQN(FastDQN, GraphProgram):
    def build(self, cfg: MeertensDQNConfig):
        sizes = (4,) + tuple(cfg.hidden) + (2,)
        # ---- network input
        self.networkstate = tf.placeholder(tf.float32, [None, 4], name="input")
        self.networkaction = tf.placeholder(tf.int32, [None], name="actioninput")
        self.networkreward = tf.placeholder(tf.float32, [None], name="groundtruth_reward")
        action_onehot = tf.one_hot(self.networkaction, 2, name="actiononehot")

        # ---- the variables of our network (and of the target network, an exercise)
        self.weights_, target = [], []
        for k, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
            w = tf.Variable(tf.random_normal([n_in, n_out], stddev=cfg.init_stddev), name="W%d" % k)
            b = tf.Variable(tf.zeros([n_out]), name="B%d" % k)
            self.weights_ += [w, b]
        with tf.variable_scope("target"):
            for v in self.weights_:
                # zeros here; synced from the online network at frame 0
                target.append(tf.Variable(tf.zeros(v.shape), trainable=False, name=v.op.name))
        self.sync_target_op = tf.group(*[t.assign(v) for t, v in zip(target, self.weights_)])

        # ---- the network layout: ReLU on every layer but the last
        self.predictedreward = self._layout(self.networkstate, self.weights_)
        self.target_q = self._layout(self.networkstate, target)

        # ---- learning: Q(s, a) of the taken action against the Bellman target
        qreward = tf.reduce_sum(tf.multiply(self.predictedreward, action_onehot), axis=1)
        self.loss = tf.reduce_mean(tf.square(self.networkreward - qreward))
        tf.summary.scalar("loss", self.loss)
        rmsprop = tf.train.RMSPropOptimizer(cfg.learning_rate)
        self.optimizer = rmsprop.minimize(self.loss)

        self.build_fast(cfg, qreward, target, rmsprop)  # fast mode (not in the source)
        self.merged_summary = tf.summary.merge_all()

    @staticmethod
    def _layout(x, params):
        for i in range(0, len(params) - 2, 2):
            x = tf.nn.relu(tf.add(tf.matmul(x, params[i]), params[i + 1]))
        return tf.add(tf.matmul(x, params[-2]), params[-1], name="predictedReward")

    # -- the pieces the equivalence tests drive -------------------------------
    def q_values(self, states):
        return self.sess.run(self.predictedreward, {self.networkstate: states})

    forward = q_values

    def target_values(self, states):
        return self.sess.run(self.target_q, {self.networkstate: states})

    def train_batch(self, states, actions, targets):
        _, loss, summary = self.sess.run(
            [self.optimizer, self.loss, self.merged_summary],
            {self.networkstate: states, self.networkaction: actions, self.networkreward: targets})
        return loss, summary

    def sync_target(self):
        self.sess.run(self.sync_target_op)


def train(agent: DQN, cfg, seed, rng, logdir=None, progress=None, mode="book"):
    """The source's frame loop. Returns (episode returns, frames, losses).
    ``fast``: greedy actions from a NumPy copy of the weights, and one call per frame for
    target, update and the new weights (book: up to three)."""
    fast = mode == "fast"
    weights = agent.weights() if fast else None
    env = old_gym_env(cfg.env_id)
    env.seed(seed)
    memory = ReplayMemory(cfg.memory, seed=seed)
    writer = file_writer(logdir, agent.graph) if logdir else None  # tf.summary.FileWriter
    q_next = agent.target_values if cfg.target_sync_every else agent.q_values
    observation, episode_return, returns, losses, summary = env.reset(), 0.0, [], [], None
    frames = progress(range(cfg.frames)) if progress else range(cfg.frames)
    for i_epoch in frames:
        # ---- select an action and perform it (epsilon-greedy is the exercise)
        eps = linear_epsilon(i_epoch, cfg.epsilon_start, cfg.epsilon_end, cfg.epsilon_anneal_frames)
        if not cfg.epsilon_greedy or rng.random() < eps:
            action = int(rng.integers(2))  # env.action_space.sample()
        elif fast:
            action = int(np.argmax(mlp_q(weights, observation[None])[0]))
        else:
            action = int(np.argmax(agent.q_values([observation])[0]))
        newobservation, reward, terminal, info = env.step(action)
        episode_return += reward
        if terminal:  # "I prefer that my agent gets 0 reward if it dies"
            reward = 0
        memory.append(observation, action, reward, terminal, newobservation)
        if terminal:
            newobservation = env.reset()
            returns.append(episode_return)
            episode_return = 0.0
        observation = newobservation

        # ---- learn once we have enough frames
        if len(memory) > cfg.learn_after:
            batch = memory.sample(cfg.batch_size)
            if fast:
                loss, weights = agent.fast_update(batch)
                summary = loss_summary(loss) if writer is not None and i_epoch % cfg.summary_every == 1 else None
            else:
                states, actions, rewards, terminals, nextstates = batch
                pred_reward = q_next(nextstates)
                targets = bellman_targets(rewards, terminals, pred_reward, cfg.gamma)
                loss, summary = agent.train_batch(states, actions, targets)
            if i_epoch % 1000 == 1:
                losses.append((i_epoch, float(loss)))
        if cfg.target_sync_every and i_epoch % cfg.target_sync_every == 0:
            agent.sync_target()
        if writer is not None and summary is not None and i_epoch % cfg.summary_every == 1:
            writer.add_summary(summary, i_epoch)
    if writer is not None:
        writer.close()
    return returns, cfg.frames, losses


def play(agent: DQN, cfg, seed, episodes):
    """Greedy test play; returns (returns, per-frame Q values of the first episode)."""
    env = old_gym_env(cfg.env_id)
    env.seed(seed + 10_000)
    limit, returns, first_q = episode_limit(cfg), [], []
    for ep in range(episodes):
        observation, term, total = env.reset(), False, 0.0
        while not term and total < limit:
            pred_q = agent.q_values([observation])
            if ep == 0:
                first_q.append(pred_q[0].tolist())
            observation, reward, term, _ = env.step(int(np.argmax(pred_q)))
            total += reward
        returns.append(total)
    return returns, first_q


def run(cfg: MeertensDQNConfig, *, mode="book", seed=0, save=None, load=None, progress=None,
        rng=None, logdir=None, takeover=None):
    rng = rng if rng is not None else np.random.default_rng(seed)
    with DQN(cfg, seed) as agent:
        if load:
            agent.restore(load)
        t0 = time.perf_counter()
        train_returns, frames, losses = train(agent, cfg, seed, rng, logdir=logdir, progress=progress,
                                              mode=mode)
        train_wall = time.perf_counter() - t0
        if save:
            agent.save(save)
        eval_returns, q_trace = play(agent, cfg, seed, cfg.test_episodes)
        handover = None
        if takeover is not None:  # "team up with your robot": one more episode, with a helper
            handover = play_with_takeover(agent.q_values, cfg.env_id, seed + 20_000, takeover,
                                          margin=getattr(takeover, "margin", 0.2), max_steps=cfg.max_steps)
        weights = agent.weights()
    return RunResult(train_returns=train_returns, eval_returns=eval_returns, env_steps=frames + int(sum(eval_returns)),
                     train_env_steps=frames, updates=max(0, frames - cfg.learn_after - 1),
                     episodes_per_iteration=1, train_wall_s=train_wall, weights=weights,
                     q_trace=q_trace, losses=losses, takeover=handover)


def lockstep_agent(cfg, seeds):
    """The ``lockstep`` engine of ``seeds``, each seed's network starting as its lone program's."""
    return LockstepDQN(cfg, seeds, DQN)


def run_lockstep(cfg: MeertensDQNConfig, *, seeds, save=None, progress=None):
    """``lockstep`` mode: the fast runs of several seeds, up to 1000 frames of all of them
    per call of one ``tf.while_loop`` (``tfrepro.engines.meertens``), one result per seed."""
    with lockstep_agent(cfg, seeds) as agent:
        return meertens_results(agent, cfg, seeds, progress=progress, save=save)
