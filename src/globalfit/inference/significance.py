"""Significance of the best fit against a reference point (the Standard Model) by Wilks'
theorem.

Δχ² = χ²_SM − χ²_best ~ χ²(dof) under the SM, p = χ²_dof.sf(Δχ²) and Z = Φ⁻¹(1 − p), one-sided;
``z_two_sided`` = Φ⁻¹(1 − p/2) (the √Δχ² convention for one dof) is reported alongside, clearly
named. The default dof = 5 is the ALP fit's: five couplings vanish under the SM, where fa is not
identified (so the asymptotic distribution is only approximate). Everything is computed from
log-survival functions so that Z stays finite for a very large Δχ².
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special, stats

__all__ = ["wilks_significance"]


def _chi2_logsf(x: float, dof: int) -> float:
    """log P(χ²_dof > x); scipy's logsf underflows to −inf beyond x ≈ 1400, where the asymptotic
    series log Γ(a, y)/Γ(a) ≈ (a−1) log y − y − log Γ(a) + log(1 + (a−1)/y + (a−1)(a−2)/y²),
    a = dof/2, y = x/2, is accurate to ~1e-9."""
    v = float(stats.chi2.logsf(x, dof))
    if np.isfinite(v):
        return v
    a, y = 0.5 * dof, 0.5 * x
    return float(
        (a - 1) * math.log(y)
        - y
        - special.gammaln(a)
        + math.log1p((a - 1) / y + (a - 1) * (a - 2) / y**2)
    )


def wilks_significance(chi2_sm: float, chi2_best: float, dof: int = 5) -> dict:
    """Δχ² = χ²_SM − χ²_best, p = χ²_dof.sf(Δχ²), Z = Φ⁻¹(1 − p) (one-sided).

    Parameters
    ----------
    chi2_sm : float
        χ² at the reference point (the Standard Model).
    chi2_best : float
        χ² at the best fit, of the same χ² function.
    dof : int
        Degrees of freedom of the χ² distribution (≥ 1).

    Returns
    -------
    dict
        ``chi2_sm``, ``chi2_best``, ``delta_chi2``, ``dof``, ``p_value``, ``log_p_value``, ``z``,
        ``z_two_sided`` and ``convention`` (the definition of Z in words).

    Raises
    ------
    ValueError
        For dof < 1, a non-finite χ², or a negative Δχ² (SM better than the 'best' fit: the
        minimiser failed or the two χ² come from different functions), which is not hidden.

    Examples
    --------
    Δχ² = 3.84 with one degree of freedom is the classic 95 % point:

    >>> w = wilks_significance(13.84, 10.0, dof=1)
    >>> print(f"{w['delta_chi2']:.2f} {w['p_value']:.4f} {w['z']:.3f} {w['z_two_sided']:.2f}")
    3.84 0.0500 1.644 1.96

    Z stays finite far beyond where ``scipy.stats.chi2.sf`` underflows to zero:

    >>> w = wilks_significance(2010.0, 10.0, dof=5)
    >>> print(w["p_value"], round(w["z"], 1))
    0.0 44.4
    """
    if dof < 1:
        raise ValueError(f"dof must be >= 1, got {dof}")
    delta = float(chi2_sm) - float(chi2_best)
    if not np.isfinite(delta):
        raise ValueError(f"non-finite chi2: SM {chi2_sm}, best {chi2_best}")
    if delta < 0:
        raise ValueError(
            f"chi2_SM ({chi2_sm}) < chi2_best ({chi2_best}): "
            "the best fit is not a minimum of the same χ²"
        )
    logp = _chi2_logsf(delta, dof)
    p = math.exp(logp)
    z = float(-special.ndtri_exp(logp)) if delta > 0 else -math.inf
    z2 = float(-special.ndtri_exp(logp - math.log(2.0))) if delta > 0 else 0.0
    return {
        "chi2_sm": float(chi2_sm),
        "chi2_best": float(chi2_best),
        "delta_chi2": delta,
        "dof": int(dof),
        "p_value": p,
        "log_p_value": logp,
        "z": z,
        "z_two_sided": z2,
        "convention": "Z = Phi^-1(1 - p), one-sided; z_two_sided = Phi^-1(1 - p/2)",
    }
