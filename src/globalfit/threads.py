"""Thread counts of the numerical libraries, pinned from config in every job script.

OpenMP and the BLAS libraries read their thread-count variables once, when they load: set after
``import numpy`` (or xgboost) they have no effect. :func:`pin_threads` sets the variables and,
for libraries already loaded, applies the same limit through threadpoolctl, so a script may call
it first or late and gets the count it asked for rather than what the scheduler granted.
"""

from __future__ import annotations

import os
import sys

__all__ = ["THREAD_VARIABLES", "pin_threads"]

THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


def pin_threads(n: int) -> None:
    """Limit OpenMP and BLAS to ``n`` threads in this process and its children.

    Parameters
    ----------
    n : int
        Threads (at least one).

    Raises
    ------
    ValueError
        If n is below one.
    """
    if int(n) < 1:
        raise ValueError(f"thread count must be at least 1, got {n}")
    for var in THREAD_VARIABLES:
        os.environ[var] = str(int(n))
    if "numpy" in sys.modules:  # loaded libraries no longer read the variables
        from threadpoolctl import threadpool_limits

        threadpool_limits(int(n))
