"""A plug-in oracle with injected failures, keyed on the first coordinate of θ.

x < -0.5 raises; -0.5 <= x < -0.3 returns NaN; -0.3 <= x < -0.2 hangs for ``hang`` seconds
(past any sensible timeout); everywhere else χ² = 1 + 30 |θ|², a bowl whose rim leaves the
Δχ² < 10 region so that the surrogate's classifier has something to learn.
"""

import time

import numpy as np


def chi2(theta, hang=60.0):
    x = float(theta[0])
    if x < -0.5:
        raise RuntimeError(f"injected failure at x={x}")
    if x < -0.3:
        return float("nan")
    if x < -0.2:
        time.sleep(hang)
    norm = float(np.sum(np.asarray(theta) ** 2))
    return 1.0 + 30.0 * norm, {"norm": norm}
