"""REINFORCE for CartPole, TF1 graph form.

Source: Jeff Tang, *Intelligent Mobile Projects with TensorFlow* (Packt 2018), CartPole
chapter, "Implementing a policy gradient in TensorFlow" (``nn_pg.py``); written for TF 1.6,
gym 0.10. The TF1 graph form is ``legacy_tf1/pg_tang.py``, the TF2 port ``modern_tf2/pg_tang.py``.
Code: https://github.com/PacktPublishing/Intelligent-Mobile-Projects-with-TensorFlow/blob/6f41debe99331173cd4c13c63111cd5380e4abe3/ch12/nn_pg.py

What the port changes: nothing in this form, which keeps the source's framework:
placeholders, ``tf.multinomial`` action, ``compute_gradients`` -> one placeholder per
gradient -> ``apply_gradients``, one ``sess.run([action, gs])`` per step, one episode per
update, ``tf.train.Saver``, gym's 4-tuple API.

Deviations, each for a reason:
* A one-step episode has reward std 0; the source divides by it (NaN update). Both forms
  apply a zero gradient instead (``tfrepro.core.returns.normalized_discounted_rewards``).
* ``fast`` mode (not in the source): act from a NumPy copy of the weights, then one call
  (a ``sess.run``; a compiled call in the TF2 port) computes the episode's mean
  reward-weighted gradient as the gradient of one weighted loss and applies it with the
  same Adam (same slots). Same gradient as the book loop (tested), one call per episode
  instead of one per step.
* ``tf.layers.dense`` -> ``legacy_tf1.common.dense`` (same variables and math; the
  original raises under Keras 3, see that helper).
* ``g != None`` -> ``g is not None`` (same meaning; ``!=`` on a Tensor is elementwise in TF2).
* The environment speaks the old gym API (``tfrepro.core.envs.make_old``): real gym 0.21 in the
  TF 1.15 image, gymnasium through the adapter ``tfrepro.core.envs.OldGymAPI`` elsewhere.
"""
from __future__ import annotations

import os
import tempfile
import time

import numpy as np
import tensorflow.compat.v1 as tf

from legacy_tf1.common import PolicyGraphProgram, as_float_obs, dense, episode_limit, old_gym_env
from legacy_tf1.engines import LockstepPolicy
from tfrepro.core.configs import TangPGConfig
from tfrepro.core.loops import evaluate_fast, reinforce_fast
from tfrepro.core.protocol import RunResult
from tfrepro.core.returns import normalized_discounted_rewards
from tfrepro.engines.reinforce import reinforce_results, tang_advantages

ACTIVATION = "relu"


class PolicyGradient(PolicyGraphProgram):
    """nn_pg.py's network, 4 inputs -> 4 ReLU -> 1 logit (log-odds of action 0), and Adam;
    plus one batched-gradient update for fast mode."""

    def build(self, cfg: TangPGConfig):
        num_inputs = 4  # env.observation_space.shape[0]
        # ---- network: 4 inputs -> 4 ReLU -> 1 logit = log-odds of action 0 (left)
        self.inputs = tf.placeholder(tf.float32, shape=[None, num_inputs], name="inputs")
        hidden = dense(self.inputs, cfg.hidden, activation=tf.nn.relu)
        self.logits = dense(hidden, 1)
        self.outputs = tf.nn.sigmoid(self.logits)  # P(action 0)
        self.action = tf.multinomial(tf.log(tf.concat([self.outputs, 1 - self.outputs], 1)), 1)

        # ---- loss: pretend the sampled action was right; the return decides later
        prob_action_0 = tf.to_float(1 - self.action)
        cross_entropy = tf.nn.sigmoid_cross_entropy_with_logits(
            logits=self.logits, labels=prob_action_0)
        optimizer = tf.train.AdamOptimizer(cfg.learning_rate)

        # ---- compute_gradients -> gradient placeholders -> apply_gradients
        gvs = optimizer.compute_gradients(cross_entropy)
        gvs = [(g, v) for g, v in gvs if g is not None]
        self.gs = [g for g, _ in gvs]
        self.gps, gvs_feed = [], []
        for g, v in gvs:
            gp = tf.placeholder(tf.float32, shape=g.get_shape())
            self.gps.append(gp)
            gvs_feed.append((gp, v))
        self.training_op = optimizer.apply_gradients(gvs_feed)

        self.build_fast(optimizer, [v for _, v in gvs])  # fast mode (not in the source)

    # -- the pieces the equivalence tests drive -------------------------------
    def proba_left(self, obs):
        return self.sess.run(self.outputs, {self.inputs: obs})[:, 0]

    forward = proba_left

    def step_gradients(self, obs, action=None):
        """One book step: sample an action and get the gradients of its cross-entropy.
        Passing ``action`` overrides the sample (to replay a recorded episode)."""
        feed = {self.inputs: as_float_obs(obs)}
        if action is not None:
            feed[self.action] = [[action]]
        return self.sess.run([self.action, self.gs], feed)

    def book_gradient(self, rewards_weights, grads):
        """``np.mean([grads[k][i] * nd[k] for k ...], axis=0)`` per variable, as printed."""
        return [np.mean([grads[k][i] * r for k, r in enumerate(rewards_weights)], axis=0)
                for i in range(len(self.gps))]



