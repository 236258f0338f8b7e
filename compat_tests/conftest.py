"""Shared fixtures. TensorFlow is quietened here the way the CLI does it."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

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
    "test_parity.py::test_learning_parity[dqn-pylessons:evaluated]",
    "test_parity.py::test_learning_parity[dqn-pylessons]",
    "test_parity.py::test_learning_parity[dqn-meertens:exercises]",
    "test_bench.py::test_matrix_orchestrates_bench_per_environment_and_reports",
    "test_bench.py::test_bench_writes_a_versioned_results_file",
    "test_determinism.py::test_same_seed_same_result[imitation-policy-tf2-book]",
    "test_parity.py::test_learning_parity[pg-tang]",
)


def pytest_collection_modifyitems(config, items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}

    def key(item):
        tail = item.nodeid.split("/")[-1].split("@")[0]
        if tail.startswith("test_tf115.py"):  # one xdist group, run in order on one worker: early
            return len(rank) - 0.5
        return rank.get(tail, len(rank))

    items.sort(key=key)  # stable: everything else keeps its order
