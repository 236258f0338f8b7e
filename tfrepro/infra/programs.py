"""The registry: the seven built-in programs, then users' own pairs (docs/own-program.md),
each a ``tfrepro.core.protocol.ProgramSpec``.

Where programs come from, in order: the built-ins below; the ``tfrepro.programs`` entry
points of installed distributions; the files named by ``--program-file`` (passed to worker
processes in ``TFREPRO_PROGRAM_FILES``). An entry point or file gives a ``ProgramSpec``, or
a module holding ``PROGRAM`` (one) or ``PROGRAMS`` (a list). A broken plug-in never breaks
the built-ins: its problem is raised, as one line, when its name is asked for."""
from __future__ import annotations

import hashlib
import importlib.util
import inspect
import os
import sys
import types
from dataclasses import replace

from ..core import configs
from ..core.errors import UsageError
from ..core.protocol import FRAMEWORKS, MODES, ProgramSpec, Timing, config_dict  # noqa: F401 (re-exported)

LOCKSTEP = ("book", "fast", "lockstep")
GROUP = "tfrepro.programs"  # the entry point group
FILES_VAR = "TFREPRO_PROGRAM_FILES"  # os.pathsep-separated program files, for worker processes

ADAM_PAIRING = "tf.train.AdamOptimizer (epsilon 1e-8) against Keras Adam with TF1's epsilon 1e-8"
ADAM_PORT_PAIRING = ("tf.train.AdamOptimizer (epsilon 1e-8) against the port's Keras Adam (Keras's "
                     "default epsilon 1e-7)")
ADAM = dict(tf2_optimizer="modern_tf2.common:adam_tf1_epsilon", pairing=ADAM_PAIRING,
            port_pairing=ADAM_PORT_PAIRING)


def builtin(name, module, config, source, source_number, **kw) -> ProgramSpec:
    kw.setdefault("modes", ("book", "fast"))
    return ProgramSpec(name, config, {"tf1": f"legacy_tf1.{module}", "tf2": f"modern_tf2.{module}"},
                       source=source, source_number=source_number, in_reproduce=True, **kw)


