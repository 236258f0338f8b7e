"""Deep Q-learning for CartPole-v1, TF1 graph form.

Source: pylessons, "DQN CartPole" (written for TensorFlow 1.15 and Keras 2.2.4): a
functional Keras model 4-512-256-64-2 (ReLU, ``he_uniform``, linear outputs) named
'CartPole DQN model', MSE, ``RMSprop(lr=0.00025, rho=0.95, epsilon=0.01)``; a
``deque(maxlen=2000)`` memory; gamma 0.95; epsilon 1.0, times 0.999 per stored
transition once the memory holds more than 1000, down to 0.001; batch 64; per env step
``model.predict`` on the batch's states and next states, the Bellman target written into
the taken action's column, one ``model.fit``; reward -100 on failure except at the time
limit; ``model.save("cartpole-dqn.h5")`` and stop when an episode scores 500; greedy test
episodes of the saved model. The TF1 graph form (as published) is
``legacy_tf1/dqn_pylessons.py``, the TF2 port ``modern_tf2/dqn_pylessons.py``.
Code: https://github.com/pythonlessons/Reinforcement_Learning/blob/28e69162daee39f0c5cdb6d37f3a385b36a5a70b/01_CartPole-reinforcement-learning/Cartpole_DQN.py

What the port changes: nothing in this form, which keeps the source's Keras 2 under TF1
graph execution, not eager: Keras 2 here is tf-keras (the Keras 2 that TF 2.16+ no longer
ships as ``tf.keras``), building into this program's own ``tf.Graph`` and session; gym's
4-tuple API.

Deviations, each for a reason:
* ``fit(..., shuffle=False)``: the batch is one gradient step of 64 rows; shuffling would
  only reorder the rows inside it (and draw from NumPy's global RNG).
* Trap: a model name with spaces ('CartPole DQN model') breaks ``predict`` in tf-keras
  eager and in Keras 3, and calling the model on a new tensor in a TF1 graph ("not a
  valid root scope name"; the book's graph-mode ``predict`` still worked). Both forms
  name it 'CartPole_DQN_model'.
* ``self.env._max_episode_steps`` is private API; ``episode_limit(cfg)`` gives the same 500.
* Rendering every frame is left out (``--gif`` renders a test episode instead).
* The text mentions a Dropout layer; the code has none, and neither has either form.
* ``fast`` mode (not in the source): the target is computed in the graph, so one call per
  env step replaces two ``predict`` calls and a ``fit`` (a ``sess.run``; in the TF2 port
  one ``tf.function`` with ``GradientTape``, the loss Keras's "mse" over the target rows,
  as ``fit`` computes it); the agent acts from a NumPy copy of the weights that the same
  call returns.
* Trap: tf-keras's default ``RMSprop`` is the new optimizer (Keras >= 2.11). It silently
  drops ``lr=`` (the learning rate stays 0.001; ``compat_tests`` reads it back) and
  cannot run in a TF1 graph at all (no ``get_updates``). Keras 2.2.4's RMSprop is
  tf-keras's ``optimizers.legacy.RMSprop`` (accumulator from zeros, epsilon outside the
  square root; Keras 3's RMSprop puts it inside), given ``learning_rate=``.
"""
from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from legacy_tf1.common import Keras2Program, episode_limit, keras2, old_gym_env
from legacy_tf1.engines import FastPylessons
from tfrepro.core.configs import PylessonsDQNConfig
from tfrepro.core.envs import as_float_obs, q_trace_episode, run_episodes
from tfrepro.core.h5models import check_architecture, read_dense_model
from tfrepro.core.policies import greedy_q_policy, mlp_q
from tfrepro.core.protocol import RunResult
from tfrepro.core.replay import GreedyEvaluation, ReplayMemory, SharedRun, shared_config, stop_rule

MODEL_NAME = "CartPole_DQN_model"  # the source: 'CartPole DQN model' (see the trap)


