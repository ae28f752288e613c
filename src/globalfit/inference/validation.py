"""Validation of a surrogate posterior by importance reweighting with the true χ².

The true χ² is evaluated at M posterior samples of the surrogate; weights w ∝ exp(−(χ²_true −
χ²_surrogate)/2) turn them into samples of the true posterior. Two numbers judge them: the
effective sample size fraction (Σw)² / (M Σw²), how much of the sample survives (default
threshold 0.5, with a bootstrap error), and the Pareto k̂ of the weights' tail (PSIS, Vehtari et
al. 2024, through arviz), which sees a heavy tail that a finite sample's ESS hides: k̂ > 0.7
means the reweighted estimates cannot be trusted whatever the ESS says. More than 10 % failed
true evaluations (``max_failed_fraction``) also fail the check, since failures may cluster in
one region. Failed points are excluded and counted, never given a weight.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.special import logsumexp

from globalfit.inference.summary import posterior_summary

__all__ = [
    "importance_weights",
    "pareto_k",
    "reweighted_posterior",
    "reweighted_weights",
    "reweighting_metrics",
]


def importance_weights(chi2_true: np.ndarray, chi2_surrogate: np.ndarray) -> np.ndarray:
    """Normalised weights w ∝ exp(−(χ²_true − χ²_surrogate)/2), computed in log space.

    Shifted by the maximum so that nothing overflows.

    Parameters
    ----------
    chi2_true, chi2_surrogate : (M,) ndarray
        True and surrogate χ²; must be finite or (true χ² only) +inf (weight 0); exclude failed
        evaluations first (see :func:`reweighting_metrics`).

    Returns
    -------
    (M,) ndarray
        The weights, summing to 1.

    Raises
    ------
    ValueError
        For different shapes, NaN/inf inputs, or every true χ² +inf.
    """
    t = np.asarray(chi2_true, dtype=np.float64).reshape(-1)
    s = np.asarray(chi2_surrogate, dtype=np.float64).reshape(-1)
    if t.shape != s.shape:
        raise ValueError(f"chi2_true {t.shape} and chi2_surrogate {s.shape} differ in shape")
    if np.isnan(t).any() or np.isnan(s).any() or np.isinf(s).any() or (t == -np.inf).any():
        raise ValueError("importance_weights: NaN/inf inputs (exclude failed evaluations first)")
    logw = -0.5 * (t - s)
    if not np.isfinite(logw).any():
        raise ValueError("importance_weights: every true χ² is +inf")
    logw -= np.max(logw)
    w = np.exp(logw)
    return w / w.sum()


def pareto_k(log_weights: np.ndarray) -> float:
    """PSIS k̂ of importance log-weights (arviz's ``psislw``); ≤ 0.7 is the usual bound.

    Parameters
    ----------
    log_weights : (M,) ndarray
        Unnormalised log importance weights; −inf entries (weight 0) are allowed.

    Returns
    -------
    float
        The generalised-Pareto shape of the largest weights' tail (NaN with fewer than 5 finite
        weights, −inf when all are equal).
    """
    import arviz  # heavy; only the validation needs it

    lw = np.asarray(log_weights, dtype=np.float64).reshape(-1)
    lw = lw[np.isfinite(lw)]
    if lw.size < 5:
        return math.nan
    if np.ptp(lw) < 1e-12:  # equal weights: a point mass, the bounded limit k → −∞
        return -math.inf
    _, k = arviz.psislw(lw - lw.max())
    return float(k)


def _log_weights(t: np.ndarray, s: np.ndarray, base: np.ndarray, usable: np.ndarray) -> np.ndarray:
    """log base − ½(χ²_true − χ²_sur) where usable (and χ²_true not NaN), −inf elsewhere."""
    usable = usable & ~np.isnan(t)
    out = np.full(t.size, -np.inf)
    out[usable] = np.log(base[usable]) - 0.5 * (t[usable] - s[usable])
    return out


def reweighting_metrics(
    chi2_true: np.ndarray,
    chi2_surrogate: np.ndarray,
    samples: np.ndarray | None = None,
    names: Sequence[str] | None = None,
    *,
    failed: np.ndarray | None = None,
    ess_threshold: float = 0.5,
    pareto_k_threshold: float = 0.7,
    max_failed_fraction: float = 0.1,
    n_bootstrap: int = 500,
    seed: int = 0,
    base_weights: np.ndarray | None = None,
) -> dict:
    """Importance-reweighting check of a surrogate posterior with true χ² at M posterior samples.

    Parameters
    ----------
    chi2_true, chi2_surrogate : (M,) arrays
        True and surrogate χ² at the samples; the surrogate's must be finite.
    samples : (M, d) array, optional
        The points, for raw vs reweighted means (``means``).
    names : (d,) sequence of str, optional
        Labels of the columns of ``samples`` (default x0, x1, ...).
    failed : (M,) bool array, optional
        True evaluations that failed; NaN or −inf in ``chi2_true`` also counts as failed. Failed
        points are excluded and counted (``n_failed``).
    ess_threshold : float
        Minimum ESS fraction (Σw)² / (M_used Σw²) for a validated posterior.
    pareto_k_threshold : float
        Maximum PSIS k̂ of the log-weights for a validated posterior.
    max_failed_fraction : float
        Maximum fraction of failed true evaluations for a passing check.
    n_bootstrap, seed : int
        Bootstrap resamples of the points for the ESS fraction's error, and their seed.
    base_weights : (M,) array, optional
        Posterior weights of the points when they are not equal-weight draws (points drawn
        per island carry island mass / points drawn there); the ESS fraction is then relative
        to the base weights' own ESS.

    Returns
    -------
    dict
        Counts, ``ess``, ``ess_fraction`` and ``ess_fraction_err``, ``pareto_k``,
        ``max_weight_share``, χ² residual statistics, ``means`` (if samples are given),
        ``passed`` (ESS fraction ≥ ``ess_threshold``, k̂ ≤ ``pareto_k_threshold`` and failed
        fraction ≤ ``max_failed_fraction``) and ``sentence``, the verdict in words.
    """
    t = np.asarray(chi2_true, dtype=np.float64).reshape(-1)
    s = np.asarray(chi2_surrogate, dtype=np.float64).reshape(-1)
    M = t.size
    if s.size != M:
        raise ValueError(f"chi2_true has {M} values, chi2_surrogate {s.size}")
    if not np.all(np.isfinite(s)):
        raise ValueError("chi2_surrogate must be finite at posterior samples")
    bad = np.isnan(t) | (t == -np.inf)
    if failed is not None:
        failed = np.asarray(failed, dtype=bool).reshape(-1)
        if failed.size != M:
            raise ValueError(f"failed mask has {failed.size} entries for {M} points")
        bad |= failed
    used = ~bad
    n_used, n_failed = int(used.sum()), int(bad.sum())
    failed_fraction = n_failed / M if M else 1.0
    out = {
        "n_total": M,
        "n_failed": n_failed,
        "n_used": n_used,
        "failed_fraction": failed_fraction,
        "ess_threshold": ess_threshold,
        "pareto_k_threshold": pareto_k_threshold,
        "max_failed_fraction": max_failed_fraction,
    }
    if n_used == 0 or not np.isfinite(t[used]).any():
        out.update(
            ess=0.0,
            ess_fraction=0.0,
            ess_fraction_err=math.nan,
            pareto_k=math.nan,
            max_weight_share=math.nan,
            passed=False,
            sentence=f"None of the {M} true χ² evaluations is usable ({n_failed} failed): "
            f"the surrogate posterior could not be validated.",
        )
        return out
    base = np.ones(M) if base_weights is None else np.asarray(base_weights, dtype=np.float64)
    if base.shape != (M,) or not np.all(base > 0):
        raise ValueError(f"base_weights must be ({M},) positive numbers")
    log_base = np.log(base[used])
    logw = _log_weights(t, s, base, used)[used]
    w = np.exp(logw - logsumexp(logw))
    ess = 1.0 / np.sum(w**2)  # (Σw)²/Σw² with Σw = 1
    n_base = float(np.exp(2 * logsumexp(log_base) - logsumexp(2 * log_base)))
    frac = ess / n_base
    k_hat = pareto_k(logw)
    boot = np.random.default_rng(seed).integers(0, n_used, size=(n_bootstrap, n_used))
    lb, lbb = logw[boot], log_base[boot]
    with np.errstate(invalid="ignore"):  # a resample of only −inf log-weights has no ESS
        fb = np.exp(
            2 * logsumexp(lb, axis=1)
            - logsumexp(2 * lb, axis=1)
            - 2 * logsumexp(lbb, axis=1)
            + logsumexp(2 * lbb, axis=1)
        )
    frac_err = float(np.nanstd(fb)) if np.isfinite(fb).any() else math.nan
    resid = t[used] - s[used]
    fin = np.isfinite(resid)
    out.update(
        ess=float(ess),
        ess_fraction=float(frac),
        ess_fraction_err=frac_err,
        pareto_k=k_hat,
        max_weight_share=float(np.max(w)),
        chi2_residual_mean=float(np.mean(resid[fin])) if fin.any() else math.nan,
        chi2_residual_sd=float(np.std(resid[fin])) if fin.any() else math.nan,
        chi2_residual_max_abs=float(np.max(np.abs(resid[fin]))) if fin.any() else math.nan,
    )
    if samples is not None:
        X = np.asarray(samples, dtype=np.float64)
        if X.ndim != 2 or X.shape[0] != M:
            raise ValueError(f"samples must be (M={M}, d), got {X.shape}")
        names = list(names) if names is not None else [f"x{i}" for i in range(X.shape[1])]
        Xu = X[used]
        raw = np.average(Xu, axis=0, weights=base[used])
        rew = w @ Xu
        sd = np.sqrt(np.average((Xu - raw) ** 2, axis=0, weights=base[used]))
        out["means"] = {
            n: {
                "raw": float(a),
                "reweighted": float(b),
                "shift_in_sd": float((b - a) / c) if c > 0 else math.nan,
            }
            for n, a, b, c in zip(names, raw, rew, sd, strict=False)
        }
    ok_ess = frac >= ess_threshold
    ok_k = not k_hat > pareto_k_threshold  # NaN: too few weights to fit a tail
    ok_fail = failed_fraction <= max_failed_fraction
    passed = bool(ok_ess and ok_k and ok_fail)
    out["passed"] = passed
    excl = f" ({n_failed} failed true evaluations were excluded)" if n_failed else ""
    head = (
        f"Reweighting {n_used} posterior samples by their true χ²{excl} leaves an effective "
        f"sample size of {ess:.0f} ({100 * frac:.0f} ± {100 * frac_err:.0f} % of {n_base:.0f}; the "
        f"largest weight carries {100 * np.max(w):.1f} %) and a Pareto k̂ of {k_hat:.2f}."
    )
    if passed:
        tail = (
            f" That is above the {100 * ess_threshold:.0f} % threshold with k̂ ≤ "
            f"{pareto_k_threshold:g}: the surrogate posterior passes its validation."
        )
    else:
        why = []
        if not ok_ess:
            why.append(f"ESS below the {100 * ess_threshold:.0f} % threshold")
        if not ok_k:
            why.append(f"k̂ above {pareto_k_threshold:g}: the weights have a heavy tail")
        if not ok_fail:
            why.append(
                f"{100 * failed_fraction:.0f} % of true evaluations failed "
                f"(limit {100 * max_failed_fraction:.0f} %)"
            )
        tail = (
            " The surrogate posterior FAILS its validation ("
            + "; ".join(why)
            + "): improve the surrogate near the posterior (more active-learning points) "
            "or use the reweighted values."
        )
    out["sentence"] = head + tail
    return out


def reweighted_weights(
    chi2_true: np.ndarray, chi2_surrogate: np.ndarray, base_weights: np.ndarray, ok: np.ndarray
) -> np.ndarray:
    """Normalised weights base · e^{−(χ²_true − χ²_sur)/2} of validation points (0 where the
    true evaluation failed; all 0 when none is usable).

    Parameters
    ----------
    chi2_true, chi2_surrogate : (M,) ndarrays
        True and surrogate χ².
    base_weights : (M,) ndarray
        The points' weights under the surrogate posterior.
    ok : (M,) bool ndarray
        Successful true evaluations.

    Returns
    -------
    (M,) ndarray
        The weights.
    """
    t = np.asarray(chi2_true, dtype=np.float64)
    s = np.asarray(chi2_surrogate, dtype=np.float64)
    base = np.asarray(base_weights, dtype=np.float64)
    logw = _log_weights(t, s, base, np.asarray(ok, dtype=bool) & np.isfinite(t))
    if not np.isfinite(logw).any():
        return np.zeros(base.size)
    w = np.exp(logw - logw.max())
    return w / w.sum()


def reweighted_posterior(
    theta: np.ndarray,
    names: Sequence[str],
    chi2_true: np.ndarray,
    chi2_surrogate: np.ndarray,
    base_weights: np.ndarray,
    island: np.ndarray,
    ok: np.ndarray,
) -> dict:
    """The true posterior from reweighted validation points, and each island's mass before and
    after reweighting.

    Parameters
    ----------
    theta : (M, d) ndarray
        Validation points; ``names`` their columns.
    names : sequence of str
        Parameter names.
    chi2_true, chi2_surrogate : (M,) ndarrays
        True and surrogate χ².
    base_weights : (M,) ndarray
        The points' posterior weights under the surrogate.
    island : (M,) int ndarray
        Their islands.
    ok : (M,) bool ndarray
        Successful true evaluations (the others get no weight).

    Returns
    -------
    dict
        ``posterior_reweighted`` (per-parameter summary and its ESS) and ``islands`` (points,
        surrogate and reweighted mass per island); empty when no point is usable.
    """
    base = np.asarray(base_weights, dtype=np.float64)
    island = np.asarray(island)
    w = reweighted_weights(chi2_true, chi2_surrogate, base, ok)
    if not w.any():
        return {}
    return {
        "posterior_reweighted": {
            "parameters": posterior_summary(theta, names, w),
            "ess": float(1.0 / np.sum(w**2)),
        },
        "islands": [
            {
                "island": int(i),
                "n_points": int(np.sum(island == i)),
                "mass_surrogate": float(base[island == i].sum() / base.sum()),
                "mass_reweighted": float(w[island == i].sum()),
            }
            for i in np.unique(island)
        ],
    }