BUILTINS = {p.name: p for p in [
    builtin("basic-policy", "basic_policy", configs.BasicPolicyConfig,
            "Géron HOML ch. 18 (hard-coded policy)",
            "41.698 (3rd-ed. notebook, reset(seed=episode)); 42.0 printed in 2nd ed.", timing=Timing(fast_seconds=0.02),
            margin=2.1, margin_note="5% of the source's 41.698"),
    builtin("random-policy", "random_policy", configs.RandomPolicyConfig,
            "Tang ch. CartPole, nn_random_policy.py", "20-something", agent="RandomPolicy",
            outputs_label="action probabilities",
            numpy_policy="tfrepro.core.policies:relu_sampling", timing=Timing(fast_seconds=0.1),
            margin=1.2, margin_note="5% of 24.5, the middle of the source's 'twenty-something'"),
    builtin("imitation-policy", "imitation_policy", configs.ImitationConfig,
            "Tang ch. CartPole, nn_simple_policy.py", "42.3 and 44.3",
            modes=LOCKSTEP, lockstep_replays_fast=False, iterations_field="train_episodes", margin=2.2,
            lockstep_batch_invariant=("tf1", "tf2"),
            agent="ImitationPolicy", outputs_label="action probabilities", **ADAM,
            record_batch="tfrepro.core.batches:observation_steps",
            ladder_batches="tfrepro.core.batches:one_row_per_step",
            numpy_policy="tfrepro.core.policies:relu_sampling",
            timing=Timing(timed=False, fast_seconds=6.0, lockstep_seconds=(8.0, 0.5)),
            margin_note="5% of 43.3, the mean of the source's two runs (42.3 and 44.3)"),
    builtin("pg-tang", "pg_tang", configs.TangPGConfig,
            "Tang ch. CartPole, policy gradient", "about 200 (199.9)", target=190.0,
            modes=LOCKSTEP, iterations_field="iterations", margin=10.0,
            agent="PolicyGradient", outputs_label="action probabilities", **ADAM,
            record_batch="tfrepro.engines.reinforce:tang_steps", numpy_policy="tfrepro.core.policies:relu_sampling",
            timing=Timing(fast_seconds=5.0, lockstep_seconds=(10.0, 1.0), bench_warmup=2,
                          overrides={"test_episodes": 1},
                          bench_iterations={("quick", "book"): 100, ("quick", "fast"): 300,
                                            ("quick", "lockstep"): 100, ("full", "book"): 300,
                                            ("full", "fast"): 1000, ("full", "lockstep"): 1000},
                          speed_book_iterations=30, flops="policy"),
            margin_note="5% of the source's 200; collapsed runs (below 50) compared as a rate, at 10 points",
            collapse_below=50.0),
    builtin("pg-geron", "pg_geron", configs.GeronPGConfig,
            "Géron HOML 2nd ed. ch. 18, REINFORCE", "199.6 (2nd ed.), 190.3 (3rd ed.)",
            target=175.0, modes=LOCKSTEP, iterations_field="iterations", margin=10.0,
            agent="PolicyGradient", outputs_label="action probabilities", **ADAM,
            record_batch="tfrepro.engines.reinforce:geron_steps", numpy_policy="tfrepro.core.policies:elu_sampling",
            timing=Timing(fast_seconds=3.0, lockstep_seconds=(4.0, 0.4), bench_warmup=1,
                          overrides={"eval_episodes": 1},
                          bench_iterations={("quick", "book"): 10, ("quick", "fast"): 150,
                                            ("quick", "lockstep"): 30, ("full", "book"): 30,
                                            ("full", "fast"): 150, ("full", "lockstep"): 150},
                          flops="policy"),
            margin_note="5% of the source's 199.6 (2nd ed.)",
            variants={"book": {}, "notebook": configs.GERON_NOTEBOOK},
            variant_numbers={"notebook": "no mean reported; one rendered test episode of 491 steps"}),
    builtin("dqn-meertens", "dqn_meertens", configs.MeertensDQNConfig,
            "Meertens, intro to gym part 2: a deep Q-network",
            "no number: learns to compensate, then overcompensates and dies",
            modes=LOCKSTEP, iterations_field="frames", logdir=True, q_network=True, takeover=True,
            reproduce_variant="exercises", margin=20.0,
            agent="DQN", outputs_label="Q values", numpy_policy="tfrepro.core.policies:greedy_q_policy",
            pairing="tf.train.RMSPropOptimizer(1e-4) against modern_tf2.tf1_rmsprop.TF1RMSprop (TF1's "
                    "RMSProp as a Keras 3 optimizer)", curve_unit="episode",
            timing=Timing(fast_seconds=90.0, lockstep_seconds=(200.0, 8.0), bench_warmup=300,
                          overrides={"learn_after": 100, "test_episodes": 1},
                          bench_iterations={("quick", "book"): 3000, ("quick", "fast"): 3000,
                                            ("quick", "lockstep"): 1000, ("full", "book"): 10000,
                                            ("full", "fast"): 20000, ("full", "lockstep"): 20000},
                          speed_book_iterations=1500, speed_fast_iterations=20_000, flops="q-batch"),
            margin_note="no source number: 10% of CartPole-v0's 200-step cap, about half the "
                        "seed-to-seed standard deviation of the exercises variant (~35)",
            variants={"book": {}, "exercises": configs.MEERTENS_EXERCISES},
            variant_numbers={"exercises": "none (the exercises are left to the reader)"}),
    builtin("dqn-pylessons", "dqn_pylessons", configs.PylessonsDQNConfig,
            "pylessons, DQN CartPole (Keras 2.2.4 on TF 1.15)",
            "score 500 at episode 73; 16 of 20 test episodes at 500 (one run)",
            target=400.0, iterations_field="episodes", q_network=True, margin=50.0, quick_seeds=6,
            agent="DQNAgent", outputs_label="Q values", numpy_policy="tfrepro.core.policies:greedy_q_policy",
            pairing="Keras 2's RMSprop (tf-keras legacy, in a TF1 graph) against "
                    "modern_tf2.tf1_rmsprop.Keras2RMSprop",
            tf1_checkpoint_kinds=("TF1", "Keras 2"), model_files=("cartpole-dqn.h5", "model.keras"),
            timing=Timing(fast_seconds=37.0, bench_warmup=10, overrides={"train_start": 64, "test_episodes": 1},
                          bench_iterations={("quick", "book"): 8, ("quick", "fast"): 30,
                                            ("full", "book"): 25, ("full", "fast"): 60},
                          speed_book_iterations=25, speed_fast_iterations=60, flops="q-batch"),
            margin_note="10% of CartPole-v1's 500 the source reaches, about half the "
                        "seed-to-seed standard deviation (~110)",
            variants={"book": {}, "evaluated": configs.PYLESSONS_EVALUATED}, shared_runs={"evaluated": "book"},
            variant_numbers={"evaluated": "none (the source advises training on after the first 500)"}),
]}


