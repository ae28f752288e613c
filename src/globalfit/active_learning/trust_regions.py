"""TODO docstring (active_learning.py)."""

from __future__ import annotations

import numpy as np

from globalfit.active_learning.gp import LENGTHSCALE_MIN

__all__ = ["trust_region_centres", "trust_region_shape", "update_trust_radius"]


def trust_region_shape(lengthscales: np.ndarray) -> np.ndarray:
    """Per-axis trust-region scale (d,) with geometric mean 1, proportional to the GP length scales
    (capped at the cube's width): narrow along the directions χ² is sensitive to (as TuRBO)."""
    ls = np.clip(np.asarray(lengthscales, dtype=np.float64), LENGTHSCALE_MIN, 1.0)
    return ls / np.exp(np.mean(np.log(ls)))


def trust_region_centres(
    u: np.ndarray, chi2: np.ndarray, *, max_centres: int, within: float, separation: float
) -> np.ndarray:
    """Indices of up to ``max_centres`` distinct good points, best first: greedy by χ² among the
    points with Δχ² < ``within`` of the best, each at least ``separation`` (unit-cube distance) from
    those already chosen, so that separate minima get their own trust region."""
    order = np.argsort(chi2, kind="stable")
    chosen: list[int] = []
    for i in order:
        if chi2[i] - chi2[order[0]] >= within or len(chosen) == max_centres:
            break
        if all(np.linalg.norm(u[i] - u[j]) >= separation for j in chosen):
            chosen.append(int(i))
    return np.array(chosen, dtype=np.int64)


def update_trust_radius(
    radius: float,
    hit_rate: float,
    *,
    low: float = 0.4,
    high: float = 0.75,
    radius_min: float,
    radius_max: float,
) -> float:
    """Next radius of a trust region from its last picks' hit rate (share within Δχ² of the best):
    halve below ``low`` (the region reaches over the basin's walls), ×1.5 above ``high`` (the basin
    is wider than the region), else keep."""
    if hit_rate < low:
        radius *= 0.5
    elif hit_rate > high:
        radius *= 1.5
    return float(min(max(radius, radius_min), radius_max))
