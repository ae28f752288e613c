"""The initial design: a seeded Latin hypercube over the parameter box."""

from __future__ import annotations

import numpy as np
from scipy.stats import qmc

from globalfit.space import ParameterSpace

__all__ = ["latin_hypercube"]


def latin_hypercube(space: ParameterSpace, n: int, seed: int) -> np.ndarray:
    """A seeded Latin hypercube: one point per stratum along every axis; same seed, same points.

    Parameters
    ----------
    space : ParameterSpace
        The parameter box.
    n : int
        Number of points, ≥ 1.
    seed : int
        The seed.

    Returns
    -------
    (n, d) float64 ndarray
        The points in parameter units.

    Raises
    ------
    ValueError
        If n < 1.
    """
    if n < 1:
        raise ValueError(f"design.n_initial: need at least one point, got {n}")
    u = qmc.LatinHypercube(d=space.dim, rng=np.random.default_rng(seed)).random(n)
    return space.from_unit(u)
