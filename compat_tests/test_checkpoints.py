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
from tfrepro.infra import programs

# every program with weights that trains, a few iterations each (the registry names its agent)
SMALL = {"imitation-policy": 3, "pg-tang": 5, "pg-geron": 3, "dqn-meertens": 1100, "dqn-pylessons": 3}
TRAINED = programs.names(lambda p: p.has_model and p.trains)

RESTORE_SNIPPET = """
import json, sys, numpy as np
from tfrepro.infra.tfquiet import quiet_tensorflow; quiet_tensorflow()
from tfrepro.infra import programs
spec = programs.get(sys.argv[1])
agent = spec.make_agent(sys.argv[2], spec.config(), 99)
agent.restore(sys.argv[3])
obs = np.array(json.loads(sys.argv[4]), np.float32)
print(json.dumps(np.asarray(agent.forward(obs)).tolist()))
"""


def _trained(module, cfg, tmp_path):
    """Train a few iterations through the program's own run(), saving to tmp_path."""
    out = module.run(cfg, mode="fast", seed=0, save=str(tmp_path / "ckpt"))
    assert len(out.train_returns) > 0
    return tmp_path / "ckpt"


@pytest.mark.slow
@pytest.mark.parametrize("name", TRAINED)
@pytest.mark.parametrize("framework", ["tf1", "tf2"])
def test_round_trip_fresh_graph_and_fresh_process(name, framework, tmp_path, obs_batch):
    spec = programs.get(name)
    cfg = spec.make_config(iterations=SMALL.get(name, 3))
    ckpt = _trained(spec.form(framework), cfg, tmp_path)
    # the trained weights as the run left them: restore once, as reference
    with spec.make_agent(framework, cfg, 7) as ref, spec.make_agent(framework, cfg, 8) as other:
        ref.restore(ckpt)
        expected = np.asarray(ref.forward(obs_batch))
        # another init, then restored: must match exactly
        assert not np.array_equal(np.asarray(other.forward(obs_batch)), expected)
        other.restore(ckpt)
        np.testing.assert_array_equal(np.asarray(other.forward(obs_batch)), expected)
    proc = subprocess.run([sys.executable, "-c", RESTORE_SNIPPET, name, framework, str(ckpt),
                           json.dumps(obs_batch.tolist())], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    np.testing.assert_array_equal(np.array(json.loads(proc.stdout.splitlines()[-1]), np.float32), expected)


@pytest.mark.parametrize("framework", ["tf1", "tf2"])
def test_other_architecture_is_rejected(framework, tmp_path):
    module = tang1 if framework == "tf1" else tang2
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
