"""Tier 7: ``tfrepro diff --explain``: every listed cause of drift is measured afresh (through the CLI,
once for the module) and each has a test here that checks its measured size, so the list
cannot say more than this stack shows. Also rung 5 (``diff --seeds K``)."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tfrepro.infra.twins import WEIGHT_TOL
from tfrepro.tools import drift
from tfrepro.tools.ladder import learning_rung

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# The tests of the module's `explained` run on one xdist worker: one `diff --explain` per
# suite run (~40 s), not one per worker.
EXPLAIN = pytest.mark.xdist_group("explain")


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


@EXPLAIN
@pytest.mark.slow
def test_every_cause_has_its_test_and_a_number(explained):
    tested = {n[len("test_cause_"):].replace("_", "-") for n in globals() if n.startswith("test_cause_")}
    assert tested == set(drift.CAUSES) == set(explained)
    for c in explained.values():
        assert isinstance(c["size"], float) and c["measured"] and c["unit"], c


@EXPLAIN
def test_cause_adam_epsilon(explained):
    v = explained["adam-epsilon"]["values"]
    # Keras's 1e-7 breaks rung 4's tolerance on every Adam program; TF1's 1e-8 meets it
    assert all(d > WEIGHT_TOL[1] for d in v["keras_epsilon_1e-7"].values()), v
    assert all(d <= WEIGHT_TOL[1] for d in v["tf1_epsilon_1e-8"].values()), v
    assert v["keras_epsilon_1e-7"]["pg-geron"] > 100 * WEIGHT_TOL[1]


@EXPLAIN
def test_cause_tf1_rmsprop(explained):
    v = explained["tf1-rmsprop"]["values"]
    assert v["keras_rmsprop"] > 100 * WEIGHT_TOL[1] and v["tf1_rmsprop_port"] < 1e-8, v


@EXPLAIN
def test_cause_keras3_rmsprop(explained):
    v = explained["keras3-rmsprop"]["values"]
    assert v["keras3_rmsprop"] > 100 * WEIGHT_TOL[1] and v["keras2_rmsprop_port"] <= WEIGHT_TOL[1], v


@EXPLAIN
def test_cause_tfkeras_lr(explained):
    v = explained["tfkeras-lr"]["values"]
    assert v["learning_rate_read_back"] == pytest.approx(0.001)
    assert v["step_ratio"] == pytest.approx(4.0, rel=1e-3)  # four times the printed rate


@EXPLAIN
def test_cause_nadam(explained):
    v = explained["nadam"]["values"]
    # Nadam moves the weights away from the TF1 Adam run by more than Adam's epsilon does
    assert v["nadam"] > 100 * WEIGHT_TOL[1] and v["nadam"] > v["keras_adam"], v


@EXPLAIN
def test_cause_dense_init(explained):
    v = explained["dense-init"]["values"]
    assert v["same_seed_max_diff_median"] > 0.2  # the same seed draws other weights ...
    assert v["ks_pvalue"] > 0.01  # ... from the same distribution
    assert max(v["tf1_abs_max"], v["tf2_abs_max"]) <= v["glorot_limit"]
    assert v["largest_bias"] == 0.0


@EXPLAIN
def test_cause_clipped_bce(explained):
    v = explained["clipped-bce"]["values"]
    assert 15.0 < v["gradient_dies_at_logit"] < 17.5  # where 1 - sigmoid(z) passes 1e-7
    assert v["max_gradient_gap"] > 0.99
    assert v["loss_at_20"]["logits"] - v["loss_at_20"]["clipped"] > 3


@pytest.mark.slow
def test_explain_as_text(cli_here):
    proc = cli_here("diff", "--explain")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.count("   measured: ") == len(drift.CAUSES)
    assert "WARNING" not in proc.stderr


def test_learning_rung_passes_only_on_equivalence():
    """Rung 5 passes when TF2 is equivalent to TF1 at the program's declared margin, fails
    when worse or better, and is shown but not judged when the seeds cannot decide."""
    rng = np.random.default_rng(5)
    same = learning_rung(rng.normal(190, 4, 30), rng.normal(190, 4, 30), label="pg-geron")
    assert same.passed is True and same.number == 5 and same.stats["verdict"] == "equivalent"
    assert same.stats["margin"] == 10.0 and "TOST within ±10" == same.tolerance
    worse = learning_rung([190, 195, 200, 200, 198, 197], [20, 35, 30, 25, 40, 22], label="pg-geron")
    assert worse.passed is False and worse.stats["verdict"] == "worse" and worse.stats["ci_high"] < -10
    few = learning_rung([100, 120, 140, 160, 180], [105, 118, 150, 155, 190], label="pg-geron")
    assert few.passed is None and "inconclusive at 5 seeds, needs ~" in few.detail
    tie = learning_rung([200, 200], [10, 12])  # 2+2 seeds of a program without a declared margin
    assert tie.passed is False and "5% of BASE's median" in tie.detail


@pytest.mark.slow
def test_rung5_through_the_cli(cli, tmp_path):
    proc = cli("diff", "pg-geron", "--seeds", "4", "--iterations", "30", "--json", "--out-dir", "d")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    out = json.loads(proc.stdout)
    assert out["passed"] and [r["number"] for r in out["rungs"]] == [1, 2, 3, 4, 5]
    r5 = out["rungs"][4]
    st = r5["stats"]  # 4+4 seeds of 30 iterations spread too widely to decide at ±10
    assert r5["passed"] is None and st["verdict"] == "inconclusive" and st["seeds_needed"] > 4
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
    (("pg-geron", "--seeds", "2", "--margin", "-3"), "--margin"),
    (("pg-geron", "--seeds", "4", "--pilot", "3"), "apply to --seeds auto"),
    (("pg-geron", "--seeds", "many"), "--seeds"),
    (("--explain", "pg-tang"), "--explain takes no PROGRAM"),
    (("dqn-meertens:nope",), "no variant"),
    (("basic-policy",), "no weights"),
])
def test_diff_usage_errors(cli, args, needle):
    proc = cli("diff", *args)
    assert proc.returncode == 2 and needle in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_rung5_seeds_auto_runs_a_pilot_then_what_its_spread_needs(cli, tmp_path):
    """--seeds auto: a 2-seed pilot per side, inconclusive, asks for more seeds than
    --max-seeds 3 allows; the pilot's runs are kept (not run again) and one more seed per
    side is added; the capped plan is stated."""
    args = ("diff", "pg-geron", "--seeds", "auto", "--pilot", "2", "--max-seeds", "3", "--iterations", "5",
            "--json", "--out-dir", "d")
    runs = tmp_path / "d" / "pg-geron" / "runs"
    proc = cli(*args)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    st = json.loads(proc.stdout)["rungs"][4]["stats"]
    assert st["auto"]["pilot"] == 2 and st["auto"]["ran"] == 3 and st["auto"]["needed"] > 3
    assert len(st["tf1"]) == len(st["tf2"]) == 3 and len(list(runs.iterdir())) == 6
    assert "capped it at 3" in json.loads(proc.stdout)["rungs"][4]["detail"]
