"""``tfrepro diff``: the migration ladder as a tool. Every program passes rungs 1-4 with the
matched optimizer pairing; the ports' own Keras Adam (epsilon 1e-7) is caught at rung 4; a
deliberately broken port is caught at the right rung."""
import json

import keras
import pytest

from modern_tf2 import pg_tang
from modern_tf2.common import policy_model
from tfrepro import programs
from tfrepro.ladder import climb


def test_diff_all_passes_every_rung(cli):
    proc = cli("diff", "--all", "--json")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    results = json.loads(proc.stdout)
    assert [r["program"] for r in results] == [n for n, p in programs.PROGRAMS.items() if p.has_model]
    for r in results:
        assert [g["number"] for g in r["rungs"]] == [1, 2, 3, 4]
        trains = programs.get(r["program"]).iterations_field is not None
        for g in r["rungs"]:
            assert g["passed"] is True or (g["passed"] is None and not trains and g["number"] >= 3), r
            if g["number"] >= 2 and g["passed"]:
                assert g["max_diff"] < 1e-5


def test_diff_table_and_exit_code_on_the_ports_own_adam(cli):
    """Keras Adam's epsilon (1e-7) against TF1's (1e-8): same gradients, other weights."""
    proc = cli("diff", "pg-geron", "--port-optimizer")
    assert proc.returncode == 1, proc.stderr[-2000:]
    rows = [ln for ln in proc.stdout.splitlines() if ln.startswith("| ") and ln[2].isdigit()]
    assert [r.split("|")[5].strip() for r in rows] == ["pass", "pass", "pass", "FAIL"]
    assert "epsilon 1e-7" in rows[3]


class WrongActivation(pg_tang.PolicyGradient):
    """A port with tanh where the source has ReLU."""

    def build(self, cfg):
        super().build(cfg)
        self.model = policy_model(cfg.hidden, "tanh", None, name="tang_policy")
        self.optimizer = keras.optimizers.Adam(cfg.learning_rate)
        self.optimizer.build(self.model.trainable_variables)


class DroppedBias(pg_tang.PolicyGradient):
    """A port whose hidden layer lost its bias."""

    def build(self, cfg):
        super().build(cfg)
        self.model = keras.Sequential([
            keras.Input(shape=(4,)),
            keras.layers.Dense(cfg.hidden, activation="relu", use_bias=False, name="hidden"),
            keras.layers.Dense(1, name="output")], name="tang_policy")
        self.optimizer = keras.optimizers.Adam(cfg.learning_rate)
        self.optimizer.build(self.model.trainable_variables)


@pytest.mark.parametrize("broken,first_failing", [(WrongActivation, 2), (DroppedBias, 1)])
def test_a_broken_port_is_caught_at_the_right_rung(broken, first_failing):
    rungs = climb("pg-tang", tf2_class=broken)
    results = [r.passed for r in rungs]
    assert results[:first_failing - 1] == [True] * (first_failing - 1), rungs
    assert results[first_failing - 1] is False, rungs
