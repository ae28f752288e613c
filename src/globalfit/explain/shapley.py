"""SHAP values of one XGBoost model at given points, grouped by band of true Δχ².

Tree-path-dependent TreeSHAP (``shap.TreeExplainer``, ``model_output="raw"``): no background
data is needed, the training covers stored in the trees are the reference distribution. Values
are on the model's own output scale: the regressor's transformed target (Δχ² for
``target_transform='delta_chi2'``, log(1 + Δχ²) for ``'log1p_delta_chi2'``), the classifier's
log-odds. Per point, base value + Σ SHAP = model output (up to float32), and
:func:`explain_points` checks it, so that a broken explainer cannot produce a plausible table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from globalfit.explain.bands import (
    ALL,
    DEFAULT_BAND_EDGES,
    _check_delta,
    _check_edges,
    _check_points,
    band_index,
    band_labels,
)
from globalfit.explain.boosters import _check_features, _margin, _shapiq_ready, _with_nthread

__all__ = ["ShapResult", "explain_points", "mean_abs_table", "shap_values"]


@dataclass
class ShapResult:
    """SHAP values of one model at n points.

    names : (d,) parameters; theta : (n, d); delta : (n,) true Δχ²; band : (n,) int (−1: none)
    values : (n, d) SHAP values; base_value : float; output : (n,) model output (raw margin)
    edges, labels : the bands; model : 'regressor' / 'classifier' / free text; scale : what the
    output means (e.g. 'delta_chi2', 'log-odds of delta_chi2 < 10').
    """

    names: tuple[str, ...]
    theta: np.ndarray
    delta: np.ndarray
    band: np.ndarray
    values: np.ndarray
    base_value: float
    output: np.ndarray
    edges: tuple[float, ...]
    labels: list[str]
    model: str = "regressor"
    scale: str = ""

    def table(self) -> pd.DataFrame:
        """Mean |SHAP| per parameter (index) and band (columns: band labels, then ``ALL``).
        A band without points has NaN; ``attrs['counts']`` = {column: number of points}."""
        return mean_abs_table(self.values, self.band, self.labels, self.names)

    def ranking(self) -> list[str]:
        """Parameters by mean |SHAP| over all points, most important first."""
        t = self.table()[ALL]
        return list(t.sort_values(ascending=False, kind="stable").index)

    def select(self, band: str | int | None) -> np.ndarray:
        """(n,) bool rows of a band (label or index); None or ``ALL`` -> all rows."""
        if band is None or band == ALL:
            return np.ones(self.band.size, bool)
        return self.band == self.band_number(band)

    def band_number(self, band: str | int) -> int:
        """Index of a band given by label or index; ValueError naming the known bands otherwise."""
        if isinstance(band, str):
            if band not in self.labels:
                raise ValueError(f"unknown band {band!r}; bands: {self.labels}")
            return self.labels.index(band)
        i = int(band)
        if not 0 <= i < len(self.labels):
            raise ValueError(f"unknown band {band!r}; bands: {self.labels}")
        return i

    def explanation(self, band: str | int | None = None):
        """A ``shap.Explanation`` of the rows of one band (for shap's plots)."""
        import shap

        m = self.select(band)
        return shap.Explanation(
            values=self.values[m],
            base_values=np.full(int(m.sum()), self.base_value),
            data=self.theta[m],
            feature_names=list(self.names),
        )


def mean_abs_table(
    values: np.ndarray, band: np.ndarray, labels: Sequence[str], names: Sequence[str]
) -> pd.DataFrame:
    """Mean |SHAP| per parameter and band.

    Parameters
    ----------
    values : (n, d) ndarray
        SHAP values.
    band : (n,) int ndarray
        Band of each point (:func:`band_index`).
    labels : sequence of str
        Band labels, in band order.
    names : (d,) sequence of str
        The parameters.

    Returns
    -------
    pandas.DataFrame
        d parameters x (bands + ALL); ``attrs["counts"]`` holds the points per column.

    Raises
    ------
    ValueError
        If values is not (n, d).
    """
    values = np.asarray(values, dtype=np.float64)
    band = np.asarray(band).reshape(-1)
    if values.shape != (band.size, len(names)):
        raise ValueError(
            f"values {values.shape} do not match {band.size} points x {len(names)} parameters"
        )
    a = np.abs(values)
    cols, counts = {}, {}
    for i, lab in enumerate(labels):
        m = band == i
        counts[lab] = int(m.sum())
        cols[lab] = a[m].mean(axis=0) if m.any() else np.full(len(names), np.nan)
    cols[ALL] = a.mean(axis=0)
    counts[ALL] = int(band.size)
    out = pd.DataFrame(cols, index=pd.Index(list(names), name="parameter"))
    out.attrs["counts"] = counts
    return out


def shap_values(
    booster, theta: np.ndarray, *, nthread: int = 1, backend: str = "shap"
) -> tuple[np.ndarray, float]:
    """SHAP values of an XGBoost booster's raw output (margin).

    Tree-path-dependent TreeSHAP: no background data, the training covers stored in the trees are
    the reference distribution.

    Parameters
    ----------
    booster : xgboost.Booster
        The model.
    theta : (n, d) ndarray
        The points, in the model's feature order.
    nthread : int
        Threads of the "shap" backend.
    backend : {"shap", "shapiq"}
        "shap" (``shap.TreeExplainer``, which calls XGBoost's own TreeSHAP, on ``nthread``
        threads) or "shapiq" (``shapiq.TreeExplainer(index="SV", max_order=1)``, a linear-time
        TreeSHAP, single-threaded, faster on deep ensembles; same values to ~1e-5).

    Returns
    -------
    values : (n, d) ndarray
        The SHAP values.
    base_value : float
        The expected margin.

    Raises
    ------
    ValueError
        For an unknown backend.
    """
    X = np.asarray(theta, dtype=np.float32)
    if backend == "shap":
        import shap
        import xgboost as xgb

        b = _with_nthread(booster, nthread)
        explainer = shap.TreeExplainer(
            b, feature_perturbation="tree_path_dependent", model_output="raw"
        )
        # a DMatrix with an explicit thread count: shap would otherwise build one on all cores
        sv = explainer.shap_values(xgb.DMatrix(X, nthread=int(nthread)), check_additivity=False)
        sv = np.asarray(sv, dtype=np.float64).reshape(X.shape[0], X.shape[1])
        return sv, float(np.asarray(explainer.expected_value).reshape(-1)[0])
    if backend == "shapiq":
        import shapiq

        explainer = shapiq.TreeExplainer(_shapiq_ready(booster, nthread), max_order=1, index="SV")
        batch = explainer.explain_X(X.astype(np.float64), n_jobs=None)
        sv = np.column_stack(
            [
                np.asarray(batch.values[(j,)], dtype=np.float64).reshape(-1)
                for j in range(X.shape[1])
            ]
        )
        return sv, float(np.asarray(batch.baseline_value).reshape(-1)[0])
    raise ValueError(f"backend must be 'shap' or 'shapiq', got {backend!r}")


def explain_points(
    booster,
    theta: np.ndarray,
    delta: np.ndarray,
    names: Sequence[str],
    *,
    edges: Sequence[float] = DEFAULT_BAND_EDGES,
    model: str = "regressor",
    scale: str = "",
    nthread: int = 1,
    backend: str = "shap",
) -> ShapResult:
    """SHAP values of ``booster`` at the points, banded by the true Δχ².

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
    edges : sequence of float
        Upper band edges.
    model, scale : str
        What is explained and the scale of its output, recorded in the result.
    nthread : int
        Threads of the explainer and the margin prediction.
    backend : {"shap", "shapiq"}
        As for :func:`shap_values`.

    Returns
    -------
    ShapResult
        Values, base value, margins, bands and labels.

    Raises
    ------
    ValueError
        For shape mismatches, non-finite points or a model whose number of features differs from
        ``names``.
    RuntimeError
        If base value + Σ SHAP differs from the model's margin (a broken explainer must not
        produce a plausible table).
    """
    names = tuple(names)
    X = _check_points(theta, names)
    d = _check_delta(delta, X.shape[0])
    edges = _check_edges(edges)
    _check_features(booster, names)
    values, base = shap_values(booster, X, nthread=nthread, backend=backend)
    out = _margin(booster, X, nthread)
    err = np.abs(base + values.sum(axis=1) - out)
    tol = 1e-3 + 1e-4 * np.abs(out)
    if np.any(err > tol):
        i = int(np.argmax(err - tol))
        raise RuntimeError(
            f"SHAP values of the {model} do not add up to its output at row {i}: "
            f"base {base} + sum {values[i].sum()} != {out[i]}"
        )
    return ShapResult(
        names,
        X,
        d,
        band_index(d, edges),
        values,
        base,
        out,
        edges,
        band_labels(edges),
        model,
        scale,
    )
