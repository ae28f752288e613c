"""Pairwise interactions of the surrogate's parameters: shapiq's k-SII of order ≤ 2.

k-SII splits a model output as baseline + Σ_i φ_i + Σ_{i<j} φ_ij, where φ_ij is the part that
neither parameter explains alone. It is computed at the best fit and averaged (mean |value|)
over a seeded sample of points (``n_points`` = 256 by default, a sample rather than all points
because order-2 interactions cost much more per point than SHAP values). Every batch is
checked for efficiency against the original model's margin (see :mod:`.boosters`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from globalfit.explain.bands import (
    DEFAULT_BAND_EDGES,
    _check_delta,
    _check_edges,
    _check_points,
    band_index,
    band_labels,
)
from globalfit.explain.boosters import _check_features, _margin, _shapiq_ready

__all__ = ["InteractionResult", "pairwise_interactions", "sample_rows"]


def _kSII(booster, X: np.ndarray, d: int, nthread: int) -> tuple[np.ndarray, np.ndarray, float]:
    """k-SII order ≤ 2 at X (m, d) -> (first (m, d), pairs (m, d, d) symmetric, zero diagonal,
    baseline). Checks efficiency: baseline + Σ first + Σ_{i<j} pairs = margin."""
    import shapiq

    b = _shapiq_ready(booster, nthread)
    explainer = shapiq.TreeExplainer(b, max_order=2, index="k-SII")
    # the default index ("SV") has no pairs; n_jobs=None keeps the computation on one core
    batch = explainer.explain_X(np.asarray(X, dtype=np.float64), n_jobs=None)
    vals = batch.values
    m = X.shape[0]
    first = np.zeros((m, d))
    pairs = np.zeros((m, d, d))
    for key, v in vals.items():
        v = np.asarray(v, dtype=np.float64).reshape(m)
        if len(key) == 1:
            first[:, key[0]] = v
        elif len(key) == 2:
            i, j = key
            pairs[:, i, j] = pairs[:, j, i] = v
    baseline = float(np.asarray(batch.baseline_value).reshape(-1)[0])
    out = _margin(booster, X, nthread)  # the ORIGINAL model: proves the patched copy explains it
    total = baseline + first.sum(axis=1) + np.triu(pairs, 1).sum(axis=(1, 2))
    err = np.abs(total - out)
    tol = 1e-3 + 1e-4 * np.abs(out)
    if np.any(err > tol):
        i = int(np.argmax(err - tol))
        raise RuntimeError(
            f"shapiq k-SII values do not add up to the model output at row {i} "
            f"({total[i]} vs {out[i]}): the tree conversion does not match the model"
        )
    return first, pairs, baseline


@dataclass
class InteractionResult:
    """Pairwise k-SII interactions (order ≤ 2) of one model.

    theta_best : (d,) the best fit; best_first : (d,), best_pairs : (d, d) symmetric, zero diagonal
    sample_theta : (m, d) the seeded sample; sample_delta, sample_band : (m,)
    first : (m, d), pairs : (m, d, d) per sample point; baseline : float
    mean_abs_pairs : (d, d) mean |pair value| over the sample; mean_abs_first : (d,)
    """

    names: tuple[str, ...]
    theta_best: np.ndarray
    best_first: np.ndarray
    best_pairs: np.ndarray
    best_output: float
    sample_theta: np.ndarray
    sample_delta: np.ndarray
    sample_band: np.ndarray
    first: np.ndarray
    pairs: np.ndarray
    baseline: float
    labels: list[str]
    seed: int
    index: str = "k-SII"

    @property
    def mean_abs_pairs(self) -> np.ndarray:
        return np.abs(self.pairs).mean(axis=0)

    @property
    def mean_abs_first(self) -> np.ndarray:
        return np.abs(self.first).mean(axis=0)

    def table(self) -> pd.DataFrame:
        """One row per pair (a, b): value at the best fit, mean |value| over the sample and per
        band (NaN for an empty band); sorted by mean |value|, largest first."""
        d = len(self.names)
        rows = []
        ab = np.abs(self.pairs)
        for i in range(d):
            for j in range(i + 1, d):
                row = {
                    "a": self.names[i],
                    "b": self.names[j],
                    "best_fit": float(self.best_pairs[i, j]),
                    "mean_abs": float(ab[:, i, j].mean()),
                }
                for k, lab in enumerate(self.labels):
                    m = self.sample_band == k
                    row[f"mean_abs[{lab}]"] = float(ab[m, i, j].mean()) if m.any() else math.nan
                rows.append(row)
        df = pd.DataFrame(rows)
        return df.sort_values("mean_abs", ascending=False, kind="stable").reset_index(drop=True)

    def top_pairs(self, k: int | None = None, *, which: str = "mean_abs") -> list[dict]:
        """[{"pair": [a, b], "value": v}] sorted by |value|, largest first; which = 'mean_abs'
        (average over the sample) or 'best_fit' (signed value at the best fit)."""
        if which not in ("mean_abs", "best_fit"):
            raise ValueError(f"which must be 'mean_abs' or 'best_fit', got {which!r}")
        t = self.table()
        order = np.argsort(-np.abs(t[which].to_numpy()), kind="stable")
        t = t.iloc[order[: (k if k is not None else len(t))]]
        return [
            {"pair": [a, b], "value": float(v)}
            for a, b, v in zip(t["a"], t["b"], t[which], strict=True)
        ]

    def interaction_values(self, which: str = "best_fit"):
        """A ``shapiq.InteractionValues`` (for shapiq's plots) of the best fit or of the mean
        |values|."""
        import shapiq

        d = len(self.names)
        if which == "best_fit":
            first, pairs, base = self.best_first, self.best_pairs, self.baseline
        elif which == "mean_abs":
            first, pairs, base = self.mean_abs_first, self.mean_abs_pairs, 0.0
        else:
            raise ValueError(f"which must be 'best_fit' or 'mean_abs', got {which!r}")
        lookup, vals = {(): 0}, [base]
        for i in range(d):
            lookup[(i,)] = len(vals)
            vals.append(first[i])
        for i in range(d):
            for j in range(i + 1, d):
                lookup[(i, j)] = len(vals)
                vals.append(pairs[i, j])
        return shapiq.InteractionValues(
            np.asarray(vals),
            index=self.index,
            max_order=2,
            n_players=d,
            min_order=0,
            interaction_lookup=lookup,
            estimated=False,
            baseline_value=base,
        )


def sample_rows(n: int, n_points: int, seed: int) -> np.ndarray:
    """Sorted indices of a seeded random subset of range(n) of size min(n, n_points).

    Parameters
    ----------
    n : int
        Number of rows.
    n_points : int
        Subset size, ≥ 1.
    seed : int
        The seed.

    Returns
    -------
    (m,) ndarray
        The sorted indices.

    Raises
    ------
    ValueError
        If n_points < 1.
    """
    if n_points < 1:
        raise ValueError(f"n_points must be >= 1, got {n_points}")
    if n_points >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=n_points, replace=False))


def pairwise_interactions(
    booster,
    theta: np.ndarray,
    delta: np.ndarray,
    names: Sequence[str],
    *,
    theta_best: np.ndarray | None = None,
    n_points: int = 256,
    edges: Sequence[float] = DEFAULT_BAND_EDGES,
    seed: int = 0,
    nthread: int = 1,
) -> InteractionResult:
    """Pairwise Shapley interactions (shapiq TreeExplainer, max_order=2, index='k-SII').

    Of the booster at the best fit and at a seeded sample of ``n_points`` of theta. k-SII splits
    the output as baseline + Σ_i φ_i + Σ_{i<j} φ_ij; φ_ij is the part that neither parameter
    explains alone (e.g. 3·x2·x4 lands in φ_24).

    Parameters
    ----------
    booster : xgboost.Booster
        The model.
    theta : (n, d) ndarray
        The points, in the model's feature order.
    delta : (n,) ndarray
        Their true Δχ².
    names : (d,) sequence of str
        The model's features.
    theta_best : (d,) ndarray, optional
        The point to explain; default: the row of theta with the smallest delta.
    n_points : int
        Size of the sample of theta.
    edges : sequence of float
        Upper band edges of the sample's bands.
    seed : int
        Seed of the sample.
    nthread : int
        Threads for the explainer.

    Returns
    -------
    InteractionResult
        First-order and pairwise values at the best fit and on the sample.
    """
    names = tuple(names)
    X = _check_points(theta, names)
    dl = _check_delta(delta, X.shape[0])
    edges = _check_edges(edges)
    _check_features(booster, names)
    best = (
        X[int(np.argmin(dl))]
        if theta_best is None
        else _check_points(theta_best, names, "theta_best")[0]
    )
    rows = sample_rows(X.shape[0], n_points, seed)
    d = len(names)
    first, pairs, baseline = _kSII(booster, np.vstack([best[None, :], X[rows]]), d, nthread)
    total_best = baseline + first[0].sum() + np.triu(pairs[0], 1).sum()
    return InteractionResult(
        names=names,
        theta_best=best,
        best_first=first[0],
        best_pairs=pairs[0],
        best_output=float(total_best),
        sample_theta=X[rows],
        sample_delta=dl[rows],
        sample_band=band_index(dl[rows], edges),
        first=first[1:],
        pairs=pairs[1:],
        baseline=baseline,
        labels=band_labels(edges),
        seed=int(seed),
    )
