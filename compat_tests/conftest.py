"""Shared fixtures. TensorFlow is quietened here the way the CLI does it."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest

from tfrepro.infra.tfquiet import quiet_tensorflow

quiet_tensorflow()

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def cli(tmp_path):
    """Run ``python -m tfrepro ARGS`` in a fresh process inside ``tmp_path``."""

    def run(*args, timeout=600):
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        return subprocess.run([sys.executable, "-m", "tfrepro", *map(str, args)], cwd=tmp_path,
                              capture_output=True, text=True, timeout=timeout, env=env)

    return run


@pytest.fixture
def cli_here(tmp_path, monkeypatch):
    """Run ``tfrepro ARGS`` in this process inside ``tmp_path`` (seconds faster than a fresh
    process: TensorFlow is already imported); returns what ``cli`` returns."""
    import contextlib
    import io

    from tfrepro import cli as _cli

    def run(*args):
        monkeypatch.chdir(tmp_path)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = _cli.main([str(a) for a in args])
            except SystemExit as e:
                code = e.code
        return subprocess.CompletedProcess(["tfrepro", *map(str, args)], code, out.getvalue(), err.getvalue())

    return run


class Pair(NamedTuple):
    """Both forms' agents of one program, the TF2 one holding the TF1 one's initial weights."""
    name: str
    spec: object  # its ProgramSpec
    cfg: object
    a: object  # the TF1 form's agent
    b: object  # the TF2 form's agent
    tf1: object  # the TF1 form's module
    tf2: object


def make_pair(name, cfg=None, tf1_seed=0, tf2_seed=1, matched_optimizer=False) -> Pair:
    """The one way the tests build a program's two agents (the registry names the class):
    ``matched_optimizer`` gives the TF2 agent the optimizer its spec pairs with TF1's (the
    ladder's rung 4); otherwise it keeps the port's own."""
    from tfrepro.infra import programs

    spec = programs.get(name)
    cfg = cfg if cfg is not None else spec.config()
    a, b = spec.make_agent("tf1", cfg, tf1_seed), spec.make_agent("tf2", cfg, tf2_seed)
    b.set_weights(a.weights())
    if matched_optimizer and spec.tf2_optimizer:
        b.use_optimizer(spec.hook("tf2_optimizer")(cfg))
    return Pair(name, spec, cfg, a, b, spec.form("tf1"), spec.form("tf2"))


def _with_model():
    from tfrepro.infra import programs

    return programs.names(lambda p: p.has_model)


@pytest.fixture(params=_with_model())
def pair(request):
    """Every program with weights (a module narrows it with ``indirect`` parametrisation)."""
    p = make_pair(request.param)
    with p.a, p.b:
        yield p


@pytest.fixture
def pair_factory():
    """``make_pair`` for tests that need fresh agents several times; all closed at the end."""
    made = []

    def make(name, **kw):
        p = make_pair(name, **kw)
        made.append(p)
        return p

    yield make
    for p in made:
        p.a.close()
        p.b.close()


@pytest.fixture
def obs_batch():
    """A fixed batch of CartPole-like observations (the one `tfrepro diff` uses)."""
    from tfrepro.infra.twins import observations

    return observations()


def read_json(path):
    return json.loads(Path(path).read_text())


# The longest tests, measured (`--durations`, two xdist workers): started first, so that the
# short ones fill the workers around them instead of one of them running alone at the end.
LONGEST_FIRST = (
    "test_parity.py::test_learning_parity[dqn-pylessons:evaluated+dqn-pylessons]",
    "test_parity.py::test_learning_parity[dqn-meertens:exercises]",
    "test_bench.py::test_matrix_orchestrates_bench_per_environment_and_reports",
    "test_bench.py::test_bench_writes_a_versioned_results_file",
    "test_determinism.py::test_same_seed_same_result[imitation-policy-tf2-book]",
    "test_parity.py::test_learning_parity[pg-tang]",
)


@pytest.hookimpl(trylast=True)  # after pytest-xdist's own (it marks the groups)
def pytest_collection_modifyitems(config, items):
    # pytest-xdist 3.8 puts a test's ``xdist_group`` into ``item._nodeid`` ("id@group"), which
    # pytest 9 no longer reads (its node ids live in ``item._id``): without this, --dist
    # loadgroup spreads a group over both workers
    for item in items:
        grouped = getattr(item, "_nodeid", None)
        if grouped and grouped != item.nodeid:
            from _pytest.nodeid import coerce_node_id

            item._id = coerce_node_id(grouped)
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}

    def key(item):
        tail = item.nodeid.split("/")[-1].split("@")[0]
        if tail.startswith("test_tf115.py"):  # one xdist group, run in order on one worker: early
            return len(rank) - 0.5
        if tail.startswith("test_images.py"):  # after those: .ci/run's image build goes on meanwhile
            return len(rank) - 0.25
        return rank.get(tail, len(rank))

    items.sort(key=key)  # stable: everything else keeps its order
