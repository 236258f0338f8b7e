"""REINFORCE for CartPole (Géron), TF1 graph form.

Source: Aurélien Géron, *Hands-On Machine Learning*, 2nd ed., ch. 18 (TF 2 / Keras,
gym 0.21), and its port to gymnasium's 5-tuple API in a TF 2.17 notebook (500-step
episodes on CartPole-v1: ``--variant notebook``). The source is TF2: ``modern_tf2/pg_geron.py``
is its port to Keras 3 and gymnasium, ``legacy_tf1/pg_geron.py`` its back-port to a TF1 graph.
Code: https://github.com/ageron/handson-ml2/blob/2fdb70ca8f47da242b87a308e97414fdeaac759f/18_reinforcement_learning.ipynb
      https://github.com/ageron/handson-ml3/blob/4f5aa43f92ae20781f49019286a27fcab0120da9/18_reinforcement_learning.ipynb

What the port changes: this form is a back-port. It writes the same program the way the
TF1 era did (and Géron's 1st edition did): placeholders, one ``sess.run([action,
gradients])`` per step, ``compute_gradients`` -> gradient placeholders ->
``apply_gradients``, ``tf.train.Saver``, gym's 4-tuple API through
``legacy_tf1.common.old_gym_env``. Math kept identical to the Keras program, so the two
forms can be compared: network Dense(5, elu) -> Dense(1, sigmoid), glorot-uniform
kernels, zero biases; ``action = uniform([1, 1]) > left_proba``; target ``1 - action``;
the loss below; ``tf.train.AdamOptimizer(0.01)``.

Deviations, each for a reason:
* ``fast`` mode (not in the source): the 10 episodes of an update side by side on
  gymnasium's vector CartPole, actions from a NumPy copy of the weights, one gradient
  per update (one ``sess.run``; in the TF2 port one compiled gradient + Adam step).
* The loss is what Keras 3's ``binary_crossentropy(y_target, left_proba)`` computes on the
  output of a ``Dense(1, activation="sigmoid")``: Keras finds the logits the sigmoid
  cached (``_keras_logits``) and uses ``sigmoid_cross_entropy_with_logits``, in eager
  mode and in ``tf.function`` alike. Its clipped formula (clip p to [1e-7, 1 - 1e-7])
  only applies to a probability that lost its logits. The two differ once the policy
  saturates: the clip's gradient is zero there, the logits formula's is p - y. Both
  modes of the TF2 port hand ``binary_crossentropy`` the Dense layer's sigmoid output;
  wrapping the probability (``tf.identity``, arithmetic) would silently switch it to
  the clipped formula (tested). The TF1 form computes the logits formula.
* ``tf.train.AdamOptimizer``'s epsilon is 1e-8 (Keras's is 1e-7).
"""
from __future__ import annotations

import os
import tempfile
import time

import numpy as np
import tensorflow.compat.v1 as tf

from legacy_tf1.common import PolicyGraphProgram, as_float_obs, dense, old_gym_env
from legacy_tf1.engines import LockstepPolicy
from tfrepro.core.configs import GeronPGConfig
from tfrepro.core.loops import evaluate_fast, reinforce_fast
from tfrepro.core.protocol import RunResult
from tfrepro.core.returns import discount_and_normalize_rewards
from tfrepro.engines.reinforce import geron_advantages, reinforce_results

ACTIVATION = "elu"


class PolicyGradient(PolicyGraphProgram):
    def build(self, cfg: GeronPGConfig):
        n_inputs = 4  # == env.observation_space.shape[0]
        # ---- network: Dense(5, elu) -> Dense(1, sigmoid) = P(action 0 = left)
        self.inputs = tf.placeholder(tf.float32, shape=[None, n_inputs], name="inputs")
        hidden = dense(self.inputs, cfg.hidden, activation=tf.nn.elu)
        self.logits = dense(hidden, 1)
        self.left_proba = tf.nn.sigmoid(self.logits)

        # ---- play_one_step: action, target and loss of one step
        self.action = tf.random_uniform([1, 1]) > self.left_proba
        y_target = tf.constant([[1.0]]) - tf.to_float(self.action)
        loss = tf.reduce_mean(
            tf.nn.sigmoid_cross_entropy_with_logits(labels=y_target, logits=self.logits))
        optimizer = tf.train.AdamOptimizer(cfg.learning_rate)

        # ---- compute_gradients -> gradient placeholders -> apply_gradients
        gvs = [(g, v) for g, v in optimizer.compute_gradients(loss) if g is not None]
        self.gs = [g for g, _ in gvs]
        self.gps = [tf.placeholder(tf.float32, shape=g.get_shape()) for g in self.gs]
        self.training_op = optimizer.apply_gradients(zip(self.gps, [v for _, v in gvs]))

        self.build_fast(optimizer, [v for _, v in gvs])  # fast mode (not in the source)

    # -- the pieces the equivalence tests drive -------------------------------
    def proba_left(self, obs):
        return self.sess.run(self.left_proba, {self.inputs: obs})[:, 0]

    forward = proba_left

    def step_gradients(self, obs, action=None):
        feed = {self.inputs: as_float_obs(obs)}
        if action is not None:
            feed[self.action] = [[bool(action)]]
        a, gs = self.sess.run([self.action, self.gs], feed)
        return a.astype(np.int64), gs

    def book_gradient(self, all_final_rewards, all_grads):
        """The book's mean over every step of every episode of final_reward * gradient."""
        return [np.mean([final_reward * all_grads[episode_index][step][var_index]
                         for episode_index, final_rewards in enumerate(all_final_rewards)
                         for step, final_reward in enumerate(final_rewards)], axis=0)
                for var_index in range(len(self.gps))]



