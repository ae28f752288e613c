"""Importance of the parameters themselves, through every model input built on them.

The explain stage's SHAP tables attribute the regressor's output to its inputs: the parameters
and the derived features. A parameter that acts mostly through derived features (the ALP's ceR
through c_μμ/fa) then looks unimportant while the χ² depends on it. Here the function explained
is f(θ) = regressor(features(θ)), and its Shapley values over the d parameters use the
interventional value function v(S) = E_b[f(θ_S, b_¬S)] over a background sample b of in-region
points. shap's Exact explainer evaluates all 2^d coalitions (so base + Σφ = f(θ) to rounding),
n · m · 2^d evaluations of f: 256 · 64 · 64 ≈ 10⁶ for d = 6. Above ``MAX_EXACT_DIM`` parameters
shap's Permutation explainer (antithetic permutations, still additive) takes over.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

__all__ = ["MAX_EXACT_DIM", "parameter_importance", "parameter_shapley"]

#: Largest d for exact Shapley values (2^d coalitions); beyond it, permutation sampling.
MAX_EXACT_DIM = 10


def parameter_shapley(
    f: Callable[[np.ndarray], np.ndarray],
    theta: np.ndarray,
    background: np.ndarray,
    *,
    seed: int = 0,
    permutations: int = 10,
) -> tuple[np.ndarray, float]:
    """Interventional Shapley values of f over the columns of theta.

    Parameters
    ----------
    f : callable
        (n, d) -> (n,) the function explained.
    theta : (n, d) ndarray
        Points to explain.
    background : (m, d) ndarray
        The reference distribution of the absent parameters (all m rows are used).
    seed : int
        Seed of the permutations (used only for d > ``MAX_EXACT_DIM``).
    permutations : int
        Antithetic permutation pairs per point for d > ``MAX_EXACT_DIM``.

    Returns
    -------
    values : (n, d) ndarray
        φ_j(θ_i); base + Σ_j φ_j = f(θ_i).
    base : float
        E_b[f(b)].

    Raises
    ------
    ValueError
        For shapes that do not match or non-finite points.
    """
    import shap

    X = np.asarray(theta, dtype=np.float64)
    B = np.asarray(background, dtype=np.float64)
    if X.ndim != 2 or B.ndim != 2 or X.shape[1] != B.shape[1] or len(B) == 0:
        raise ValueError(f"theta {X.shape} and background {B.shape} must be (n, d) and (m, d)")
    if not (np.isfinite(X).all() and np.isfinite(B).all()):
        raise ValueError("theta and background must be finite")
    d = X.shape[1]
    masker = shap.maskers.Independent(B, max_samples=len(B))

    def model(z):
        return np.asarray(f(np.asarray(z, dtype=np.float64)), dtype=np.float64).reshape(-1)

    if d <= MAX_EXACT_DIM:
        out = shap.explainers.Exact(model, masker)(X, silent=True)
    else:
        explainer = shap.explainers.Permutation(model, masker, seed=seed)
        out = explainer(X, max_evals=2 * permutations * d + 1, silent=True)
    values = np.asarray(out.values, dtype=np.float64).reshape(X.shape)
    return values, float(np.asarray(out.base_values, dtype=np.float64).reshape(-1)[0])


def parameter_importance(
    surrogate,
    theta: np.ndarray,
    names: Sequence[str],
    *,
    n_points: int = 256,
    n_background: int = 64,
    seed: int = 0,
    nthread: int = 1,
) -> dict[str, float]:
    """Mean |φ| per parameter of the regressor's output through its features.

    Parameters
    ----------
    surrogate : Surrogate
        Its ``regressor_booster_`` and ``features_of``.
    theta : (n, d) ndarray
        In-region points; ``n_points`` of them are explained against ``n_background`` others
        (both drawn with ``seed``; all of them where there are fewer).
    names : (d,) sequence of str
        The parameters, in column order.
    n_points, n_background, seed, nthread : int
        Sample sizes, seed and XGBoost threads.

    Returns
    -------
    dict
        {parameter: mean |φ|}, on the regressor's output scale.
    """
    from globalfit.explain.boosters import _margin

    theta = np.asarray(theta, dtype=np.float64)
    if theta.ndim != 2 or theta.shape[1] != len(names) or len(theta) < 2:
        raise ValueError(f"theta must be (n >= 2, {len(names)}), got {theta.shape}")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(theta))
    points = theta[order[: min(n_points, len(theta))]]
    background = theta[order[::-1][: min(n_background, len(theta))]]
    booster = surrogate.regressor_booster_

    def f(z):
        return _margin(booster, surrogate.features_of(z), nthread)

    values, _ = parameter_shapley(f, points, background, seed=seed)
    return {n: float(v) for n, v in zip(names, np.abs(values).mean(axis=0), strict=True)}
