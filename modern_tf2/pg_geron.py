"""REINFORCE for CartPole (Géron), TF2 port.

Source: Aurélien Géron, *Hands-On Machine Learning*, 2nd ed., ch. 18 (TF 2 / Keras,
gym 0.21), and its port to gymnasium's 5-tuple API in a TF 2.17 notebook (500-step
episodes on CartPole-v1: ``--variant notebook``). The source is TF2: ``modern_tf2/pg_geron.py``
is its port to Keras 3 and gymnasium, ``legacy_tf1/pg_geron.py`` its back-port to a TF1 graph.
Code: https://github.com/ageron/handson-ml2/blob/2fdb70ca8f47da242b87a308e97414fdeaac759f/18_reinforcement_learning.ipynb
      https://github.com/ageron/handson-ml3/blob/4f5aa43f92ae20781f49019286a27fcab0120da9/18_reinforcement_learning.ipynb

What the port changes: Keras 3 and gymnasium in place of the book's Keras 2 and gym 0.21
(the last three deviations below). ``book`` mode is the printed loop: ``play_one_step``
opens one eager ``GradientTape`` per step, ``play_multiple_episodes`` collects the
per-step gradients, and each variable's gradient is ``tf.reduce_mean`` of final_reward *
gradient over every step.

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
* ``keras.optimizers.Adam(lr=0.01)`` -> ``Adam(0.01)``: Keras 3 rejects ``lr``.
* ``input_shape=[4]`` on the first Dense -> ``keras.Input((4,))`` (Keras 3 style).
* gymnasium: ``reset()`` -> ``(obs, info)``, ``step()`` -> 5 values, seeding by
  ``reset(seed=...)`` instead of ``env.seed``; ``done = terminated or truncated``.
"""
from __future__ import annotations

import os
import tempfile
import time

import keras
import numpy as np
import tensorflow as tf

from modern_tf2.common import PolicyKerasProgram, as_float_obs, policy_model
from modern_tf2.engines import LockstepPolicy
from tfrepro.core.configs import GeronPGConfig
from tfrepro.core.envs import make
from tfrepro.core.loops import evaluate_fast, reinforce_fast
from tfrepro.core.protocol import RunResult
from tfrepro.core.returns import discount_and_normalize_rewards
from tfrepro.engines.reinforce import geron_advantages, reinforce_results

ACTIVATION = "elu"


class PolicyGradient(PolicyKerasProgram):
    def build(self, cfg: GeronPGConfig):
        # ---- network: Dense(5, elu) -> Dense(1, sigmoid) = P(action 0 = left)
        self.model = policy_model(cfg.hidden, "elu", "sigmoid", name="geron_policy")
        self.optimizer = keras.optimizers.Adam(cfg.learning_rate)
        self.optimizer.build(self.model.trainable_variables)
        self.loss_fn = keras.losses.binary_crossentropy

    def play_one_step_grads(self, obs, action=None):
        """The body of the book's ``play_one_step`` (eager), optionally replaying ``action``."""
        # ---- play_one_step: action, target and loss of one step
        with tf.GradientTape() as tape:
            left_proba = self.model(obs[np.newaxis])
            if action is None:
                action = (tf.random.uniform([1, 1]) > left_proba)
            else:
                action = tf.constant([[bool(action)]])
            y_target = tf.constant([[1.]]) - tf.cast(action, tf.float32)
            loss = tf.reduce_mean(self.loss_fn(y_target, left_proba))
        grads = tape.gradient(loss, self.model.trainable_variables)
        return action, grads

    # -- the pieces the equivalence tests drive -------------------------------
    def proba_left(self, obs):
        return self.model(np.asarray(obs, np.float32)).numpy()[:, 0]

    forward = proba_left

    def step_gradients(self, obs, action=None):
        a, grads = self.play_one_step_grads(np.asarray(obs, np.float32), action)
        return a.numpy().astype(np.int64), [g.numpy() for g in grads]

    def book_gradient(self, all_final_rewards, all_grads):
        """The book's mean over every step of every episode of final_reward * gradient."""
        all_mean_grads = []
        for var_index in range(len(self.model.trainable_variables)):
            mean_grads = tf.reduce_mean(
                [final_reward * all_grads[episode_index][step][var_index]
                 for episode_index, final_rewards in enumerate(all_final_rewards)
                 for step, final_reward in enumerate(final_rewards)], axis=0)
            all_mean_grads.append(mean_grads)
        return [np.asarray(g) for g in all_mean_grads]



def play_one_step(env, obs, agent):
    action, grads = agent.play_one_step_grads(obs)
    obs, reward, terminated, truncated, info = env.step(int(action[0, 0].numpy()))
    return obs, reward, terminated or truncated, grads


def play_multiple_episodes(env, n_episodes, n_max_steps, agent, seed=None):
    all_rewards, all_grads = [], []
    for episode in range(n_episodes):
        current_rewards, current_grads = [], []
        obs, info = env.reset(seed=seed if episode == 0 else None)
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
    env = make(cfg.env_id)
    returns, steps = [], 0
    for iteration in progress(range(cfg.iterations)):
        all_rewards, all_grads = play_multiple_episodes(
            env, cfg.episodes_per_update, cfg.max_steps, agent,
            seed=seed if iteration == 0 else None)
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
    env = make(cfg.env_id)
    predict = tf.function(agent.model)  # model.predict per step costs ~ms; same output
    totals, steps = [], 0
    for episode in range(cfg.eval_episodes):
        episode_rewards = 0.0
        obs, info = env.reset(seed=seed + 10_000 if episode == 0 else None)
        for step in range(cfg.max_steps):
            left_proba = float(predict(as_float_obs(obs))[0, 0])
            action = int(rng.random() > left_proba)
            obs, reward, terminated, truncated, info = env.step(action)
            episode_rewards += reward
            steps += 1
            if terminated or truncated:
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
