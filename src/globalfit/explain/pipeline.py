"""The explain stage in one call: :func:`explain_surrogate` explains a fitted
:class:`~globalfit.surrogate.Surrogate` at its in-region points.

SHAP of the regressor and of the classifier's margin at the points, SHAP of the regressor at the
best fit (given Δχ² = 0 for the bands), and the regressor's pairwise interactions. The
regressor's importances give the ranking of ``importance.json``; the classifier's are reported
beside them, on their own log-odds scale.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from globalfit.explain.bands import DEFAULT_BAND_EDGES, _check_delta, _check_points
from globalfit.explain.interactions import InteractionResult, pairwise_interactions
from globalfit.explain.shapley import ShapResult, explain_points

__all__ = ["SurrogateExplanation", "explain_surrogate"]


@dataclass
class SurrogateExplanation:
    """Everything the explain stage reports: SHAP of the regressor and of the classifier's
    margin at the in-region points, SHAP of the regressor at the best fit, pair interactions."""

    regressor: ShapResult
    classifier: ShapResult | None
    best_fit: ShapResult
    interactions: InteractionResult


def explain_surrogate(
    surrogate,
    theta: np.ndarray,
    delta: np.ndarray,
    *,
    theta_best: np.ndarray | None = None,
    edges: Sequence[float] = DEFAULT_BAND_EDGES,
    n_interaction_points: int = 256,
    classifier: bool = True,
    seed: int = 0,
    nthread: int = 1,
    backend: str = "shap",
) -> SurrogateExplanation:
    """Explain a fitted or loaded :class:`~globalfit.surrogate.Surrogate` at in-region points.

    Uses ``surrogate.regressor_booster_``, ``surrogate.classifier_booster_``,
    ``surrogate.space.names``, ``surrogate.target_transform`` and ``surrogate.threshold``.

    Parameters
    ----------
    surrogate : Surrogate
        The surrogate.
    theta : (n, d) ndarray
        In-region points (e.g. :func:`points_from_bundle`).
    delta : (n,) ndarray
        Their true Δχ².
    theta_best : (d,) ndarray, optional
        Best fit (e.g. from the inference stage; it is given Δχ² = 0 for the bands); default: the
        lowest-delta point.
    edges : sequence of float
        Upper band edges.
    n_interaction_points : int
        Points sampled for the pairwise interactions.
    classifier : bool
        Also explain the classifier's log-odds.
    seed : int
        Seed of the interaction sample.
    nthread : int
        Threads for the explainers.
    backend : {"shap", "shapiq"}
        SHAP implementation (:func:`shap_values`); interactions always use shapiq.

    Returns
    -------
    SurrogateExplanation
        Regressor, classifier (or None) and best-fit SHAP results, and the interactions.
    """
    X = surrogate.features_of(_check_points(theta, tuple(surrogate.space.names)))
    names = tuple(surrogate.feature_names)  # the parameters, then any derived features
    dl = _check_delta(delta, X.shape[0])
    transform = getattr(surrogate, "target_transform", "delta_chi2")
    scale = {"delta_chi2": "delta_chi2", "log1p_delta_chi2": "log(1 + delta_chi2)"}.get(
        transform, transform
    )
    reg = explain_points(
        surrogate.regressor_booster_,
        X,
        dl,
        names,
        edges=edges,
        model="regressor",
        scale=scale,
        nthread=nthread,
        backend=backend,
    )
    clf = None
    if classifier:
        clf = explain_points(
            surrogate.classifier_booster_,
            X,
            dl,
            names,
            edges=edges,
            model="classifier",
            scale=f"log-odds of delta_chi2 < {surrogate.threshold:g}",
            nthread=nthread,
            backend=backend,
        )
    best = (
        X[int(np.argmin(dl))]
        if theta_best is None
        else surrogate.features_of(
            _check_points(theta_best, tuple(surrogate.space.names), "theta_best")
        )[0]
    )
    best_delta = float(dl[int(np.argmin(dl))]) if theta_best is None else 0.0
    best_res = explain_points(
        surrogate.regressor_booster_,
        best[None, :],
        [best_delta],
        names,
        edges=edges,
        model="regressor (best fit)",
        scale=scale,
        nthread=nthread,
        backend=backend,
    )
    inter = pairwise_interactions(
        surrogate.regressor_booster_,
        X,
        dl,
        names,
        theta_best=best,
        n_points=n_interaction_points,
        edges=edges,
        seed=seed,
        nthread=nthread,
    )
    return SurrogateExplanation(reg, clf, best_res, inter)
