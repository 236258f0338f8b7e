"""``tfrepro legacy --report``: a migration report built from the run itself.

Every TF1, ``tf.contrib``, Keras 2, gym 0.21 and Python 2 construct the script actually
executed is noted where it ran (file:line, through ``note``), with what it becomes in
TF2 / Keras 3 / gymnasium and whether that change moves numbers (the entries of this
package's drift catalogue, ``tfrepro diff --explain``). A static upgrade tool reads
source; this list is what ran, down to the line.
"""
from __future__ import annotations

import json
import os
import re

from .state import OPTS, caller

# construct -> (what it becomes in TF2 / Keras 3 / gymnasium / Python 3, what changes numbers or None)
# Keys are exact names or prefixes ending in ".*"; the first match wins, exact names first.
MAP: dict[str, tuple[str, str | None]] = {
    # -- TF1 graph API ------------------------------------------------------------------
    "tf.placeholder": ("an argument of a tf.function (or NumPy arrays passed to the model)", None),
    "tf.placeholder_with_default": ("a Python default argument", None),
    "tf.Session": ("eager execution; wrap hot paths in tf.function", None),
    "tf.InteractiveSession": ("eager execution", None),
    "tf.ConfigProto": ("tf.config.threading / tf.config.experimental", None),
    "tf.global_variables_initializer": ("nothing: TF2 variables are initialised when created", None),
    "tf.initialize_all_variables": ("nothing: TF2 variables are initialised when created", None),
    "tf.local_variables_initializer": ("nothing", None),
    "tf.variables_initializer": ("nothing", None),
    "tf.reset_default_graph": ("nothing (no default graph); keras.backend.clear_session() for Keras", None),
    "tf.get_default_graph": ("tf.function traces its own graph", None),
    "tf.Graph": ("tf.function traces its own graph", None),
    "tf.set_random_seed": ("tf.random.set_seed (keras.utils.set_random_seed for Python, NumPy and TF)",
                           "TF2 derives op seeds differently: the same seed draws other numbers"),
    "tf.get_variable": ("tf.Variable, or a Keras layer's add_weight", None),
    "tf.Variable": ("tf.Variable", None),
    "tf.variable_scope": ("Keras layers or tf.Module (names come from the objects)", None),
    "tf.name_scope": ("tf.name_scope", None),
    "tf.trainable_variables": ("model.trainable_variables", None),
    "tf.global_variables": ("model.variables", None),
    "tf.gradients": ("tf.GradientTape().gradient", None),
    "tf.stop_gradient": ("tf.stop_gradient", None),
    "tf.layers.dense": ("keras.layers.Dense", "dense-init"),
    "tf.layers.*": ("the keras.layers class of the same name", None),
    "tf.train.AdamOptimizer": ("keras.optimizers.Adam (compute_gradients/apply_gradients: "
                               "tf.GradientTape + optimizer.apply_gradients)", "adam-epsilon"),
    "tf.train.RMSPropOptimizer": ("keras.optimizers.RMSprop", "tf1-rmsprop"),
    "tf.train.GradientDescentOptimizer": ("keras.optimizers.SGD", None),
    "tf.train.MomentumOptimizer": ("keras.optimizers.SGD(momentum=...)", None),
    "tf.train.AdagradOptimizer": ("keras.optimizers.Adagrad",
                                  "Keras adds epsilon 1e-7 to Adagrad's denominator; TF1 adds none"),
    "tf.train.Saver": ("tf.train.Checkpoint, or model.save / save_weights", None),
    "tf.train.get_global_step": ("optimizer.iterations", None),
    "tf.train.*": ("tf.train / keras.optimizers equivalents", None),
    "tf.summary.FileWriter": ("tf.summary.create_file_writer", None),
    "tf.summary.merge_all": ("nothing: write summaries inside writer.as_default()", None),
    "tf.summary.*": ("tf.summary.* inside writer.as_default() (step= given explicitly)", None),
    "tf.multinomial": ("tf.random.categorical", "another random stream: same seed, other draws"),
    "tf.random_normal": ("tf.random.normal", None),
    "tf.random_uniform": ("tf.random.uniform", None),
    "tf.truncated_normal": ("tf.random.truncated_normal", None),
    "tf.nn.softmax_cross_entropy_with_logits": (
        "tf.nn.softmax_cross_entropy_with_logits (TF2's also back-propagates into the labels: "
        "tf.stop_gradient them for TF1's meaning)", None),
    "tf.losses.*": ("keras.losses.* or the formula with tf.reduce_mean", None),
    "tf.contrib.layers.xavier_initializer": ("keras.initializers.GlorotUniform (GlorotNormal for uniform=False)",
                                             "same distribution, other random draws"),
    "tf.contrib.layers.variance_scaling_initializer": (
        "keras.initializers.VarianceScaling (mode and distribution spelled out)",
        "same distribution, other random draws"),
    "tf.contrib.layers.fully_connected": ("keras.layers.Dense(activation='relu') (ReLU is contrib's default)",
                                          "same distribution, other random draws"),
    "tf.contrib.*": ("the keras / tf.compat.v1 symbol this shim maps it to (docs/legacy.md)", None),
    # -- Keras 2 ------------------------------------------------------------------------
    "keras.optimizers.*(lr=)": ("keras.optimizers.*(learning_rate=...)", "tfkeras-lr"),
    "keras.optimizers.RMSprop": ("keras.optimizers.RMSprop", "keras3-rmsprop"),
    "keras.model.predict": ("model(x) inside a tf.function, or model.predict(..., verbose=0): Keras 3's "
                            "predict costs milliseconds and prints a progress bar per call", None),
    "keras.model.fit": ("model.fit(..., verbose=0), or a GradientTape step", None),
    "keras1.*": ("the Keras 2 form Keras 2.0-2.3 converted it to (keras/legacy/interfaces.py)", None),
    "from keras.*": ("the names it uses imported by name from keras (Keras 3) or tf.keras", None),
    "keras.backend.tensorflow_backend.*": ("keras.backend.* (sessions have no TF2 form: tf.compat.v1.keras.backend)",
                                           None),
    "keras.*": ("the same name in Keras 3", None),
    # -- gym 0.21 -----------------------------------------------------------------------
    "gym.make": ("gymnasium.make (render_mode= given here, not to render())", None),
    "env.reset": ("obs, info = env.reset(seed=...)", None),
    "env.step": ("obs, reward, terminated, truncated, info = env.step(a); done = terminated or truncated",
                 "where a learner bootstraps (DQN targets), ending at the time limit (truncated) is "
                 "not failing (terminated); gym 0.21's one done flag merged them"),
    "env.spec": ("env.spec", None),
    "env.seed": ("env.reset(seed=n) (and env.action_space.seed(n))",
                 "gymnasium's seeding draws other start states than gym 0.21 for the same seed"),
    "env.render": ("gymnasium.make(..., render_mode='rgb_array' or 'human'), then env.render()", None),
    "env.unwrapped": ("env.unwrapped (the new API, no time limit)", None),
    "env._max_episode_steps": ("env.spec.max_episode_steps", None),
    "env.<attribute>": ("env.unwrapped.<attribute> (gymnasium wrappers no longer forward attributes)", None),
    "gym.wrappers.Monitor": ("gymnasium.wrappers.RecordVideo and RecordEpisodeStatistics", None),
    "gym.*": ("the same name under gymnasium", None),
    # -- Python 2 -----------------------------------------------------------------------
    "python2.print": ("print(...)", None),
    "keras224.seed.*": ("an initializer with seed=None draws its op seed from TensorFlow's graph; Keras 2.2.4 drew "
                        "it from NumPy (np.random.randint(10e6)) at each weight, as this run does", None),
    "seed.*": ("the script's own seed, moved by --seeds to seed + 1000003 x run (run 0 keeps it) so that its "
               "runs differ", None),
    "python2.integer-division": ("// where both sides are integers", "/ is true division in Python 3"),
    "python2.tabs": ("spaces (Python 3 refuses tabs mixed with spaces)", None),
    "python2.imports": ("the Python 3 module (cPickle -> pickle, Queue -> queue, ...)", None),
    "python2.xrange": ("range", None),
    "python2.raw_input": ("input", None),
    "python2.input": ("eval(input(...)) (Python 2's input evaluated what was typed)", None),
    "python2.dict": ("d.items() / d.keys() / d.values()", None),
    "python2.has_key": ("key in d", None),
    "python2.except": ("except E as e", None),
    "python2.raise": ("raise E(message)", None),
    "python2.unicode": ("str", None),
    "python2.long": ("int", None),
    "python2.zip": ("list(zip(...)) where a list is needed (zip is lazy in Python 3)", None),
    "python2.map": ("list(map(...)) where a list is needed (map is lazy in Python 3)", None),
    "python2.filter": ("list(filter(...)) where a list is needed", None),
    "python2.*": ("what 2to3's fixer of the same name writes", None),
}

