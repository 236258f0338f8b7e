"""One seeding function, called first by every program; the seed goes into the record."""
from __future__ import annotations

import os
import random

import numpy as np


def seed_everything(seed: int) -> np.random.Generator:
    """Seed Python, NumPy's legacy global RNG and return a NumPy Generator for the run.

    TensorFlow is seeded by the program itself: TF1 programs call
    ``tf.set_random_seed`` inside their own ``tf.Graph``; TF2 programs call
    ``keras.utils.set_random_seed``. Library code never touches global TF state.
    """
    os.environ.setdefault("PYTHONHASHSEED", str(seed))
    random.seed(seed)
    np.random.seed(seed)
    return np.random.default_rng(seed)
