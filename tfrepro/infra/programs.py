"""The registry: every program, where its two forms live, its config and the source's number."""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field, fields, replace

from ..core import configs
from ..core.errors import UsageError

FRAMEWORKS = ("tf1", "tf2")
MODES = ("book", "fast", "lockstep")
# book: the source's loop; fast: the same math with fewer framework calls; lockstep: the fast
# runs of many seeds in one process, their updates in one batched call (same math per seed)
LOCKSTEP = ("book", "fast", "lockstep")
PACKAGES = {"tf1": "legacy_tf1", "tf2": "modern_tf2"}


@dataclass(frozen=True)
class Program:
    name: str
    module: str  # file name shared by legacy_tf1/ and modern_tf2/
    config: type
    source: str
    source_number: str  # what the source reports, as text
    target: float | None = None  # the level a parity test holds both forms to
    iterations_field: str | None = None  # the config field --iterations sets
    has_model: bool = True  # has weights: --save, --load, checkpoints
    modes: tuple = ("book", "fast")  # the modes both forms implement
    # lockstep: each seed draws what its lone fast run draws (its run is the lone run, float
    # rounding of the batched ops apart); False where the lone run draws inside the framework
    # (imitation-policy), so that lockstep runs are compared with fast runs over seeds
    lockstep_replays_fast: bool = True
    in_reproduce: bool = True  # part of `tfrepro reproduce` by default
    quick_seeds: int = 30  # seeds per form in reproduce's quick tier (its default: ~10 min on 2 cores)
    reproduce_variant: str | None = None  # the variant `reproduce` runs (None: the book's)
    logdir: bool = False  # writes TensorBoard summaries (--logdir)
    q_network: bool = False  # acts greedily on Q values (DQN) instead of sampling
    takeover: bool = False  # supports --takeover (a helper answers when max Q drops)
    variants: dict = field(default_factory=dict)
    variant_numbers: dict = field(default_factory=dict)  # source's number per variant
    # Equivalence margin (reward points): two sets of runs whose mean rewards differ by less
    # are `equivalent` once a test says so. Declared here, beside the source's number, with
    # the argument for it; never fitted to data. None: no declared margin.
    margin: float | None = None
    margin_note: str = ""
    # Outcomes with two modes: runs scoring below this collapsed (a policy that always pushes
    # one way scores ~9); their rate is compared on its own, at `rate_margin` (a difference
    # of rates), and the means only over the runs that did not collapse.
    collapse_below: float | None = None
    rate_margin: float = 0.10

    def number_for(self, variant=None) -> str:
        return self.variant_numbers.get(variant, self.source_number)

    def form(self, framework: str):
        """The module of one form, imported on first use (TensorFlow loads here)."""
        return importlib.import_module(f"{PACKAGES[framework]}.{self.module}")

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


PROGRAMS = {p.name: p for p in [
    Program("basic-policy", "basic_policy", configs.BasicPolicyConfig,
            "Géron HOML ch. 18 (hard-coded policy)",
            "41.698 (3rd-ed. notebook, reset(seed=episode)); 42.0 printed in 2nd ed.",
            has_model=False, margin=2.1, margin_note="5% of the source's 41.698"),
    Program("random-policy", "random_policy", configs.RandomPolicyConfig,
            "Tang ch. CartPole, nn_random_policy.py", "20-something", has_model=True,
            margin=1.2, margin_note="5% of 24.5, the middle of the source's 'twenty-something'"),
    Program("imitation-policy", "imitation_policy", configs.ImitationConfig,
            "Tang ch. CartPole, nn_simple_policy.py", "42.3 and 44.3",
            modes=LOCKSTEP, lockstep_replays_fast=False, iterations_field="train_episodes", margin=2.2,
            margin_note="5% of 43.3, the mean of the source's two runs (42.3 and 44.3)"),
    Program("pg-tang", "pg_tang", configs.TangPGConfig,
            "Tang ch. CartPole, policy gradient", "about 200 (199.9)", target=190.0,
            modes=LOCKSTEP, iterations_field="iterations", margin=10.0,
            margin_note="5% of the source's 200; collapsed runs (below 50) compared as a rate, at 10 points",
            collapse_below=50.0),
    Program("pg-geron", "pg_geron", configs.GeronPGConfig,
            "Géron HOML 2nd ed. ch. 18, REINFORCE", "199.6 (2nd ed.), 190.3 (3rd ed.)",
            target=175.0, modes=LOCKSTEP, iterations_field="iterations", margin=10.0,
            margin_note="5% of the source's 199.6 (2nd ed.)",
            variants={"book": {}, "notebook": configs.GERON_NOTEBOOK},
            variant_numbers={"notebook": "no mean reported; one rendered test episode of 491 steps"}),
    Program("dqn-meertens", "dqn_meertens", configs.MeertensDQNConfig,
            "Meertens, intro to gym part 2: a deep Q-network",
            "no number: learns to compensate, then overcompensates and dies",
            modes=LOCKSTEP, iterations_field="frames", logdir=True, q_network=True, takeover=True,
            reproduce_variant="exercises", margin=20.0, quick_seeds=8,
            margin_note="no source number: 10% of CartPole-v0's 200-step cap, about half the "
                        "seed-to-seed standard deviation of the exercises variant (~35)",
            variants={"book": {}, "exercises": configs.MEERTENS_EXERCISES},
            variant_numbers={"exercises": "none (the exercises are left to the reader)"}),
    Program("dqn-pylessons", "dqn_pylessons", configs.PylessonsDQNConfig,
            "pylessons, DQN CartPole (Keras 2.2.4 on TF 1.15)",
            "score 500 at episode 73; 16 of 20 test episodes at 500 (one run)",
            target=400.0, iterations_field="episodes", q_network=True, margin=50.0, quick_seeds=6,
            margin_note="10% of CartPole-v1's 500 the source reaches, about half the "
                        "seed-to-seed standard deviation (~110)",
            variants={"book": {}, "evaluated": configs.PYLESSONS_EVALUATED},
            variant_numbers={"evaluated": "none (the source advises training on after the first 500)"}),
]}


def parse_entry(entry: str):
    """``NAME`` or ``NAME:VARIANT`` (as ``reproduce --programs`` takes them) ->
    (Program, variant or None); a bare name gets the program's ``reproduce_variant``."""
    name, _, variant = entry.partition(":")
    prog = get(name)
    variant = variant or prog.reproduce_variant
    if variant:
        prog.make_config(variant=variant)  # validates
    return prog, variant


def entry_label(name: str, variant) -> str:
    return f"{name}:{variant}" if variant and variant != "book" else name


def get(name: str) -> Program:
    try:
        return PROGRAMS[name]
    except KeyError:
        raise UsageError(f"unknown program {name!r} (choose from: {', '.join(PROGRAMS)})") from None


def config_dict(cfg) -> dict:
    return {f.name: getattr(cfg, f.name) for f in fields(cfg)}


def margin_for(label: str):
    """(margin, note, collapse_below, rate_margin) of a row label NAME[:VARIANT][ (K it)], or
    None for a program without a declared margin."""
    name = label.split(" ")[0].split(":")[0]
    prog = PROGRAMS.get(name)
    if prog is None or prog.margin is None:
        return None
    return prog.margin, prog.margin_note, prog.collapse_below, prog.rate_margin