CAUSES = {  # drift catalogue keys (tfrepro.tools.drift) and their one-line meaning
    "adam-epsilon": "Adam's epsilon: 1e-8 in tf.train.AdamOptimizer, 1e-7 in Keras (2.2.4 and 3)",
    "tf1-rmsprop": "TF1 RMSProp's accumulator starts at ones, Keras's at zeros (and epsilon 1e-10 against 1e-7)",
    "keras3-rmsprop": "Keras 3 RMSprop puts epsilon inside the square root; Keras 2 outside",
    "tfkeras-lr": "lr= is ignored by tf-keras's new optimizers (the rate stays 0.001) and refused by Keras 3",
    "dense-init": "tf.layers.dense and keras Dense draw their initial weights differently",
}


def lookup(construct: str):
    if construct in MAP:
        return MAP[construct]
    for key, value in MAP.items():
        if key.endswith(".*") and construct.startswith(key[:-1]):
            return value
    if construct.startswith("tf."):
        from tensorflow.tools.compatibility import all_renames_v2  # TensorFlow's own upgrade table

        new = all_renames_v2.symbol_renames.get(construct)
        if new and not new.startswith("tf.compat.v1"):
            return new, None
        if _in_tf2(construct):
            return SAME if not new else SAME + " (its arguments differ: tf_upgrade_v2 rewrites the call)", None
        return "only in tf.compat.v1: no TF2 symbol of that name", None
    return "", None


