"""Candidate points for the acquisition: Dirichlet combinations of d + 1 of the best points (local
hulls, which respect separate minima) and Gaussians around centres with given per-axis scales.
"""

from __future__ import annotations

import numpy as np

__all__ = ["gaussian_candidates", "hull_candidates"]


def hull_candidates(
    u_best: np.ndarray, n: int, rng: np.random.Generator, *, n_neighbours: int | None = None
) -> np.ndarray:
    """Random points in local simplices of the best points.

    Each point is a Dirichlet(1) combination of an anchor drawn uniformly from ``u_best`` and
    min(d, k-1) others drawn without replacement from the anchor's ``n_neighbours`` nearest best
    points, so separated clusters of good points give candidates inside each cluster, not between
    them.

    Parameters
    ----------
    u_best : (k, d) ndarray
        The best points (unit cube), k ≥ 2.
    n : int
        Number of candidates.
    rng : numpy.random.Generator
        Source of the random anchors, neighbours and weights.
    n_neighbours : int, optional
        Nearest best points an anchor's partners are drawn from (default 2d).

    Returns
    -------
    (n, d) ndarray
        The candidates, clipped to the unit cube.

    Raises
    ------
    ValueError
        If ``u_best`` has fewer than two points.
    """
    u_best = np.asarray(u_best, dtype=np.float64)
    k, d = u_best.shape
    if k < 2:
        raise ValueError("hull_candidates: need at least two best points")
    if n <= 0:
        return np.empty((0, d))
    m = min(d, k - 1)
    nn = max(m, min(k - 1, n_neighbours if n_neighbours is not None else 2 * d))
    dist = np.sum((u_best[:, None, :] - u_best[None, :, :]) ** 2, axis=-1)
    np.fill_diagonal(dist, np.inf)
    neighbours = np.argsort(dist, axis=1, kind="stable")[:, :nn]  # (k, nn)
    anchors = rng.integers(k, size=n)
    pick = np.argsort(rng.random((n, nn)), axis=1, kind="stable")[:, :m]
    others = np.take_along_axis(neighbours[anchors], pick, axis=1)
    vertices = np.concatenate([anchors[:, None], others], axis=1)  # (n, m+1)
    weights = rng.dirichlet(np.ones(m + 1), size=n)
    return np.clip(np.einsum("nv,nvd->nd", weights, u_best[vertices]), 0.0, 1.0)


def gaussian_candidates(
    centres: np.ndarray, n: int, sd: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Points from Gaussians around centres, reflected into the unit cube.

    Reflection (not clipping) keeps the density near a minimum on a face of the box.

    Parameters
    ----------
    centres : (k, d) ndarray
        Centres (unit cube); each point's centre is drawn uniformly from them.
    n : int
        Number of points.
    sd : (d,) or (k, d) ndarray
        Per-axis standard deviation (unit cube), shared or per centre.
    rng : numpy.random.Generator
        Source of the centres and offsets.

    Returns
    -------
    (n, d) ndarray
        The points.
    """
    centres = np.asarray(centres, dtype=np.float64)
    if n == 0:
        return np.zeros((0, centres.shape[1]))
    pick = rng.integers(0, len(centres), n)
    sd = np.broadcast_to(np.asarray(sd, dtype=np.float64), centres.shape)[pick]
    u = np.abs(centres[pick] + rng.normal(size=(n, centres.shape[1])) * sd)
    return np.where(u > 1.0, 2.0 - u, u).clip(0.0, 1.0)
