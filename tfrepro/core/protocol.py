"""The program protocol: what a TF1 form and a TF2 form provide, for the seven built-in
programs and for a user's own pair alike (docs/own-program.md).

A *program* is a ``ProgramSpec``: a name, a config dataclass and two modules (its TF1 graph
form and its TF2 port), each with ``run(cfg, *, mode, seed, save, load, progress, rng)``
returning a ``RunResult``. A program with weights names its *agent* class, present in both
modules under one name and built as ``Agent(cfg, seed)``; the tools (``diff``, ``convert``,
``drift``) use it only through the ``Agent`` protocol below: weights in, weights out, a
forward pass, the loss and gradients on a batch, one optimizer step, checkpoints, ``with``.

Batches come in two shapes, one field order each:
``Transitions(states, actions, rewards, terminals, next_states)`` (every off-policy
program, both DQNs) and ``Steps(states, actions, weights)`` (on-policy steps with their
advantages; imitation's observations).

Framework-free, and Python 3.7 syntax: the TF1 forms import it in the TF 1.15 image.
"""
from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any, List, NamedTuple, Optional

import numpy as np

from .errors import UsageError

try:
    from typing import Protocol, runtime_checkable  # novermin (3.8+; 3.7 gets the stand-ins)
except ImportError:  # pragma: no cover - Python 3.7, the TF 1.15 image
    Protocol = object  # type: ignore

    def runtime_checkable(cls):  # type: ignore
        return cls


MODES = ("book", "fast", "lockstep")
FRAMEWORKS = ("tf1", "tf2")
RUN_KEYWORDS = ("mode", "seed", "save", "load", "progress", "rng")


class Transitions(NamedTuple):
    """One off-policy batch; one field order for every program."""
    states: np.ndarray  # (B, 4) float32
    actions: np.ndarray  # (B,) int64
    rewards: np.ndarray  # (B,) float32, as the program stores them (a fail reward applied)
    terminals: np.ndarray  # (B,) bool
    next_states: np.ndarray  # (B, 4) float32

    @classmethod
    def of(cls, rows):
        """From rows ``(state, action, reward, terminal, next_state)``."""
        s, a, r, d, s2 = zip(*rows)
        return cls(np.asarray(s, np.float32), np.asarray(a, np.int64), np.asarray(r, np.float32),
                   np.asarray(d, bool), np.asarray(s2, np.float32))


class Steps(NamedTuple):
    """On-policy steps: states, the actions taken and each step's weight (its advantage)."""
    states: np.ndarray  # (T, 4) float32
    actions: np.ndarray  # (T,) int64
    weights: np.ndarray  # (T,) float32


Weights = List[np.ndarray]  # typing.List: the TF 1.15 image runs Python 3.7


def shapes_map(a, b) -> bool:
    """Whether a weight of shape ``a`` in one form holds the same numbers as one of shape ``b``
    in the other: equal once axes of size 1 are dropped (a TF1 bias ``[1, n]`` and a Keras
    bias ``[n]``). ``weights()`` lists go across forms reshaped (``as_shape``)."""
    return tuple(d for d in a if d != 1) == tuple(d for d in b if d != 1)


def as_shape(value, shape):
    """``value`` reshaped to ``shape`` where the two map (``shapes_map``), else unchanged."""
    value = np.asarray(value)
    shape = tuple(int(d) for d in shape)
    return value.reshape(shape) if value.shape != shape and shapes_map(value.shape, shape) else value


