"""A plug-in oracle that records every call, to count oracle evaluations across processes.

χ² = 10 + 20 |θ - 0.3|²; each finished call appends one line (the θ bytes in hex) to ``log``
with O_APPEND, so concurrent jobs never interleave lines.
"""

import os
import time

import numpy as np


def chi2(theta, log, delay=0.0):
    theta = np.asarray(theta, dtype="<f8")
    if delay:
        time.sleep(delay)
    value = 10.0 + 20.0 * float(np.sum((theta - 0.3) ** 2))
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (theta.tobytes().hex() + "\n").encode())
    finally:
        os.close(fd)
    return value
