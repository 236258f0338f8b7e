"""One typed config per program, holding the source's defaults.

Both forms of a program (``legacy_tf1/x.py`` and ``modern_tf2/x.py``) read the same
config, so a hyperparameter can never differ between them by accident. Each field
names where its value comes from. Units are in the names or comments.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class BasicPolicyConfig:
    """Géron's hard-coded policy: push toward the side the pole leans to."""

    env_id: str = "CartPole-v1"  # HOML 2nd/3rd ed. notebooks
    episodes: int = 500  # "for episode in range(500)"
    max_steps: int = 200  # "for step in range(200)" (steps per episode)


@dataclass
class RandomPolicyConfig:
    """Tang, nn_random_policy.py: an untrained 4-4-1 network sampling actions."""

    env_id: str = "CartPole-v0"  # gym.make("CartPole-v0")
    hidden: int = 4  # tf.layers.dense(inputs, 4, activation=tf.nn.relu)
    episodes: int = 1000  # "for _ in range(1000)" (test episodes)
    max_steps: int = 0  # 0: the environment's own limit (200 on v0)


@dataclass
class ImitationConfig:
    """Tang, nn_simple_policy.py: a 4-4-1 network trained to imitate the basic policy."""

    env_id: str = "CartPole-v0"
    hidden: int = 4
    learning_rate: float = 0.01  # tf.train.AdamOptimizer(0.01)
    train_episodes: int = 1000  # "for _ in range(1000)", one Adam step per env step
    test_episodes: int = 1000  # second "for _ in range(1000)"
    max_steps: int = 0


@dataclass
class TangPGConfig:
    """Tang, nn_pg.py: REINFORCE, one episode per update."""

    env_id: str = "CartPole-v0"
    hidden: int = 4
    learning_rate: float = 0.05  # learning_rate = 0.05
    discount_rate: float = 0.95  # discount_rate = 0.95
    iterations: int = 1000  # "for _ in range(1000)" (episodes = updates)
    test_episodes: int = 100  # "for _ in range(100)"
    max_steps: int = 0


@dataclass
class GeronPGConfig:
    """Géron, HOML 2nd ed. ch. 18: REINFORCE, 10 episodes per update."""

    env_id: str = "CartPole-v1"  # gym.make("CartPole-v1")
    hidden: int = 5  # keras.layers.Dense(5, activation="elu")
    learning_rate: float = 0.01  # keras.optimizers.Adam(lr=0.01)
    discount_rate: float = 0.95  # discount_rate = 0.95
    iterations: int = 150  # n_iterations = 150 (updates)
    episodes_per_update: int = 10  # n_episodes_per_update = 10
    max_steps: int = 200  # n_max_steps = 200 (500 in the gymnasium notebook)
    eval_episodes: int = 100  # not in the book: our evaluation protocol


# The gymnasium notebook (TF 2.17) runs Géron's program on 500-step episodes.
GERON_NOTEBOOK = dict(env_id="CartPole-v1", max_steps=500)


@dataclass
class MeertensDQNConfig:
    """Meertens, "Introduction to OpenAI gym part 2: building a deep q-network"."""

    env_id: str = "CartPole-v0"  # gym.make('CartPole-v0')
    hidden: tuple = (16, 32, 8)  # 4 -> 16 -> 32 -> 8 -> 2, ReLU except the last
    init_stddev: float = 0.35  # tf.random_normal(..., stddev=0.35); biases tf.zeros
    learning_rate: float = 1e-4  # tf.train.RMSPropOptimizer(0.0001)
    gamma: float = 0.9  # GAMMA = 0.9
    batch_size: int = 32  # BATCH_SIZE = 32
    memory: int = 30_000  # MAX_LEN_REPLAY_MEMORY = 30000 (transitions)
    frames: int = 300_001  # FRAMES_TO_PLAY = 300001 (env steps)
    learn_after: int = 1000  # MIN_FRAMES_FOR_LEARNING = 1000 (frames)
    summary_every: int = 100  # add_summary when i_epoch % 100 == 1 (frames)
    # The source's exercises, off by default (the source acts at random throughout):
    epsilon_greedy: bool = False  # epsilon-greedy with linear annealing
    epsilon_start: float = 1.0
    epsilon_end: float = 0.05
    epsilon_anneal_frames: int = 50_000
    target_sync_every: int = 0  # frames between target-network syncs; 0 = no target network
    test_episodes: int = 20  # greedy test episodes after training (not in the source)
    max_steps: int = 0  # 0: the environment's own limit (200 on v0)


# Settings of the source's exercises under which the agent learns to balance.
MEERTENS_EXERCISES = dict(epsilon_greedy=True, target_sync_every=1000)


@dataclass
class PylessonsDQNConfig:
    """pylessons, "DQN CartPole" (Keras 2.2.4 on TF 1.15)."""

    env_id: str = "CartPole-v1"  # gym.make('CartPole-v1'), 500-step episodes
    hidden: tuple = (512, 256, 64)  # Dense 512, 256, 64, ReLU, he_uniform; 2 linear outputs
    learning_rate: float = 0.00025  # RMSprop(lr=0.00025, ...): honoured here (see the trap)
    rho: float = 0.95  # RMSprop(..., rho=0.95, ...)
    rms_epsilon: float = 0.01  # RMSprop(..., epsilon=0.01)
    gamma: float = 0.95  # self.gamma = 0.95
    epsilon: float = 1.0  # self.epsilon = 1.0 (exploration rate)
    epsilon_min: float = 0.001  # self.epsilon_min = 0.001
    epsilon_decay: float = 0.999  # per stored transition, once memory > train_start
    batch_size: int = 64  # self.batch_size = 64
    memory: int = 2000  # deque(maxlen=2000)
    train_start: int = 1000  # no replay before 1000 stored transitions
    episodes: int = 1000  # self.EPISODES = 1000 (training budget)
    fail_reward: float = -100.0  # reward on failure, except at the time limit
    solved_score: int = 500  # "if i == 500": save the model and stop training (0: never)
    test_episodes: int = 20  # the source's 20 test episodes of the saved model
    max_steps: int = 0  # 0: the environment's own limit (500 on v1)
    # Not in the source: stop when a greedy evaluation passes instead (0: off).
    eval_every: int = 0  # env steps between greedy evaluations
    eval_episodes: int = 10
    eval_threshold: float = 475.0  # stop when the evaluation mean reaches this


# The source advises training on after the first 500 ("I recommend not turning off training
# at first save"): this variant trains until 10 greedy episodes average >= 475 instead,
# checked every 1000 env steps, within the same 1000-episode budget.
PYLESSONS_EVALUATED = dict(solved_score=0, eval_every=1000)