def parse_entry(entry: str):
    """``NAME`` or ``NAME:VARIANT`` (as ``reproduce --programs`` takes them) ->
    (Program, variant or None); a bare name gets the program's ``reproduce_variant``."""
    name, _, given = entry.partition(":")
    prog = get(name)
    variant = given or prog.reproduce_variant
    if variant:
        prog.make_config(variant=variant)  # validates
    return prog, variant


def entry_label(name: str, variant) -> str:
    return f"{name}:{variant}" if variant and variant != "book" else name


_REGISTRY: dict = {}  # cache: key -> (programs, problems)


def _specs_of(obj, origin):
    """The ProgramSpecs an entry point or a program file gives."""
    if isinstance(obj, types.ModuleType):
        found = getattr(obj, "PROGRAMS", None) or [getattr(obj, "PROGRAM", None)]
        found = list(found.values()) if isinstance(found, dict) else list(found)
    else:
        found = list(obj) if isinstance(obj, (list, tuple)) else [obj]
    if not found or not all(isinstance(x, ProgramSpec) for x in found):
        raise UsageError(f"{origin}: gives no ProgramSpec (a module needs PROGRAM = ProgramSpec(...) or "
                         "PROGRAMS = [...])")
    return [replace(x, origin=origin) if x.origin == "built-in" else x for x in found]


def _source(obj):
    try:
        return os.path.realpath(inspect.getfile(obj))
    except (TypeError, OSError):
        return None


def load_program_file(path):
    """Import a program file under its own name, its directory first on ``sys.path`` (so that
    the forms it names, beside it, import too); returns its ProgramSpecs."""
    path = os.path.abspath(path)
    if not os.path.isfile(path) or not path.endswith(".py"):
        raise UsageError(f"--program-file {path}: no such Python file")
    folder, stem = os.path.split(path[:-3])
    module = sys.modules.get(stem)
    there = os.path.abspath(getattr(module, "__file__", "") or "") if module is not None else None
    if module is not None and there != path and there in program_files_loaded():
        return _load_in_package(path, folder, stem, there)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    if module is None or there != path:
        _LOADED.add(path)
        module = _exec_file(path, stem)
    return _specs_of(module, f"file {path}")