@dataclass
class RunResult:
    """What a program's ``run`` returns (``run_lockstep``: one per seed); the runner turns it
    into the result record (``tfrepro.infra.runner``)."""
    train_returns: list  # one return per training episode
    eval_returns: list  # one return per test episode
    env_steps: int  # environment steps, training and test
    train_env_steps: int = 0  # environment steps of training alone
    updates: int = 0  # optimizer steps
    episodes_per_iteration: int = 1  # training episodes per update (a learning curve's x unit)
    train_wall_s: float = 0.0  # seconds of training
    weights: Optional[list] = None  # the final weights, in the program's canonical order
    losses: Optional[list] = None  # (frame, loss) pairs, where the program logs them
    q_trace: Optional[list] = None  # Q values per frame of the first test episode (DQNs)
    takeover: Optional[dict] = None  # the takeover episode (dqn-meertens --takeover)
    lockstep_seeds: Optional[int] = None  # the seeds trained beside it (lockstep mode)
    solved_episode: Optional[int] = None  # dqn-pylessons: the episode its stopping rule ended
    learning_rate: Optional[float] = None  # dqn-pylessons: the optimizer's rate at the end
    evaluations: Optional[list] = None  # dqn-pylessons:evaluated: (episode, mean) per evaluation
    finished_at: Optional[float] = None  # perf_counter at its end (a shared run's second record)
    also: Optional[RunResult] = None  # the other variant of a shared run (``run(..., also=)``)

    @classmethod
    def of(cls, out, origin: str = "run") -> RunResult:
        """``out`` as a RunResult: itself, or a dict of its fields (a plug-in's ``run`` may
        return either); an unknown or missing key is a one-line ``UsageError``."""
        if isinstance(out, cls):
            return out
        if not isinstance(out, dict):
            raise UsageError(f"{origin} returned {type(out).__name__}, not a RunResult")
        unknown = sorted(set(out) - {f.name for f in fields(cls)})
        missing = [k for k in ("train_returns", "eval_returns", "env_steps") if k not in out]
        if unknown or missing:
            said = ([f"unknown {', '.join(unknown)}"] if unknown else []) + (
                [f"missing {', '.join(missing)}"] if missing else [])
            raise UsageError(f"{origin} returned a dict that is not a RunResult: {'; '.join(said)}")
        also = out.get("also")
        return cls(**dict(out, also=cls.of(also, origin) if also is not None else None))


RECORD_SCHEMA = "tfrepro.result/1"


@dataclass
class RunRecord:
    """The result record a ``RunResult`` becomes (``tfrepro.infra.runner``): one run's JSON
    file, ``as_dict()``, with the run's identity, its numbers and where it ran. An optional
    field is in the file only when set; ``weights`` only in memory (``keep_weights``), as
    ``_weights``. ``tfrepro.infra.records.validate`` checks a file against these fields."""
    program: str
    framework: str  # "tf1" or "tf2"
    mode: str  # "book", "fast" or "lockstep"
    seed: int
    env_id: str
    variant: str  # "book" unless a variant was asked for
    config: dict  # the config's fields
    eval_returns: list  # one return per test episode
    eval_mean: float
    eval_std: float
    eval_min: float
    eval_max: float
    train_returns: list  # one return per training episode
    episodes_per_iteration: int
    env_steps: int
    train_env_steps: int
    updates: int
    wall_s: float  # the run's seconds (a lockstep batch's shared out over its seeds)
    train_wall_s: float
    versions: dict  # Python, TensorFlow, Keras, NumPy, gymnasium...
    cpu: str  # the CPU's model name
    created: str  # UTC, ISO 8601
    command: list  # the command line's arguments
    schema: str = RECORD_SCHEMA
    losses: Optional[list] = None  # [frame, loss] pairs
    solved_episode: Optional[int] = None
    learning_rate: Optional[float] = None
    evaluations: Optional[list] = None
    takeover: Optional[dict] = None
    q_trace: Optional[list] = None
    weights: Optional[list] = None  # in memory only, as ``_weights``

    def as_dict(self) -> dict:
        """The record as its file holds it: ``schema`` first, then the fields in order, the
        optional ones only when set."""
        out: dict = {"schema": self.schema}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "schema" or (value is None and f.default is None):
                continue
            out["_weights" if f.name == "weights" else f.name] = value
        return out


@runtime_checkable
class Agent(Protocol):
    """What ``diff`` rungs 1-2 and ``convert`` use: weights, a forward pass, checkpoints."""

    def variable_names(self) -> list[str]: ...  # trainable variables, in creation order
    def weights(self) -> Weights: ...
    def set_weights(self, values: Sequence[np.ndarray]) -> None: ...
    def forward(self, obs: np.ndarray) -> Any: ...  # an array, or a list of arrays (several heads)
    def save(self, directory: str) -> str: ...  # returns the file written
    def restore(self, path: str) -> None: ...
    def close(self) -> None: ...
    def __enter__(self) -> Any: ...
    def __exit__(self, *exc) -> Any: ...


