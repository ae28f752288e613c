"""Points to explain and their bands of true Δχ²; the input checks shared by the explainers.

Points are ``theta : (n, d)`` in parameter units in the model's feature order (``names``);
``delta : (n,)`` is the TRUE Δχ² of each point (χ² − χ²_best of the dataset), used only to band.
Edges ``(e_0, ..., e_{k-1})``, increasing and > 0, give k bands ``Δχ² < e_0``,
``e_0 ≤ Δχ² < e_1``, ...; points with Δχ² ≥ e_{k-1} belong to no band (−1) but still count in
``ALL``. Default ``(2.30, 10)``: the 68 % region of a two-parameter profile, and the rest of the
surrogate's region (Δχ² < 10).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from globalfit.levels import HIT, REGION

__all__ = [
    "ALL",
    "DEFAULT_BAND_EDGES",
    "band_index",
    "band_labels",
    "in_region_points",
    "points_from_bundle",
]

#: Default upper edges of the true-Δχ² bands: < 2.30 (68 % for two parameters) and 2.30–10.
DEFAULT_BAND_EDGES = (HIT, REGION)


#: Column / key of the importance over all explained points.
ALL = "all"


def _check_points(theta, names, what="theta") -> np.ndarray:
    X = np.asarray(theta, dtype=np.float64)
    if X.ndim == 1 and X.size == len(names):
        X = X[None, :]
    if X.ndim != 2 or X.shape[1] != len(names):
        raise ValueError(
            f"{what}: expected shape (n, {len(names)}) for parameters {list(names)}, got {X.shape}"
        )
    if X.shape[0] == 0:
        raise ValueError(f"{what}: no points to explain")
    bad = ~np.isfinite(X)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise ValueError(f"{what}: row {i} has a non-finite value for {names[j]!r}: {X[i, j]}")
    return X


def _check_delta(delta, n, what="delta") -> np.ndarray:
    d = np.asarray(delta, dtype=np.float64).reshape(-1)
    if d.size != n:
        raise ValueError(f"{what}: {d.size} values for {n} points")
    if np.isnan(d).any():
        raise ValueError(f"{what}: NaN at row {int(np.argmax(np.isnan(d)))}")
    return d


def _check_edges(edges) -> tuple[float, ...]:
    e = tuple(float(x) for x in edges)
    if not e:
        raise ValueError("band edges: need at least one edge")
    if not all(np.isfinite(x) and x > 0 for x in e) or any(
        b <= a for a, b in zip(e, e[1:], strict=False)
    ):
        raise ValueError(
            f"band edges must be finite, > 0 and strictly increasing, got {list(edges)}"
        )
    return e


def band_labels(edges: Sequence[float] = DEFAULT_BAND_EDGES) -> list[str]:
    """Labels of the bands, e.g. (2.3, 10) -> ['delta_chi2 < 2.3', '2.3 <= delta_chi2 < 10'].

    Parameters
    ----------
    edges : sequence of float
        Upper band edges, finite, > 0 and strictly increasing.

    Returns
    -------
    list of str
        One label per band.

    Raises
    ------
    ValueError
        For invalid edges.
    """
    e = _check_edges(edges)
    out = [f"delta_chi2 < {e[0]:g}"]
    out += [f"{a:g} <= delta_chi2 < {b:g}" for a, b in zip(e, e[1:], strict=False)]
    return out


def band_index(delta: np.ndarray, edges: Sequence[float] = DEFAULT_BAND_EDGES) -> np.ndarray:
    """The band of each point's true Δχ².

    Lower edges are inclusive, upper edges exclusive.

    Parameters
    ----------
    delta : (n,) ndarray
        True Δχ² (not NaN).
    edges : sequence of float
        Upper band edges (e_0, ..., e_{k-1}), finite, > 0 and strictly increasing.

    Returns
    -------
    (n,) int64 ndarray
        0 for Δχ² < e_0, i for e_{i-1} <= Δχ² < e_i, −1 for Δχ² >= e_{k-1} (and +inf).

    Raises
    ------
    ValueError
        For invalid edges or a NaN delta.
    """
    e = np.asarray(_check_edges(edges))
    d = np.asarray(delta, dtype=np.float64).reshape(-1)
    if np.isnan(d).any():
        raise ValueError(f"band_index: delta is NaN at row {int(np.argmax(np.isnan(d)))}")
    b = np.searchsorted(e, d, side="right")  # number of edges <= d
    return np.where(b >= e.size, -1, b).astype(np.int64)


def in_region_points(
    theta: np.ndarray,
    chi2: np.ndarray,
    *,
    threshold: float = 10.0,
    chi2_best: float | None = None,
    ok: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The dataset's in-region points, delta = χ² − chi2_best < threshold.

    Strict, as the surrogate's region.

    Parameters
    ----------
    theta : (N, d) ndarray
        The points.
    chi2 : (N,) ndarray
        Their χ² (NaN points are not usable).
    threshold : float
        Δχ² bound of the region.
    chi2_best : float, optional
        Reference χ² (default: the minimum χ² of the usable points).
    ok : (N,) bool ndarray, optional
        Usable points (default: all).

    Returns
    -------
    theta_in : (m, d) ndarray
        The in-region points.
    delta_in : (m,) ndarray
        Their Δχ².

    Raises
    ------
    ValueError
        For mismatched shapes, no usable point or no point in the region.
    """
    theta = np.asarray(theta, dtype=np.float64)
    chi2 = np.asarray(chi2, dtype=np.float64).reshape(-1)
    if theta.ndim != 2 or theta.shape[0] != chi2.size:
        raise ValueError(f"theta must be (N, d) and chi2 (N,), got {theta.shape} and {chi2.shape}")
    use = np.ones(chi2.size, bool) if ok is None else np.asarray(ok, dtype=bool).reshape(-1)
    if use.size != chi2.size:
        raise ValueError(f"ok has {use.size} entries for {chi2.size} points")
    use &= ~np.isnan(chi2)
    if not use.any():
        raise ValueError("in_region_points: no usable point")
    best = float(np.min(chi2[use])) if chi2_best is None else float(chi2_best)
    delta = chi2 - best
    keep = use & (delta < threshold)
    if not keep.any():
        raise ValueError(
            f"in_region_points: no point with delta_chi2 < {threshold} (chi2_best = {best})"
        )
    return theta[keep], delta[keep]


def points_from_bundle(bundle_dir: Path | str) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """The in-region points of a surrogate bundle's ``split.csv`` (all roles).

    Uses the bundle's own region definition (column in_region).

    Parameters
    ----------
    bundle_dir : path
        The bundle.

    Returns
    -------
    theta : (m, d) ndarray
        The points.
    delta : (m,) ndarray
        Their Δχ².
    names : tuple of str
        The parameter names.

    Raises
    ------
    FileNotFoundError
        If the bundle has no ``split.csv``.
    ValueError
        If a parameter, delta_chi2 or in_region column is missing.
    """
    bundle = Path(bundle_dir)
    meta = json.loads((bundle / "metadata.json").read_text())
    names = tuple(meta["parameters"]["names"])
    path = bundle / "split.csv"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing: the bundle was not written by Surrogate.fit/save"
        )
    table = pd.read_csv(path)
    missing = [c for c in (*names, "delta_chi2", "in_region") if c not in table.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}")
    table = table[table["in_region"].astype(bool)]
    return table[list(names)].to_numpy(np.float64), table["delta_chi2"].to_numpy(np.float64), names
