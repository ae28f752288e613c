"""TODO docstring (statistics.py)."""

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

    Computed through log-survival functions so that Z stays finite for large Δχ². A negative Δχ²
    (SM better than the 'best' fit: the minimiser failed or the two χ² come from different
    functions) is not hidden: it raises ValueError.
    """
    if dof < 1:
        raise ValueError(f"dof must be >= 1, got {dof}")
    delta = float(chi2_sm) - float(chi2_best)
    if not np.isfinite(delta):
        raise ValueError(f"non-finite chi2: SM {chi2_sm}, best {chi2_best}")
    if delta < 0:
        raise ValueError(
            f"chi2_SM ({chi2_sm}) < chi2_best ({chi2_best}): the best fit is not a minimum of the same χ²"
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
