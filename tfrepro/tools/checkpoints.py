"""``tfrepro inspect PATH``: the variables, shapes and dtypes of a TF1 checkpoint, a
``.keras`` model or a Keras 2 ``.h5`` model, whichever PATH is."""
from __future__ import annotations

import os
import zipfile

import numpy as np

from ..core.errors import UsageError
from ..core.h5models import decode, is_h5


def _tf1(prefix):
    import tensorflow as tf

    try:
        reader = tf.train.load_checkpoint(prefix)
        shapes, dtypes = reader.get_variable_to_shape_map(), reader.get_variable_to_dtype_map()
    except (tf.errors.OpError, ValueError) as e:
        from legacy_tf1.common import op_error_line

        raise UsageError("cannot read checkpoint %s: %s" % (prefix, op_error_line(e))) from None
    return [(name, list(shapes[name]), dtypes[name].name) for name in sorted(shapes)]


def _keras(path):
    from modern_tf2.common import load_model

    model = load_model(path)
    # Keras 2 (TF <= 2.15): no .path, names end in ':0', dtypes are tf.DType
    return [(getattr(v, "path", None) or v.name.split(":")[0], list(v.shape),
             getattr(v.dtype, "name", str(v.dtype))) for v in model.weights]


def _h5(path):
    import h5py

    rows = []
    try:
        with h5py.File(path, "r") as f:
            group = f["model_weights"] if "model_weights" in f else f
            for layer in group.attrs.get("layer_names", []):
                g = group[decode(layer)]
                for name in g.attrs.get("weight_names", []):
                    d = g[decode(name)]
                    rows.append((decode(name), list(d.shape), str(d.dtype)))
    except (OSError, KeyError, ValueError) as e:
        raise UsageError("cannot read %s: %s" % (path, (str(e).splitlines() or [type(e).__name__])[0])) from None
    return rows


def inspect(path):
    """(kind, [(variable, shape, dtype)]) for a checkpoint or model file."""
    path = str(path)
    if os.path.isdir(path):
        from legacy_tf1.common import find_checkpoint  # a directory written by --save

        for name in ("model.keras", "cartpole-dqn.h5"):
            if os.path.exists(os.path.join(path, name)):
                return inspect(os.path.join(path, name))
        return "TF1 checkpoint (tf.train.Saver)", _tf1(find_checkpoint(path))
    if os.path.exists(path + ".index"):
        return "TF1 checkpoint (tf.train.Saver)", _tf1(path)
    if not os.path.exists(path):
        raise UsageError("no checkpoint or model at %s (tfrepro run PROGRAM --save DIR writes one)" % path)
    if not os.path.isfile(path):  # a FIFO would block the first read for ever
        raise UsageError("%s: not a regular file (a pipe, device or socket), not a checkpoint" % path)
    if is_h5(path):
        return "Keras 2 .h5 model", _h5(path)
    if zipfile.is_zipfile(path):
        return "Keras .keras model", _keras(path)
    if path.endswith(".keras"):
        raise UsageError("%s: not a readable .keras archive (truncated or corrupt zip)" % path)
    raise UsageError("%s is neither a TF1 checkpoint, a .keras archive nor an HDF5 file" % path)


def table(path, kind, rows) -> str:
    n = sum(int(np.prod(s)) if s else 1 for _, s, _ in rows)
    lines = [f"{path}: {kind}, {len(rows)} variables, {n} values",
             "| variable | shape | dtype |", "|---|---|---|"]
    lines += [f"| {name} | {shape} | {dtype} |" for name, shape, dtype in rows]
    return "\n".join(lines)
