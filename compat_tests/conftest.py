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
def obs_batch():
    """A fixed batch of CartPole-like observations (the one `tfrepro diff` uses)."""
    from tfrepro.infra.twins import observations

    return observations()


def read_json(path):
    return json.loads(Path(path).read_text())