def play_one_step(env, obs, agent):
    action, grads = agent.step_gradients(obs)
    obs, reward, done, info = env.step(int(action[0, 0]))
    return obs, reward, done, grads


def play_multiple_episodes(env, n_episodes, n_max_steps, agent):
    all_rewards, all_grads = [], []
    for episode in range(n_episodes):
        current_rewards, current_grads = [], []
        obs = env.reset()
        for step in range(n_max_steps):
            obs, reward, done, grads = play_one_step(env, obs, agent)
            current_rewards.append(reward)
            current_grads.append(grads)
            if done:
                break
        all_rewards.append(current_rewards)
        all_grads.append(current_grads)
    return all_rewards, all_grads


def train_book(agent, cfg, seed, progress):
    env = old_gym_env(cfg.env_id)
    env.seed(seed)
    returns, steps = [], 0
    for iteration in progress(range(cfg.iterations)):
        all_rewards, all_grads = play_multiple_episodes(
            env, cfg.episodes_per_update, cfg.max_steps, agent)
        all_final_rewards = discount_and_normalize_rewards(all_rewards, cfg.discount_rate)
        agent.apply(agent.book_gradient(all_final_rewards, all_grads))
        returns += [float(sum(r)) for r in all_rewards]
        steps += sum(map(len, all_rewards))
    return returns, steps


def train_fast(agent, cfg, seed, progress, rng):
    return reinforce_fast(agent, cfg, seed, progress, rng, ACTIVATION, cfg.episodes_per_update,
                          geron_advantages(cfg))


def evaluate(agent, cfg, mode, seed, rng):
    """Our protocol: ``eval_episodes`` episodes of at most ``max_steps`` steps, actions
    sampled as in training (the book's ``render_policy_net`` renders one episode)."""
    if mode == "fast":
        return evaluate_fast(agent.weights(), ACTIVATION, cfg.env_id, cfg.eval_episodes,
                             seed + 10_000, cfg.max_steps, rng)
    env = old_gym_env(cfg.env_id)
    env.seed(seed + 10_000)
    totals, steps = [], 0
    for episode in range(cfg.eval_episodes):
        episode_rewards = 0.0
        obs = env.reset()
        for step in range(cfg.max_steps):
            action = agent.sess.run(agent.action, {agent.inputs: as_float_obs(obs)})
            obs, reward, done, info = env.step(int(action[0, 0]))
            episode_rewards += reward
            steps += 1
            if done:
                break
        totals.append(episode_rewards)
    return np.array(totals), steps


def run(cfg: GeronPGConfig, *, mode="fast", seed=0, save=None, load=None, progress=None, rng=None):
    """Train, save (TF1: ``tf.train.Saver``; TF2: ``model.save(... .keras)``), restore into a
    fresh agent, evaluate."""
    progress = progress or (lambda it: it)
    rng = rng if rng is not None else np.random.default_rng(seed)
    with tempfile.TemporaryDirectory() as tmp:
        ckpt_dir = save or os.path.join(tmp, "geron_pg")
        with PolicyGradient(cfg, seed) as agent:
            if load:
                agent.restore(load)
            t0 = time.perf_counter()
            if mode == "book":
                train_returns, steps = train_book(agent, cfg, seed, progress)
            else:
                train_returns, steps = train_fast(agent, cfg, seed, progress, rng)
            train_wall = time.perf_counter() - t0
            agent.save(ckpt_dir)
        agent = PolicyGradient(cfg, seed)
        agent.restore(ckpt_dir)
    with agent:
        eval_returns, eval_steps = evaluate(agent, cfg, mode, seed, rng)
        weights = agent.weights()
    return RunResult(train_returns=train_returns, eval_returns=list(map(float, eval_returns)),
                     env_steps=steps + eval_steps, train_env_steps=steps, updates=cfg.iterations,
                     episodes_per_iteration=cfg.episodes_per_update, train_wall_s=train_wall,
                     weights=weights)


def lockstep_agent(cfg, seeds):
    """The ``lockstep`` engine of ``seeds``, each seed's network starting as its lone program's."""
    return LockstepPolicy(cfg, seeds, PolicyGradient, ACTIVATION)


def run_lockstep(cfg, *, seeds, save=None, progress=None):
    """``lockstep`` mode: the fast runs of several seeds, their updates in one call (TF1: one
    graph; TF2: one compiled call); one result per seed."""
    with lockstep_agent(cfg, seeds) as agent:
        return reinforce_results(agent, cfg, seeds, ACTIVATION, cfg.episodes_per_update, geron_advantages(cfg),
                                 cfg.eval_episodes, progress=progress, save=save)