def OurModel(input_shape, action_space, cfg: PylessonsDQNConfig):
    keras = keras2()
    X_input = keras.layers.Input(input_shape)
    X = X_input
    for units in cfg.hidden:  # 512, 256, 64
        X = keras.layers.Dense(units, activation="relu", kernel_initializer="he_uniform")(X)
    X = keras.layers.Dense(action_space, activation="linear", kernel_initializer="he_uniform")(X)
    model = keras.models.Model(inputs=X_input, outputs=X, name=MODEL_NAME)
    optimizer = keras.legacy_rmsprop(learning_rate=cfg.learning_rate, rho=cfg.rho, epsilon=cfg.rms_epsilon)
    model.compile(loss="mse", optimizer=optimizer, metrics=["accuracy"])
    return model


class DQNAgent(FastPylessons, Keras2Program):
    model_file = "cartpole-dqn.h5"  # self.save("cartpole-dqn.h5")

    def build(self, cfg: PylessonsDQNConfig):
        self.state_size, self.action_size = 4, 2
        self.memory = ReplayMemory(cfg.memory, seed=self.seed)  # deque(maxlen=2000)
        self.gamma = cfg.gamma  # discount rate
        self.epsilon = cfg.epsilon  # exploration rate
        self.model = OurModel((self.state_size,), self.action_size, cfg)

    # -- the source's methods ----------------------------------------------
    def remember(self, state, action, reward, next_state, done):
        self.memory.append(state[0], action, reward, done, next_state[0])
        if len(self.memory) > self.cfg.train_start:
            if self.epsilon > self.cfg.epsilon_min:
                self.epsilon *= self.cfg.epsilon_decay

    def act(self, state, rng, weights=None):
        if rng.random() <= self.epsilon:
            return int(rng.integers(self.action_size))  # random.randrange(self.action_size)
        if weights is not None:  # fast mode: the NumPy copy of the weights
            return int(np.argmax(mlp_q(weights, state)))
        return int(np.argmax(self.predict(state)))

    def replay(self, fast=False):
        if len(self.memory) < self.cfg.train_start:
            return None
        # random.sample(self.memory, batch_size) and the per-row unpacking loop
        batch = self.memory.sample(self.cfg.batch_size)
        if fast:
            return self.fast_update(batch)
        state, action, reward, done, next_state = batch
        return self.book_update(state, action, reward, next_state, done)

    # -- the two updates -----------------------------------------------------
    def predict(self, states):
        with self.keras_scope():
            return self.model.predict(np.asarray(states, np.float32), verbose=0)

    forward = predict

    def book_update(self, state, action, reward, next_state, done):
        """The source's replay body: two predicts, the target rows, one fit."""
        target = self.predict(state)
        target_next = self.predict(next_state)
        for i in range(len(action)):
            if done[i]:
                target[i][action[i]] = reward[i]
            else:
                target[i][action[i]] = reward[i] + self.gamma * (np.amax(target_next[i]))
        with self.keras_scope():
            self.model.fit(state, target, batch_size=self.cfg.batch_size, verbose=0, shuffle=False)
        return None

    # -- weights and files ----------------------------------------------------
    def restore(self, path):
        """``load_model("cartpole-dqn.h5")``: the Dense weights of a Keras 2 .h5 file."""
        path = self.model_path(path)
        _, _, weights = read_dense_model(path)
        check_architecture(path, weights, [v.shape.as_list() for v in self.params])
        self.set_weights(weights)


def train(agent: DQNAgent, cfg, seed, rng, progress=None, mode="book", on_step=None, stop=None):
    """``DQNAgent.run``: episodes until one scores ``solved_score`` (then save and stop) or
    the budget ends. Returns (scores, env steps, updates, solved episode or None).
    ``on_step(steps, weights)``, if given, is called after every env step (the
    ``evaluated`` variant's greedy evaluation); returning True stops training there.
    ``stop(rule, scores, steps, updates, episode)``, if given, is asked at each stopping
    point (rule "solved": an episode scored ``solved_score``; "evaluated": ``on_step`` said
    so) whether training ends there: one run serving both rules (``SharedRun``)."""
    fast = mode == "fast"
    weights = agent.weights() if fast else None
    env = old_gym_env(cfg.env_id)
    env.seed(seed)
    max_episode_steps = episode_limit(cfg)
    scores, steps, updates = [], 0, 0
    episodes = progress(range(cfg.episodes)) if progress else range(cfg.episodes)
    for e in episodes:
        state = as_float_obs(env.reset())
        done, i = False, 0
        while not done:
            action = agent.act(state, rng, weights)
            next_state, reward, done, _ = env.step(action)
            next_state = as_float_obs(next_state)
            if not done or i == max_episode_steps - 1:
                reward = reward
            else:
                reward = cfg.fail_reward
            agent.remember(state, action, reward, next_state, done)
            state = next_state
            i += 1
            steps += 1
            if done:
                scores.append(i)
                if i == cfg.solved_score and (stop is None or stop("solved", scores, steps, updates, e)):
                    return scores, steps, updates, e
            out = agent.replay(fast=fast)
            if len(agent.memory) >= cfg.train_start:
                updates += 1
                if fast:
                    weights = out[1]
            if on_step is not None and on_step(steps, weights if fast else agent.weights()) \
                    and (stop is None or stop("evaluated", scores, steps, updates, e)):
                return scores, steps, updates, e
    return scores, steps, updates, None