@runtime_checkable
class TrainableAgent(Agent, Protocol):
    """What ``diff`` rungs 3-4 add: the loss and gradients on a batch without an update, and
    one update on a batch. Both return ``(loss or None, arrays)``: gradients, then the
    weights after the update. An agent whose TF2 optimizer can be swapped for the ladder's
    pairing also has ``use_optimizer(optimizer)``."""

    def loss_and_gradients(self, batch) -> tuple[float | None, Weights]: ...
    def fast_update(self, batch) -> tuple[float | None, Weights]: ...


class AgentBase:
    """The context manager every agent shares: ``with Agent(cfg, seed) as agent:`` closes it."""

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


@dataclass(frozen=True)
class Timing:
    """How ``bench`` and ``speed`` time a program and what a run costs in the progress
    estimates. Every field has a default: a program with no ``Timing`` is timed by ``bench``
    at a tenth of its config's iterations, 2 warm-up iterations, its config unchanged."""
    timed: bool = True  # bench and speed time it (when it trains)
    fast_seconds: float = 3.0  # one fast run's seconds, two at a time on 2 cores (progress)
    lockstep_seconds: tuple[float, float] | None = None  # (per process, per seed)
    bench_iterations: dict = field(default_factory=dict)  # {(suite, mode): iterations}
    bench_warmup: int = 2  # iterations run untimed first (kernels, imports)
    overrides: dict = field(default_factory=dict)  # config fields set while timing
    speed_book_iterations: int = 3  # `tfrepro speed` book loop
    speed_fast_iterations: int | None = None  # None: the config's own
    # `speed`'s FLOP count of an env step's update: "policy" (one-hidden-layer policy network,
    # one update per episode step) or "q-batch" (Q network updated on cfg.batch_size
    # transitions per frame), from cfg.hidden; None: not counted
    flops: str | None = None

    def bench_iterations_for(self, suite, mode, cfg, iterations_field) -> int:
        own = self.bench_iterations.get((suite, mode))
        return own if own is not None else max(1, int(getattr(cfg, iterations_field)) // 10)


def _resolve(ref):
    """A callable from ``"module:attribute"`` (imported on first use), or ``ref`` itself."""
    if ref is None or callable(ref):
        return ref
    module, _, attr = str(ref).partition(":")
    try:
        obj = importlib.import_module(module)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as e:
        raise UsageError(f"hook {ref!r}: {e}") from None
    return obj


NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


@dataclass(frozen=True)
class ProgramSpec:
    """A program: required ``name``, ``config`` and ``forms``; the rest has defaults.

    ``forms``: {"tf1": module, "tf2": module}, importable dotted names. ``agent``: the class
    name in both (None: no weights, so no ``diff`` rungs, ``convert`` or ``--save``).
    ``iterations_field``: the config field ``--iterations`` sets (None: does not train).
    Hooks are callables or ``"module:attribute"`` strings (imported on first use)."""
    name: str
    config: type  # a dataclass with an ``env_id`` field
    forms: dict
    agent: str | None = None
    source: str = ""
    source_number: str = "none"  # what the source reports, as text
    variant_numbers: dict = field(default_factory=dict)  # source's number per variant
    target: float | None = None  # the level a parity test holds both forms to
    iterations_field: str | None = None
    modes: tuple = ("fast",)  # the modes both forms implement
    # lockstep: each seed draws what its lone fast run draws (False where the lone run draws
    # inside the framework, so that lockstep runs are compared with fast runs over seeds)
    lockstep_replays_fast: bool = True
    # the forms whose lockstep records are the same whatever seeds share the batch (measured and
    # tested over full-length runs; docs/lockstep.md). Another form runs its seeds in fixed
    # blocks of ``lockstep_block`` (seed s beside seeds s - s % B ... s - s % B + B - 1, always),
    # so that a seed's record never depends on what else was asked for; a record names its
    # batch, and ``tfrepro rerun`` runs that batch again
    lockstep_batch_invariant: tuple = ()
    lockstep_block: int = 30
    in_reproduce: bool = False  # part of `tfrepro reproduce` by default (the built-ins)
    quick_seeds: int = 30  # seeds per form in reproduce's quick tier
    reproduce_variant: str | None = None  # the variant `reproduce` runs (None: the book's)
    logdir: bool = False  # writes TensorBoard summaries (--logdir)
    q_network: bool = False  # acts greedily on Q values instead of sampling
    takeover: bool = False  # supports --takeover
    variants: dict = field(default_factory=dict)  # name -> config overrides
    # variant -> the variant whose record a run of it also gives (its ``run(..., also=cfg)``):
    # two variants that differ in their stopping rule alone, served by one training run
    shared_runs: dict = field(default_factory=dict)
    # Equivalence margin (reward points), declared with its argument, never fitted to data
    margin: float | None = None
    margin_note: str = ""
    collapse_below: float | None = None  # runs below it collapsed: compared as a rate
    rate_margin: float = 0.10
    # the ladder's hooks: the defaults give rungs 1-4 from the agents alone
    record_batch: Any = "tfrepro.core.batches:random_transitions"  # (spec, cfg, agent, seed) -> (batch, text)
    ladder_batches: Any = "tfrepro.core.batches:same_batch"  # (batch, steps) -> one batch per step
    ladder_batch_size: int | None = None  # None: cfg.batch_size if the config has one, else 64
    tf2_optimizer: Any = None  # cfg -> the Keras optimizer that matches TF1's (rung 4's pairing)
    pairing: str = ""  # rung 4's text for the pairing
    port_pairing: str = ""  # the same with the port's own optimizer (diff --port-optimizer)
    outputs_label: str = "outputs"  # rung 2's text for what forward() returns
    numpy_policy: Any = None  # weights -> policy(obs, rng) -> actions (run --gif)
    curve_unit: str = "iteration"  # the x axis of learning curves
    tf1_checkpoint_kinds: tuple = ("TF1",)  # what `inspect` calls the TF1 form's checkpoints
    model_files: tuple = ("model.keras", "model.ckpt.index", "checkpoint")  # what --save writes
    timing: Timing = Timing()
    origin: str = "built-in"  # where the spec came from (a file, an entry point)

    @property
    def has_model(self) -> bool:
        return self.agent is not None

    @property
    def trains(self) -> bool:
        return self.iterations_field is not None

    @property
    def timed(self) -> bool:
        """``bench`` and ``speed`` time its loops."""
        return self.trains and self.timing.timed

    def number_for(self, variant=None) -> str:
        return self.variant_numbers.get(variant, self.source_number)

    def form(self, framework: str):
        """The module of one form, imported on first use (TensorFlow loads here)."""
        name = self.forms[framework]
        try:
            return importlib.import_module(name)
        except Exception as e:  # a plug-in's import error is one line; a built-in's is a bug: raised
            missing = isinstance(e, ImportError) and e.name and (name == e.name or name.startswith(e.name + "."))
            if missing or self.origin != "built-in":
                raise UsageError(f"{self.name} ({self.origin}): cannot import its {framework} form "
                                 f"{name!r}: {type(e).__name__}: {e}") from None
            raise

    def agent_class(self, framework: str):
        module = self.form(framework)
        cls = getattr(module, self.agent or "", None)
        if cls is None:
            raise UsageError(f"{self.name} ({self.origin}): {module.__name__} has no agent class "
                             f"{self.agent!r}")
        return cls

    def make_agent(self, framework: str, cfg, seed: int):
        return self.agent_class(framework)(cfg, seed)

    def hook(self, name: str):
        return _resolve(getattr(self, name))

    def batch_size(self, cfg) -> int:
        return self.ladder_batch_size or getattr(cfg, "batch_size", None) or 64

    def make_config(self, env_id=None, iterations=None, variant=None):
        cfg = self.config()
        if variant:
            if variant not in self.variants:
                raise UsageError(f"{self.name} has no variant {variant!r} "
                                 f"(choose from: {', '.join(self.variants) or 'none'})")
            cfg = replace(cfg, **self.variants[variant])
        if env_id:
            cfg = replace(cfg, env_id=env_id)
        if iterations is not None:
            if not self.iterations_field:
                raise UsageError(f"{self.name} does not train: --iterations does not apply")
            cfg = replace(cfg, **{self.iterations_field: iterations})
        return cfg

    def check(self) -> ProgramSpec:
        """The spec's own consistency (nothing imported): raises one UsageError naming the
        first problem."""
        where = f"program {self.name!r} ({self.origin})"
        if not isinstance(self.name, str) or not NAME.match(self.name):
            raise UsageError(f"{where}: a name is lowercase letters, digits, '-' and '_'")
        try:
            names = [f.name for f in fields(self.config)]
        except TypeError:
            raise UsageError(f"{where}: config {self.config!r} is not a dataclass") from None
        if "env_id" not in names:
            raise UsageError(f"{where}: config {self.config.__name__} has no env_id field")
        if self.iterations_field and self.iterations_field not in names:
            raise UsageError(f"{where}: iterations_field {self.iterations_field!r} is not a field of "
                             f"{self.config.__name__}")
        if not isinstance(self.forms, dict) or set(self.forms) != set(FRAMEWORKS):
            raise UsageError(f"{where}: forms must name a tf1 and a tf2 module, e.g. "
                             "{'tf1': 'my_tf1', 'tf2': 'my_tf2'}")
        bad = [m for m in self.modes if m not in MODES]
        if bad or not self.modes:
            raise UsageError(f"{where}: modes {list(self.modes)} (choose from: {', '.join(MODES)})")
        for variant, overrides in self.variants.items():
            unknown = [k for k in overrides if k not in names]
            if unknown:
                raise UsageError(f"{where}: variant {variant!r} sets unknown fields {unknown}")
        return self

    def check_forms(self) -> None:
        """Import both forms and check what the tools call: ``run`` with the runner's
        keywords, ``run_lockstep`` if lockstep is a mode, the agent class and its methods."""
        where = f"{self.name} ({self.origin})"
        for fw in FRAMEWORKS:
            module = self.form(fw)
            run = getattr(module, "run", None)
            if not callable(run):
                raise UsageError(f"{where}: {module.__name__} has no run(cfg, *, mode, seed, save, load, "
                                 "progress, rng)")
            params = inspect.signature(run).parameters
            takes_all = any(p.kind == p.VAR_KEYWORD for p in params.values())
            missing = [k for k in RUN_KEYWORDS if k not in params and not takes_all]
            if missing:
                raise UsageError(f"{where}: {module.__name__}.run does not take {', '.join(missing)} "
                                 "(it is called as run(cfg, mode=, seed=, save=, load=, progress=, rng=))")
            if "lockstep" in self.modes and not callable(getattr(module, "run_lockstep", None)):
                raise UsageError(f"{where}: lockstep is a mode but {module.__name__} has no run_lockstep")
            if self.agent:
                cls = self.agent_class(fw)
                need = [m for m in ("variable_names", "weights", "set_weights", "forward", "save",
                                    "restore", "close", "__enter__", "__exit__")
                        + (("loss_and_gradients", "fast_update") if self.trains else ())
                        if not callable(getattr(cls, m, None))]
                defaults = [c for c in cls.__mro__ if c.__name__ == "KerasProgram"]
                if self.trains and defaults and cls.loss is defaults[0].loss and (
                        cls.loss_and_gradients is defaults[0].loss_and_gradients
                        or cls.fast_update is defaults[0].fast_update):
                    need.append("loss(self, batch)")
                if need:
                    raise UsageError(f"{where}: {module.__name__}.{self.agent} lacks {', '.join(need)} "
                                     "(docs/own-program.md lists the agent protocol)")


def config_dict(cfg) -> dict:
    return {f.name: getattr(cfg, f.name) for f in fields(cfg)}