def _exec_file(path: str, name: str):
    """The module ``name`` from the file ``path``, in ``sys.modules``; a failure is one line."""
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise UsageError(f"--program-file {path}: cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except UsageError:
        raise
    except (Exception, SystemExit) as e:  # a user's file: any error (sys.exit too) is theirs, in one line
        del sys.modules[name]
        raise UsageError(f"--program-file {path}: {_why(e)}") from None
    return module


PLUGIN_PACKAGE = "tfrepro_plugin_"


def _load_in_package(path: str, folder: str, stem: str, there: str):
    """A second program file named like one already loaded (two folders' ``pair.py``): imported
    as ``stem`` inside a package of its own folder (``tfrepro_plugin_<hash>``, the folder its
    ``__path__``, never on ``sys.path``), so that its ``__package__``-relative forms
    (``f"{__package__}.a2c_tf1"``, as ``examples/a2c`` names them) and their relative imports
    (``from .pair import ...``) are its folder's. A form named from the top level would be the
    other folder's: refused in one line."""
    package = PLUGIN_PACKAGE + hashlib.sha256(folder.encode()).hexdigest()[:12]
    if package not in sys.modules:
        pkg = types.ModuleType(package)
        pkg.__path__ = [folder]
        pkg.__package__ = package
        sys.modules[package] = pkg
    name = f"{package}.{stem}"
    module = sys.modules.get(name)
    if module is None:
        _LOADED.add(path)
        module = _exec_file(path, name)
    specs = _specs_of(module, f"file {path}")
    for spec in specs:
        for framework, form in spec.forms.items():
            if not form.startswith(package + "."):
                raise UsageError(
                    f"--program-file {path}: another program file is named {stem}.py too ({there}), and this "
                    f"one's {framework} form {form!r} is named from the top level, where the other's would be "
                    f"found: name the forms from the file's package (f\"{{__package__}}.{form}\" when "
                    f"__package__ is set, as examples/a2c/a2c_example/pair.py does) or rename one file")
    return specs


_LOADED: set = set()


def _why(e: BaseException) -> str:
    """What a plug-in's failure at import says, in one line (``sys.exit(4)`` and ``SystemExit("msg")`` too)."""
    if isinstance(e, SystemExit):
        return f"exits at import (SystemExit: {str(e.code)[:200]})"
    return f"{type(e).__name__}: {str(e)[:300]}"


def program_files_loaded() -> set:
    return _LOADED


def _entry_points():
    try:
        from importlib.metadata import entry_points  # novermin (3.8+)
    except ImportError:  # pragma: no cover - Python 3.7, the TF 1.15 image
        try:
            import pkg_resources
        except ImportError:
            return []
        return list(pkg_resources.iter_entry_points(GROUP))
    found = entry_points()
    if hasattr(found, "select"):
        return list(found.select(group=GROUP))
    return list(found.get(GROUP, []))  # pragma: no cover - Python 3.8, 3.9


def program_files() -> list:
    return [f for f in os.environ.get(FILES_VAR, "").split(os.pathsep) if f]


def use_program_files(paths) -> None:
    """``--program-file``: check the files and name them to this process and its workers."""
    files = list(dict.fromkeys(os.path.abspath(p) for p in paths or []))
    for f in files:
        if not os.path.isfile(f):
            raise UsageError(f"--program-file {f}: no such file")
    before = os.environ.get(FILES_VAR)
    os.environ[FILES_VAR] = os.pathsep.join(dict.fromkeys(program_files() + files))
    try:
        registry()  # loads and checks them now: a bad file is an error before any work
    except BaseException:
        if before is None:  # a bad file is not left named to this process
            del os.environ[FILES_VAR]
        else:
            os.environ[FILES_VAR] = before
        raise


def registry() -> dict:
    """name -> ProgramSpec: the built-ins, the entry points' programs, the files' programs.
    An entry point's problem is recorded under its name (``problems()``) and raised when that
    name is asked for; a program file's problem is raised at once (the user named the file)."""
    key = os.environ.get(FILES_VAR, "")
    if key in _REGISTRY:
        return _REGISTRY[key][0]
    found, problems = dict(BUILTINS), {}

    def add(spec, origin):
        spec.check()
        same = found.get(spec.name)
        if same is not None and same.origin != "built-in" and _source(same.config) == _source(spec.config):
            return  # the same program twice (installed, and named by --program-file): one is enough
        if spec.name in found:
            raise UsageError(f"program {spec.name!r} from {origin} clashes with the one from "
                             f"{found[spec.name].origin}: rename one")
        found[spec.name] = spec

    for ep in _entry_points():
        origin = f"entry point {ep.name} = {ep.value}"
        try:
            for spec in _specs_of(ep.load(), origin):
                add(spec, origin)
        except UsageError as e:
            problems[ep.name] = str(e)
        except (Exception, SystemExit) as e:  # an installed plug-in that fails to import: not the built-ins'
            problems[ep.name] = f"{origin}: {_why(e)}"
    for path in program_files():
        for spec in load_program_file(path):
            add(spec, spec.origin)
    _REGISTRY[key] = (found, problems)
    return found


def problems() -> dict:
    """entry point name -> its one-line problem (a plug-in that failed to load)."""
    registry()
    return _REGISTRY[os.environ.get(FILES_VAR, "")][1]


def names(pred=None) -> list:
    return [n for n, p in registry().items() if pred is None or pred(p)]


_CHECKED: set = set()


def get(name: str) -> ProgramSpec:
    """The program ``name``; a plug-in's two forms are imported and checked against the
    protocol on first use (one line naming what is missing)."""
    progs = registry()
    if name in progs:
        spec = progs[name]
        if spec.origin != "built-in" and name not in _CHECKED:
            from .tfquiet import quiet_tensorflow

            quiet_tensorflow()  # the forms import TensorFlow here
            spec.check_forms()
            _CHECKED.add(name)
        return spec
    if name in problems():
        raise UsageError(problems()[name])
    raise UsageError(f"unknown program {name!r} (choose from: {', '.join(progs)})") from None


def margin_for(label: str):
    """(margin, note, collapse_below, rate_margin) of a row label NAME[:VARIANT][ (K it)], or
    None for a program without a declared margin."""
    name = label.split(" ")[0].split(":")[0]
    prog = registry().get(name)
    if prog is None or prog.margin is None:
        return None
    return prog.margin, prog.margin_note, prog.collapse_below, prog.rate_margin
