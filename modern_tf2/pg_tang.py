"""REINFORCE for CartPole, TF2 port.

Source: Jeff Tang, *Intelligent Mobile Projects with TensorFlow* (Packt 2018), CartPole
chapter, "Implementing a policy gradient in TensorFlow" (``nn_pg.py``); written for TF 1.6,
gym 0.10. The TF1 graph form is ``legacy_tf1/pg_tang.py``, the TF2 port ``modern_tf2/pg_tang.py``.
Code: https://github.com/PacktPublishing/Intelligent-Mobile-Projects-with-TensorFlow/blob/6f41debe99331173cd4c13c63111cd5380e4abe3/ch12/nn_pg.py

What the port changes: only the framework (the math and the loop are the TF1 form's): an
eager Keras 3 model, ``tf.GradientTape`` per step in place of ``sess.run([action, gs])``,
``optimizer.apply_gradients`` in place of the gradient placeholders, ``model.save(.keras)``
in place of ``tf.train.Saver``, gymnasium's 5-tuple API in place of gym's 4-tuple.

Deviations, each for a reason:
* A one-step episode has reward std 0; the source divides by it (NaN update). Both forms
  apply a zero gradient instead (``tfrepro.core.returns.normalized_discounted_rewards``).
* ``fast`` mode (not in the source): act from a NumPy copy of the weights, then one call
  (a ``sess.run``; a compiled call in the TF2 port) computes the episode's mean
  reward-weighted gradient as the gradient of one weighted loss and applies it with the
  same Adam (same slots). Same gradient as the book loop (tested), one call per episode
  instead of one per step.
* The per-step tape runs under ``tf.function``: a ``sess.run`` is a compiled graph call,
  so this is the like-for-like port (eager per step costs ~10x more, for nothing).
* Keras Adam keeps its own epsilon (1e-7); TF1's AdamOptimizer uses 1e-8. The
  equivalence tests pin it to 1e-8 where they compare weights bit for bit.
"""
from __future__ import annotations

import os
import tempfile
import time

import keras
import numpy as np
import tensorflow as tf

from modern_tf2.common import PolicyKerasProgram, as_float_obs, episode_limit, policy_model
from modern_tf2.engines import LockstepPolicy
from tfrepro.core.configs import TangPGConfig
from tfrepro.core.envs import make
from tfrepro.core.loops import evaluate_fast, reinforce_fast
from tfrepro.core.protocol import RunResult
from tfrepro.core.returns import normalized_discounted_rewards
from tfrepro.engines.reinforce import reinforce_results, tang_advantages

ACTIVATION = "relu"


class PolicyGradient(PolicyKerasProgram):
    """nn_pg.py's network, 4 inputs -> 4 ReLU -> 1 logit (log-odds of action 0), and Adam;
    plus one batched-gradient update for fast mode."""

    def build(self, cfg: TangPGConfig):
        # ---- network: 4 inputs -> 4 ReLU -> 1 logit = log-odds of action 0 (left)
        self.model = policy_model(cfg.hidden, "relu", None, name="tang_policy")
        self.optimizer = keras.optimizers.Adam(cfg.learning_rate)
        self.optimizer.build(self.model.trainable_variables)
        self.loss_fn = keras.losses.BinaryCrossentropy(from_logits=True, reduction=None)

    @tf.function(reduce_retracing=True)
    def action(self, obs):
        p = tf.nn.sigmoid(self.model(obs))
        return tf.random.categorical(tf.math.log(tf.concat([p, 1 - p], 1)), 1)

    @tf.function(reduce_retracing=True)
    def _xent_grads(self, obs, action):
        with tf.GradientTape() as tape:
            logits = self.model(obs)
            # ---- loss: pretend the sampled action was right; the return decides later
            prob_action_0 = tf.cast(1 - action, tf.float32)
            cross_entropy = tf.nn.sigmoid_cross_entropy_with_logits(
                logits=logits, labels=prob_action_0)
        return tape.gradient(cross_entropy, self.model.trainable_variables)

    # -- the pieces the equivalence tests drive -------------------------------
    def proba_left(self, obs):
        return tf.nn.sigmoid(self.model(np.asarray(obs, np.float32))).numpy()[:, 0]

    forward = proba_left

    def step_gradients(self, obs, action=None):
        """One book step: sample an action and get the gradients of its cross-entropy.
        Passing ``action`` overrides the sample (to replay a recorded episode)."""
        obs = tf.constant(as_float_obs(obs))
        a = self.action(obs) if action is None else tf.constant([[action]], tf.int64)
        return a.numpy(), [g.numpy() for g in self._xent_grads(obs, a)]

    def book_gradient(self, rewards_weights, grads):
        """``np.mean([grads[k][i] * nd[k] for k ...], axis=0)`` per variable, as printed."""
        return [np.mean([grads[k][i] * r for k, r in enumerate(rewards_weights)], axis=0)
                for i in range(len(self.model.trainable_variables))]



def train_book(agent: PolicyGradient, cfg, seed, progress):
    env = make(cfg.env_id)
    limit, returns, steps = episode_limit(cfg), [], 0
    for it in progress(range(cfg.iterations)):
        rewards, grads = [], []
        obs, info = env.reset(seed=seed if it == 0 else None)
        # using current policy to test play a game
        while True:
            a, gs_val = agent.step_gradients(obs)
            obs, reward, terminated, truncated, info = env.step(int(a[0][0]))
            rewards.append(reward)
            grads.append(gs_val)
            if terminated or truncated or len(rewards) >= limit:
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
        env = make(cfg.env_id)
        limit, total_rewards, steps = episode_limit(cfg), [], 0
        for ep in range(cfg.test_episodes):
            rewards = 0
            obs, info = env.reset(seed=seed + 10_000 if ep == 0 else None)
            while True:
                a = agent.action(tf.constant(as_float_obs(obs)))
                obs, reward, terminated, truncated, info = env.step(int(a[0][0]))
                rewards += reward
                steps += 1
                if terminated or truncated or rewards >= limit:
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
