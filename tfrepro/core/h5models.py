"""Read the Dense weights of a Keras 2 ``.h5`` model file without Keras.

Keras 2.x (standalone 2.2-2.3, tf.keras 2.x, tf-keras) saves ``model.save("x.h5")`` as
HDF5: the architecture as JSON in the root attribute ``model_config`` and the weights
under ``model_weights/<layer>/<layer>/kernel:0`` (``bias:0``), with each layer's
``weight_names`` attribute listing them in order. Reading that with h5py gives both
framework forms the same weights, whatever Keras version wrote the file and whatever
its model was named (Keras 3 refuses names with spaces).
"""
from __future__ import annotations

import json
import os

import numpy as np

from .errors import UsageError

H5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def is_h5(path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(8) == H5_SIGNATURE
    except OSError:
        return False


def decode(value):
    return value.decode("utf-8") if isinstance(value, bytes) else value


def read_dense_model(path):
    """(model name, [(layer name, units, activation)], [kernel, bias, kernel, bias, ...])
    of the Dense layers of a Keras 2 ``.h5`` model, in order. Any problem is a one-line
    UsageError naming the file."""
    path = str(path)
    if not os.path.isfile(path):
        raise UsageError("no model file at %s" % path)
    if not is_h5(path):
        raise UsageError("%s is not an HDF5 file (not a Keras .h5 model, or damaged)" % path)
    import h5py

    try:
        with h5py.File(path, "r") as f:
            if "model_config" not in f.attrs:
                raise UsageError("%s holds no model_config: weights-only or not a Keras model file" % path)
            config = json.loads(decode(f.attrs["model_config"]))
            group = f["model_weights"] if "model_weights" in f else f
            dense = [layer for layer in config["config"]["layers"] if layer["class_name"] == "Dense"]
            layers, weights = [], []
            for layer in dense:
                name = layer["config"]["name"]
                if name not in group:
                    raise UsageError("%s: no weights for layer %r" % (path, name))
                g = group[name]
                names = [decode(n) for n in g.attrs.get("weight_names", [])]
                if len(names) != 2:
                    raise UsageError("%s: layer %r has %d weights, expected a kernel and a bias"
                                     % (path, name, len(names)))
                kernel, bias = (np.asarray(g[n], np.float32) for n in names)
                units = layer["config"]["units"]
                if not isinstance(units, int) or isinstance(units, bool) or not 0 < units <= MAX_UNITS:
                    raise UsageError("%s: layer %r has units %s, not a count of at most %d"
                                     % (path, name, str(units)[:24], MAX_UNITS))
                layers.append((name, units, layer["config"].get("activation")))
                weights += [kernel, bias]
            return config["config"].get("name", ""), layers, weights
    except UsageError:
        raise
    except READ_ERRORS as e:  # truncated file, broken JSON, attributes of the wrong kind
        raise UsageError("cannot read %s: %s" % (path, first_line(e))) from None


MAX_UNITS = 1 << 20
# what reading a hostile HDF5 file can raise: a truncated file (OSError), a missing key, broken or
# too deeply nested JSON (ValueError, RecursionError), an attribute of the wrong type (TypeError,
# AttributeError, IndexError), a number beyond any size (OverflowError)
READ_ERRORS = (OSError, KeyError, ValueError, TypeError, AttributeError, IndexError, OverflowError, RecursionError)


def first_line(e) -> str:
    return ((str(e).splitlines() or [""])[0] or type(e).__name__)[:200]


def check_architecture(path, weights, expected_shapes):
    """Compare the weight shapes read from ``path`` with the program's."""
    found = [tuple(w.shape) for w in weights]
    expected = [tuple(s) for s in expected_shapes]
    if found != expected:
        raise UsageError("model %s has Dense weight shapes %s, this program expects %s"
                         % (path, found, expected))