def train_book(agent: PolicyGradient, cfg, seed, progress):
    env = old_gym_env(cfg.env_id)
    env.seed(seed)
    limit, returns, steps = episode_limit(cfg), [], 0
    for it in progress(range(cfg.iterations)):
        rewards, grads = [], []
        obs = env.reset()
        # using current policy to test play a game
        while True:
            a, gs_val = agent.step_gradients(obs)
            obs, reward, done, info = env.step(a[0][0])
            rewards.append(reward)
            grads.append(gs_val)
            if done or len(rewards) >= limit:
                break
        # update gradients and do the training
        nd_rewards = normalized_discounted_rewards(rewards, cfg.discount_rate)
        agent.apply(agent.book_gradient(nd_rewards, grads))
        returns.append(float(sum(rewards)))
        steps += len(rewards)
    return returns, steps


def train_fast(agent: PolicyGradient, cfg, seed, progress, rng):
    return reinforce_fast(agent, cfg, seed, progress, rng, ACTIVATION, 1, tang_advantages(cfg))


def evaluate(cfg, checkpoint, mode, seed, rng):
    """Restore the saved model into a fresh agent (TF1: a separate graph and session), then
    test play."""
    with PolicyGradient(cfg, seed) as agent:
        agent.restore(checkpoint)
        if mode == "fast":
            return evaluate_fast(agent.weights(), ACTIVATION, cfg.env_id, cfg.test_episodes,
                                 seed + 10_000, cfg.max_steps, rng)
        env = old_gym_env(cfg.env_id)
        env.seed(seed + 10_000)
        limit, total_rewards, steps = episode_limit(cfg), [], 0
        for ep in range(cfg.test_episodes):
            rewards = 0
            obs = env.reset()
            while True:
                a = agent.sess.run(agent.action, feed_dict={agent.inputs: as_float_obs(obs)})
                obs, reward, done, info = env.step(a[0][0])
                rewards += reward
                steps += 1
                if done or rewards >= limit:
                    break
            total_rewards.append(rewards)
        return np.array(total_rewards), steps


def run(cfg: TangPGConfig, *, mode="fast", seed=0, save=None, load=None, progress=None, rng=None):
    """Train, save (TF1: ``tf.train.Saver``; TF2: ``model.save`` to .keras), restore into a
    fresh agent and test play."""
    progress = progress or (lambda it: it)
    rng = rng if rng is not None else np.random.default_rng(seed)
    with tempfile.TemporaryDirectory() as tmp:
        ckpt_dir = save or os.path.join(tmp, "nnpg")
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
            weights = agent.weights()
        eval_returns, eval_steps = evaluate(cfg, ckpt_dir, mode, seed, rng)
    return RunResult(train_returns=train_returns, eval_returns=list(map(float, eval_returns)),
                     env_steps=steps + eval_steps, train_env_steps=steps, updates=cfg.iterations,
                     episodes_per_iteration=1, train_wall_s=train_wall, weights=weights)


def lockstep_agent(cfg, seeds):
    """The ``lockstep`` engine of ``seeds``, each seed's network starting as its lone program's."""
    return LockstepPolicy(cfg, seeds, PolicyGradient, ACTIVATION)


def run_lockstep(cfg, *, seeds, save=None, progress=None):
    """``lockstep`` mode: the fast runs of several seeds, their updates in one call (TF1: one
    graph; TF2: one compiled call); one result per seed."""
    with lockstep_agent(cfg, seeds) as agent:
        return reinforce_results(agent, cfg, seeds, ACTIVATION, 1, tang_advantages(cfg), cfg.test_episodes,
                                 progress=progress, save=save)