SAME = "the same name in TF2"


def _in_tf2(construct):
    """Whether TF2's own API (not compat.v1) has this dotted name."""
    import tensorflow

    obj = tensorflow
    for part in construct.split(".")[1:]:
        try:
            obj = getattr(obj, part)
        except Exception:  # noqa: BLE001 - lazy-loaded APIs raise other errors too
            return False
    return True


class Trace:
    def __init__(self):
        self.items: dict[str, dict] = {}
        self._locs: dict[tuple, str] = {}  # (file, line) -> its place as the report shows it

    def note(self, construct, kind, where=None, detail=None):
        where = where if where is not None else caller(3)
        if where is None:
            return
        item = self.items.get(construct)
        if item is None:
            tf2, numbers = lookup(construct)
            item = self.items[construct] = {"construct": construct, "kind": kind, "where": [], "count": 0,
                                            "tf2": tf2, "changes_numbers": numbers, "detail": detail}
        item["count"] += 1
        loc = self._locs.get(where)
        if loc is None:
            loc = self._locs[where] = f"{os.path.relpath(where[0], OPTS.script_dir)}:{where[1]}"
        if loc not in item["where"]:
            item["where"].append(loc)
            item["where"].sort(key=_location)
            del item["where"][5:]

    def rows(self):
        return sorted(self.items.values(), key=lambda item: _location(item["where"][0]))

    def json(self) -> str:
        rows = [dict(r, changes_numbers=_numbers(r["changes_numbers"])) for r in self.rows()]
        return json.dumps({"script": OPTS.extra.get("script"), "constructs": rows}, indent=1)

    def markdown(self) -> str:
        rows = [r for r in self.rows() if not r["tf2"].startswith("the same name")]
        same = [r for r in self.rows() if r["tf2"].startswith("the same name")]
        out = [f"# Migration report: {OPTS.extra.get('script', 'script')}", "",
               f"{len(rows) + len(same)} TF1 / tf.contrib / Keras 2 / gym 0.21 / Python 2 constructs ran; "
               f"{len(rows)} take another form in TF2 / Keras 3 / gymnasium / Python 3 (below: the first "
               "lines where each ran; `changes numbers` names what moves a result).", "",
               "| construct | kind | where | TF2 / Keras 3 / gymnasium | changes numbers |",
               "|---|---|---|---|---|"]
        for r in rows:
            where = _where(r["where"]) + (f" ({r['count']} times)" if r["count"] > len(r["where"]) else "")
            out.append(f"| `{r['construct']}` | {r['kind']} | {where} | {_md(r['tf2'])} | "
                       f"{_md(_numbers(r['changes_numbers']) or '')} |")
        if same:
            out += ["", "The same in TF2 / Keras 3: " + ", ".join(f"`{r['construct']}`" for r in same) + "."]
        return "\n".join(out) + "\n"


def _where(locations):
    """``a.py:3, a.py:9, b.py:2`` -> ``a.py:3, 9; b.py:2``."""
    files: dict[str, list[str]] = {}
    for loc in locations:
        f, _, line = loc.rpartition(":")
        files.setdefault(f, []).append(line)
    return "; ".join(f"{f}:{', '.join(lines)}" for f, lines in files.items())


def _location(loc):
    f, _, line = loc.rpartition(":")
    return f, int(line)


def _numbers(value):
    if value in CAUSES:
        return f"{value}: {CAUSES[value]}"
    return value


def _md(text):
    return re.sub(r"\|", r"\\|", text or "")


TRACE = Trace()
note = TRACE.note


def moved_seed(seed, kind: str):
    """``state.derived_seed``, noted for the report where the script seeded (``seed.<kind>``)."""
    from .state import derived_seed

    new = derived_seed(seed, kind)
    if new is not seed:
        note(f"seed.{kind}", "seed")
    return new
