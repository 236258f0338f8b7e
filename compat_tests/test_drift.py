"""``tfrepro diff --explain``: every listed cause of drift is measured afresh (through the CLI,
once for the module) and each has a test here that checks its measured size, so the list
cannot say more than this stack shows. Also rung 5 (``diff --seeds K``)."""
import json
import os
import subprocess
import sys

import pytest

from tfrepro.infra.twins import WEIGHT_TOL
from tfrepro.tools import drift
from tfrepro.tools.ladder import learning_rung

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def explained(tmp_path_factory):
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.run([sys.executable, "-m", "tfrepro", "diff", "--explain", "--json"],
                          capture_output=True, text=True, timeout=600, env=env,
                          cwd=tmp_path_factory.mktemp("explain"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout)
    assert out["versions"]["tensorflow"]
    return {c["key"]: c for c in out["causes"]}


def test_every_cause_has_its_test_and_a_number(explained):
    tested = {n[len("test_cause_"):].replace("_", "-") for n in globals() if n.startswith("test_cause_")}
    assert tested == set(drift.CAUSES) == set(explained)
    for c in explained.values():
        assert isinstance(c["size"], float) and c["measured"] and c["unit"], c


def test_cause_adam_epsilon(explained):
    v = explained["adam-epsilon"]["values"]
    # Keras's 1e-7 breaks rung 4's tolerance on every Adam program; TF1's 1e-8 meets it
    assert all(d > WEIGHT_TOL[1] for d in v["keras_epsilon_1e-7"].values()), v
    assert all(d <= WEIGHT_TOL[1] for d in v["tf1_epsilon_1e-8"].values()), v
    assert v["keras_epsilon_1e-7"]["pg-geron"] > 100 * WEIGHT_TOL[1]


def test_cause_tf1_rmsprop(explained):
    v = explained["tf1-rmsprop"]["values"]
    assert v["keras_rmsprop"] > 100 * WEIGHT_TOL[1] and v["tf1_rmsprop_port"] < 1e-8, v


def test_cause_keras3_rmsprop(explained):
    v = explained["keras3-rmsprop"]["values"]
    assert v["keras3_rmsprop"] > 100 * WEIGHT_TOL[1] and v["keras2_rmsprop_port"] <= WEIGHT_TOL[1], v


def test_cause_tfkeras_lr(explained):
    v = explained["tfkeras-lr"]["values"]
    assert v["learning_rate_read_back"] == pytest.approx(0.001)
    assert v["step_ratio"] == pytest.approx(4.0, rel=1e-3)  # four times the printed rate


def test_cause_nadam(explained):
    v = explained["nadam"]["values"]
    # Nadam moves the weights away from the TF1 Adam run by more than Adam's epsilon does
    assert v["nadam"] > 100 * WEIGHT_TOL[1] and v["nadam"] > v["keras_adam"], v


def test_cause_dense_init(explained):
    v = explained["dense-init"]["values"]
    assert v["same_seed_max_diff_median"] > 0.2  # the same seed draws other weights ...
    assert v["ks_pvalue"] > 0.01  # ... from the same distribution
    assert max(v["tf1_abs_max"], v["tf2_abs_max"]) <= v["glorot_limit"]
    assert v["largest_bias"] == 0.0


def test_cause_clipped_bce(explained):
    v = explained["clipped-bce"]["values"]
    assert 15.0 < v["gradient_dies_at_logit"] < 17.5  # where 1 - sigmoid(z) passes 1e-7
    assert v["max_gradient_gap"] > 0.99
    assert v["loss_at_20"]["logits"] - v["loss_at_20"]["clipped"] > 3


def test_explain_as_text(cli):
    proc = cli("diff", "--explain")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.count("   measured: ") == len(drift.CAUSES)
    assert "WARNING" not in proc.stderr


def test_learning_rung_judges_only_what_the_seeds_can_tell():
    same = learning_rung([100, 120, 140, 160, 180], [105, 118, 150, 155, 190])
    assert same.passed is True and same.number == 5
    worse = learning_rung([190, 195, 200, 200, 198, 197], [20, 35, 30, 25, 40, 22])
    assert worse.passed is False and worse.stats["mannwhitney_p"] < 0.05
    assert worse.stats["p_b_better"] == 0.0 and worse.stats["ci_high"] < 0
    few = learning_rung([200, 200], [10, 12])  # 2+2 seeds: p can never fall below 1/3
    assert few.passed is None and "cannot reach" in few.detail


def test_rung5_through_the_cli(cli, tmp_path):
    proc = cli("diff", "pg-geron", "--seeds", "4", "--iterations", "30", "--json", "--out-dir", "d")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    out = json.loads(proc.stdout)
    assert out["passed"] and [r["number"] for r in out["rungs"]] == [1, 2, 3, 4, 5]
    r5 = out["rungs"][4]
    assert r5["passed"] is True  # 4+4 seeds can reject at 0.05 (smallest p 0.029)
    st = r5["stats"]
    assert len(st["tf1"]) == len(st["tf2"]) == 4 and st["iterations"] == 30
    runs = sorted(p.name for p in (tmp_path / "d" / "pg-geron" / "runs").iterdir())
    assert len(runs) == 8 and runs[0] == "pg-geron_tf1_fast_seed0.json"
    for fw in ("tf1", "tf2"):  # the rung's values are the records' evaluation means
        recs = [json.loads((tmp_path / "d" / "pg-geron" / "runs" / f"pg-geron_{fw}_fast_seed{s}.json")
                           .read_text()) for s in range(4)]
        assert [r["eval_mean"] for r in recs] == st[fw] and all(r["config"]["iterations"] == 30 for r in recs)
    assert (tmp_path / "d" / "pg-geron" / "curves.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("args,needle", [
    (("pg-geron", "--iterations", "5"), "give --seeds"),
    (("pg-geron", "--seeds", "2", "--alpha", "1.5"), "--alpha"),
    (("--explain", "pg-tang"), "--explain takes no PROGRAM"),
    (("dqn-meertens:nope",), "no variant"),
    (("basic-policy",), "no weights"),
])
def test_diff_usage_errors(cli, args, needle):
    proc = cli("diff", *args)
    assert proc.returncode == 2 and needle in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
