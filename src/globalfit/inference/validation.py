"""Validation of a surrogate posterior by importance reweighting with the true χ².

The true χ² is evaluated at M posterior samples of the surrogate; weights w ∝ exp(−(χ²_true −
χ²_surrogate)/2) turn them into samples of the true posterior. The effective sample size
fraction (Σw)² / (M Σw²) measures how much of the sample survives: the default threshold 0.3
asks that at least 30 % does. More than 10 % failed true evaluations (the default
``max_failed_fraction``) also make the check untrustworthy, since failures may cluster in one
region. Failed points are excluded and counted, never given a weight.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["importance_weights", "reweighting_metrics"]


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


def reweighting_metrics(
    chi2_true: np.ndarray,
    chi2_surrogate: np.ndarray,
    samples: np.ndarray | None = None,
    names: Sequence[str] | None = None,
    *,
    failed: np.ndarray | None = None,
    ess_threshold: float = 0.3,
    max_failed_fraction: float = 0.1,
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
        Minimum ESS fraction (Σw)² / (M_used Σw²) for a trustworthy posterior.
    max_failed_fraction : float
        Maximum fraction of failed true evaluations for a trustworthy check.

    Returns
    -------
    dict
        Counts, ``ess``, ``ess_fraction``, ``max_weight_share``, χ² residual statistics,
        ``means`` (if samples are given), ``trustworthy`` (ESS fraction ≥ ``ess_threshold`` and
        failed fraction ≤ ``max_failed_fraction``) and ``sentence``, the verdict in words.
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
        "max_failed_fraction": max_failed_fraction,
    }
    if n_used == 0 or not np.isfinite(t[used]).any():
        out.update(
            ess=0.0,
            ess_fraction=0.0,
            max_weight_share=math.nan,
            trustworthy=False,
            sentence=f"None of the {M} true χ² evaluations is usable ({n_failed} failed): "
            f"the surrogate posterior could not be validated.",
        )
        return out
    w = importance_weights(t[used], s[used])
    ess = 1.0 / np.sum(w**2)  # (Σw)²/Σw² with Σw = 1
    frac = ess / n_used
    resid = t[used] - s[used]
    fin = np.isfinite(resid)
    out.update(
        ess=float(ess),
        ess_fraction=float(frac),
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
        raw = Xu.mean(axis=0)
        rew = w @ Xu
        sd = Xu.std(axis=0)
        out["means"] = {
            n: {
                "raw": float(a),
                "reweighted": float(b),
                "shift_in_sd": float((b - a) / c) if c > 0 else math.nan,
            }
            for n, a, b, c in zip(names, raw, rew, sd, strict=False)
        }
    ok_ess = frac >= ess_threshold
    ok_fail = failed_fraction <= max_failed_fraction
    trustworthy = bool(ok_ess and ok_fail)
    out["trustworthy"] = trustworthy
    excl = f" ({n_failed} failed true evaluations were excluded)" if n_failed else ""
    head = (
        f"Reweighting {n_used} posterior samples by their true χ²{excl} leaves an effective "
        f"sample size of {ess:.0f} ({100 * frac:.0f} % of {n_used}; the largest weight carries "
        f"{100 * np.max(w):.1f} %)."
    )
    if trustworthy:
        tail = (
            f" That is above the {100 * ess_threshold:.0f} % threshold: "
            "the surrogate posterior is trustworthy."
        )
    else:
        why = []
        if not ok_ess:
            why.append(f"below the {100 * ess_threshold:.0f} % threshold")
        if not ok_fail:
            why.append(
                f"{100 * failed_fraction:.0f} % of true evaluations failed "
                f"(limit {100 * max_failed_fraction:.0f} %)"
            )
        tail = (
            " The surrogate posterior is NOT trustworthy ("
            + "; ".join(why)
            + "): improve the surrogate near the posterior (more active-learning points) "
            "or use the reweighted values."
        )
    out["sentence"] = head + tail
    return out