def test(agent: DQNAgent, cfg, seed, episodes, mode="book"):
    """``DQNAgent.test``: greedy episodes; returns (scores, Q values of the first episode)."""
    if mode == "fast":  # the same greedy policy, played on the vector env from NumPy weights
        weights = agent.weights()
        returns, _ = run_episodes(greedy_q_policy(weights), cfg.env_id, episodes,
                                  seed=seed + 10_000, max_steps=cfg.max_steps)
        _, first_q = q_trace_episode(lambda s: mlp_q(weights, s), cfg.env_id, seed + 10_000, cfg.max_steps)
        return [float(x) for x in returns], first_q
    env = old_gym_env(cfg.env_id)
    env.seed(seed + 10_000)
    limit, scores, first_q = episode_limit(cfg), [], []
    for e in range(episodes):
        state, done, i = as_float_obs(env.reset()), False, 0
        while not done and i < limit:
            q = agent.predict(state)
            if e == 0:
                first_q.append(q[0].tolist())
            next_state, reward, done, _ = env.step(int(np.argmax(q)))
            state = as_float_obs(next_state)
            i += 1
        scores.append(float(i))
    return scores, first_q


def run(cfg: PylessonsDQNConfig, *, mode="book", seed=0, save=None, load=None, progress=None, rng=None,
        also=None):
    """``also``: the config of a variant that differs from ``cfg`` in its stopping rule
    alone (``shared_config``): one training run then serves both, each variant's outputs
    those of its own run (``SharedRun``); the other variant's in ``RunResult.also``."""
    rng = rng if rng is not None else np.random.default_rng(seed)
    run_cfg = shared_config(cfg, also) if also is not None else cfg
    with DQNAgent(cfg, seed) as agent:
        if load:
            agent.restore(load)
        evaluate = GreedyEvaluation(run_cfg, seed) if run_cfg.eval_every else None
        t0 = time.perf_counter()

        def finish(rule, scores, steps, updates, solved):
            """The outputs of the run of ``rule``'s variant, stopped here."""
            c = also if also is not None and rule == stop_rule(also) else cfg
            train_wall = time.perf_counter() - t0
            if save and c is cfg:
                agent.save(save)
            eval_returns, q_trace = test(agent, c, seed, c.test_episodes, mode=mode)
            weights, lr = agent.weights(), agent.learning_rate()
            return RunResult(train_returns=scores, eval_returns=eval_returns, env_steps=steps + int(sum(eval_returns)),
                             train_env_steps=steps, updates=updates, episodes_per_iteration=1,
                             train_wall_s=train_wall, weights=weights, solved_episode=solved, learning_rate=lr,
                             q_trace=q_trace,
                             evaluations=[list(h) for h in evaluate.history] if c.eval_every else None,
                             finished_at=time.perf_counter())

        if also is None:
            return finish(None, *train(agent, cfg, seed, rng, progress=progress, mode=mode, on_step=evaluate))
        shared = SharedRun(finish)
        scores, steps, updates, _ = train(agent, run_cfg, seed, rng, progress=progress, mode=mode,
                                          on_step=evaluate, stop=shared)
        outs = shared.end(scores, steps, updates)
    return replace(outs[stop_rule(cfg)], also=outs[stop_rule(also)])
