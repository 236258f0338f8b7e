"""Tier 3: Saver and .keras round trips: same action probabilities after restore, in a fresh
graph and in a fresh process; mismatched and corrupt checkpoints rejected cleanly."""
import json
import subprocess
import sys

import numpy as np
import pytest

from compat_tests.conftest import ROOT
from legacy_tf1 import pg_geron as geron1
from legacy_tf1 import pg_tang as tang1
from modern_tf2 import pg_geron as geron2
from modern_tf2 import pg_tang as tang2
from tfrepro.core.configs import GeronPGConfig, TangPGConfig
from tfrepro.core.errors import UsageError

CASES = {"tang": (tang1, tang2, TangPGConfig(iterations=5)),
         "geron": (geron1, geron2, GeronPGConfig(iterations=3))}

RESTORE_SNIPPET = """
import json, sys, numpy as np
from tfrepro.infra.tfquiet import quiet_tensorflow; quiet_tensorflow()
from tfrepro.core.configs import {cfg}
from {pkg} import {mod} as m
agent = m.PolicyGradient({cfg}(), 99)
agent.restore(sys.argv[1])
obs = np.array(json.loads(sys.argv[2]), np.float32)
print(json.dumps(agent.proba_left(obs).tolist()))
"""


def _trained(module, cfg, tmp_path):
    """Train a few iterations through the program's own run(), saving to tmp_path."""
    out = module.run(cfg, mode="fast", seed=0, save=str(tmp_path / "ckpt"))
    assert len(out["train_returns"]) > 0
    return tmp_path / "ckpt"


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("framework", ["tf1", "tf2"])
def test_round_trip_fresh_graph_and_fresh_process(case, framework, tmp_path, obs_batch):
    m1, m2, cfg = CASES[case]
    module = m1 if framework == "tf1" else m2
    ckpt = _trained(module, cfg, tmp_path)
    # the trained weights as the run left them: restore once, as reference
    ref = module.PolicyGradient(cfg, 7)
    ref.restore(ckpt)
    expected = ref.proba_left(obs_batch)
    other = module.PolicyGradient(cfg, 8)  # another init, then restored: must match exactly
    assert not np.array_equal(other.proba_left(obs_batch), expected)
    other.restore(ckpt)
    np.testing.assert_array_equal(other.proba_left(obs_batch), expected)
    snippet = RESTORE_SNIPPET.format(cfg=type(cfg).__name__, pkg=module.__name__.split(".")[0],
                                     mod=module.__name__.split(".")[1])
    proc = subprocess.run([sys.executable, "-c", snippet, str(ckpt), json.dumps(obs_batch.tolist())],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    np.testing.assert_array_equal(np.array(json.loads(proc.stdout.splitlines()[-1]), np.float32), expected)


@pytest.mark.parametrize("framework", ["tf1", "tf2"])
def test_other_architecture_is_rejected(framework, tmp_path):
    m1, m2, _ = CASES["tang"]
    module = m1 if framework == "tf1" else m2
    ckpt = _trained(module, TangPGConfig(iterations=2), tmp_path)
    geron = (geron1 if framework == "tf1" else geron2).PolicyGradient(GeronPGConfig(), 0)
    with pytest.raises(UsageError, match="shape"):
        geron.restore(ckpt)


def test_missing_checkpoint(tmp_path):
    with pytest.raises(UsageError, match="no TF1 checkpoint"):
        tang1.PolicyGradient(TangPGConfig(), 0).restore(tmp_path)
    with pytest.raises(UsageError, match="no Keras model"):
        tang2.PolicyGradient(TangPGConfig(), 0).restore(tmp_path)


def test_corrupt_checkpoints(tmp_path):
    ckpt = _trained(tang1, TangPGConfig(iterations=2), tmp_path / "a")
    data = next(ckpt.glob("model.ckpt.data-*"))
    data.write_bytes(data.read_bytes()[:10])
    with pytest.raises(UsageError):
        tang1.PolicyGradient(TangPGConfig(), 0).restore(ckpt)
    kdir = _trained(tang2, TangPGConfig(iterations=2), tmp_path / "b")
    model = kdir / "model.keras"
    model.write_bytes(model.read_bytes()[:100])
    with pytest.raises(UsageError, match="not a .keras archive"):
        tang2.PolicyGradient(TangPGConfig(), 0).restore(kdir)
