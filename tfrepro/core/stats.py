"""Summary statistics over seeds (the verdicts live in ``tfrepro.core.verdicts``)."""
from __future__ import annotations

import numpy as np


def median_iqr(x) -> tuple[float, float, float]:
    x = np.asarray(x, float)
    q1, med, q3 = np.percentile(x, [25, 50, 75])
    return float(med), float(q1), float(q3)
