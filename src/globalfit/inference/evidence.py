"""The evidence on the surrogate, corrected by the true χ², and the Bayes factor.

The nested sampler integrates the surrogate's likelihood; the true χ² at M equal-weight
posterior samples corrects it, since Z_true / Z_sur = ⟨e^{−(χ²_true − χ²_sur)/2}⟩ over the
surrogate posterior. The correction can only see where the surrogate put mass: an island the
classifier hides is missing from both (the discarded-side probe of the active learning counts
those). Its error is a bootstrap over the M samples, added in quadrature to the sampler's.

The Bayes factor is against the reference point as a point hypothesis (its evidence is its
likelihood, ln Z_ref = −χ²_ref/2). ln Z depends on the prior's volume: for flat parameters,
doubling a box width lowers ln Z by ln 2 when all mass stays inside; :func:`box_variation`
reports the exact change for one variation, the central half of every flat parameter's box.

Examples
--------
A surrogate that is right up to a constant offset of 2 in χ² is corrected by exactly −1:

>>> import numpy as np
>>> chi2_sur = np.random.default_rng(0).chisquare(3, size=400)
>>> c = corrected_log_evidence(-10.0, chi2_sur + 2.0, chi2_sur, seed=0)
>>> round(c["log_z_corrected"], 6), round(c["log_z_correction_err"], 6)
(-11.0, 0.0)
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import logsumexp

from globalfit.inference.unit_cube import UnitCubePrior

__all__ = ["bayes_factor", "box_variation", "corrected_log_evidence"]


def corrected_log_evidence(
    log_z: float,
    chi2_true: np.ndarray,
    chi2_surrogate: np.ndarray,
    *,
    log_z_err: float = 0.0,
    failed: np.ndarray | None = None,
    n_bootstrap: int = 1000,
    seed: int = 0,
    base_weights: np.ndarray | None = None,
) -> dict:
    """ln Z_true = ln Z_sur + ln ⟨e^{−(χ²_true − χ²_sur)/2}⟩ over equal-weight posterior samples.

    Parameters
    ----------
    log_z, log_z_err : float
        The surrogate's evidence and the sampler's error on it.
    chi2_true, chi2_surrogate : (M,) ndarrays
        True and surrogate χ² at M equal-weight samples of the surrogate posterior.
    failed : (M,) bool ndarray, optional
        Failed true evaluations (NaN counts as failed too); they are left out.
    n_bootstrap : int
        Bootstrap resamples of the M points for the correction's error.
    seed : int
        Seed of the bootstrap.
    base_weights : (M,) ndarray, optional
        Posterior weights of the points if they are not equal-weight draws (drawn per island).

    Returns
    -------
    dict
        ``log_z_corrected``, ``log_z_correction``, ``log_z_correction_err`` (bootstrap sd),
        ``log_z_corrected_err`` (both errors in quadrature) and ``n_used``.
    """
    t = np.asarray(chi2_true, dtype=np.float64).reshape(-1)
    s = np.asarray(chi2_surrogate, dtype=np.float64).reshape(-1)
    if t.shape != s.shape:
        raise ValueError(f"chi2_true {t.shape} and chi2_surrogate {s.shape} differ in shape")
    bad = np.isnan(t) | np.isnan(s)
    if failed is not None:
        bad |= np.asarray(failed, dtype=bool).reshape(-1)
    base = np.ones(t.size) if base_weights is None else np.asarray(base_weights, dtype=float)
    log_base = np.log(base[~bad])
    logw = log_base - 0.5 * (t[~bad] - s[~bad])
    n = logw.size
    if n == 0 or not np.isfinite(logw).any():
        return {
            "log_z_corrected": -math.inf,
            "log_z_correction": -math.inf,
            "log_z_correction_err": math.nan,
            "log_z_corrected_err": math.nan,
            "n_used": n,
        }
    correction = float(logsumexp(logw) - logsumexp(log_base))
    pick = np.random.default_rng(seed).integers(0, n, size=(n_bootstrap, n))
    boots = logsumexp(logw[pick], axis=1) - logsumexp(log_base[pick], axis=1)
    err = float(np.std(boots[np.isfinite(boots)])) if np.isfinite(boots).any() else math.nan
    return {
        "log_z_corrected": float(log_z + correction),
        "log_z_correction": correction,
        "log_z_correction_err": err,
        "log_z_corrected_err": float(math.hypot(log_z_err, err)),
        "n_used": n,
    }


def bayes_factor(log_z: float, log_z_err: float, chi2_reference: float) -> dict:
    """ln B of the model against its reference point taken as a point hypothesis.

    Parameters
    ----------
    log_z, log_z_err : float
        The model's evidence (corrected, where the truth is known) and its error.
    chi2_reference : float
        True χ² at the reference point; its evidence is its likelihood, e^{−χ²/2}.

    Returns
    -------
    dict
        ``log_b`` = ln Z + χ²_ref/2, ``log_b_err``, ``log_z_reference``.

    Examples
    --------
    >>> bayes_factor(-12.0, 0.1, 30.0)
    {'log_b': 3.0, 'log_b_err': 0.1, 'log_z_reference': -15.0}
    """
    return {
        "log_b": float(log_z + 0.5 * chi2_reference),
        "log_b_err": float(log_z_err),
        "log_z_reference": float(-0.5 * chi2_reference),
    }


def box_variation(
    cube: UnitCubePrior,
    samples: np.ndarray,
    log_weights: np.ndarray,
    *,
    n_prior: int = 200_000,
    seed: int = 0,
) -> dict:
    """Change of ln Z when every flat parameter's prior box shrinks to its central half.

    Z′/Z = P_posterior(half box) / P_prior(half box), exact up to sampling noise: the prior is
    renormalised on the smaller box and the likelihood is unchanged inside it.

    Parameters
    ----------
    cube : UnitCubePrior
        The prior.
    samples : (n, d) ndarray
        Posterior samples.
    log_weights : (n,) ndarray
        Their log-weights (normalised or not).
    n_prior : int
        Prior draws for the prior mass of the smaller box (the soft walls make it inexact).
    seed : int
        Seed of the prior draws.

    Returns
    -------
    dict
        ``delta_log_z``, the posterior and prior masses inside, and which parameters shrank.
    """
    prior = cube.prior
    flat = [i for i, p in enumerate(prior.parameters) if p.type != "gaussian"]
    lo, hi = prior.space.lower, prior.space.upper
    quarter = (hi - lo) / 4.0

    def inside(x):
        return np.all(np.abs(x[:, flat] - (lo + hi)[flat] / 2.0) <= quarter[flat], axis=1)

    lw = np.asarray(log_weights, dtype=np.float64)
    w = np.exp(lw - logsumexp(lw))
    post = float(w[inside(np.asarray(samples))].sum())
    draws = cube.transform(np.random.default_rng(seed).random((n_prior, cube.dim)))
    q = np.exp(cube.log_weight(draws))
    pri = float(q[inside(draws)].sum() / q.sum())
    return {
        "variation": "every flat parameter's box shrunk to its central half",
        "parameters": [prior.names[i] for i in flat],
        "posterior_mass_inside": post,
        "prior_mass_inside": pri,
        "delta_log_z": float(math.log(post) - math.log(pri)) if post > 0 else -math.inf,
    }
