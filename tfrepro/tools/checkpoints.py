"""``tfrepro inspect PATH``: the variables, shapes and dtypes of a TF1 checkpoint, a
``.keras`` model or a Keras 2 ``.h5`` model, whichever PATH is."""
from __future__ import annotations

import os
import zipfile

import numpy as np

from ..core.errors import UsageError
from ..core.h5models import READ_ERRORS, decode, first_line, is_h5


def _tf1(prefix):
    import tensorflow as tf

    try:
        reader = tf.train.load_checkpoint(prefix)
        shapes, dtypes = reader.get_variable_to_shape_map(), reader.get_variable_to_dtype_map()
        for name in shapes:
            reader.get_tensor(name)  # the data is there: a truncated data file fails here, not at --load
    except (tf.errors.OpError, ValueError, IndexError) as e:
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
            if "layer_names" not in group.attrs:
                raise UsageError("%s: an HDF5 file, but not a Keras model (no layer_names)" % path)
            for layer in _names(group.attrs["layer_names"], path, "layer_names"):
                g = group[layer]
                for name in _names(g.attrs.get("weight_names", []), path, "weight_names"):
                    d = g[name]
                    if d.size <= 1 << 26:
                        d[()]  # the data is there (a truncated file fails here, not later)
                    rows.append((name, list(d.shape), str(d.dtype)))
    except UsageError:
        raise
    except READ_ERRORS as e:
        raise UsageError("cannot read %s: %s" % (path, first_line(e))) from None
    return rows


def _names(value, path, attr):
    """An HDF5 attribute that lists names (``layer_names``, ``weight_names``), or one UsageError."""
    if isinstance(value, (bytes, str)) or not hasattr(value, "__iter__"):
        raise UsageError("%s: %s is %s, not a list of names" % (path, attr, type(value).__name__))
    names = [decode(v) for v in value]
    if not all(isinstance(n, str) for n in names):
        raise UsageError("%s: %s holds something other than names" % (path, attr))
    return names


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
