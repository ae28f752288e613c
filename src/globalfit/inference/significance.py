"""Significance of the best fit against a reference point (the Standard Model), in the
conventions a reader meets in the literature, each named by what it assumes.

* **Local** Z = √Δχ² (one-sided): the likelihood-ratio test of one non-negative rate, whose
  statistic under the reference is ½δ₀ + ½χ²₁ (half the time the fitted rate sits on the
  boundary), so p = Φ(−√Δχ²). The B→Kνν̄ literature quotes the excess this way; it is the headline.
* **Wilks** with k degrees of freedom, k = 1 … number of parameters: p = χ²_k.sf(Δχ²),
  Z = Φ⁻¹(1 − p) one-sided; the configured ``dof`` is marked.
* Δχ² ≤ 0 (the reference as good as the fit) gives p = 1 and Z = 0 in every convention.

Everything is computed from log-survival functions, so Z stays finite for a very large Δχ².
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special, stats

__all__ = ["REGULARITY_CAVEAT", "chi2_log_sf", "significance_table"]

REGULARITY_CAVEAT = (
    "Wilks' theorem assumes the reference is an interior point at which every parameter is "
    "identified and the chi2 is quadratic in all of them. Fits of new couplings break this in "
    "three ways, the ALP fit in all of them: the rates are quadratic in the couplings, so the "
    "reference sits on a boundary of each rate; a parameter can be unidentified at the reference "
    "(fa when every coupling vanishes); and the chi2 depends on fewer effective combinations "
    "than there are parameters. The chi2(k) p-values are therefore not calibrated for any k; "
    "the local sqrt(delta chi2) counts one effective non-negative rate, and a calibrated p-value "
    "needs pseudo-experiments."
)


def chi2_log_sf(x: float, dof: int) -> float:
    """log P(χ²_dof > x) for x ≥ 0, finite where scipy's logsf underflows.

    Parameters
    ----------
    x : float
        The statistic, ≥ 0.
    dof : int
        Degrees of freedom, ≥ 1.

    Returns
    -------
    float
        The log survival probability; beyond x ≈ 1400 (scipy gives −inf) the asymptotic series
        log Γ(a, y)/Γ(a) ≈ (a−1) log y − y − log Γ(a) + log(1 + (a−1)/y + (a−1)(a−2)/y²),
        a = dof/2, y = x/2, accurate to ~1e-9.
    """
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


def significance_table(chi2_ref: float, chi2_best: float, n_params: int, dof: int) -> dict:
    """Δχ² = χ²_ref − χ²_best in the local and the Wilks conventions.

    Parameters
    ----------
    chi2_ref : float
        χ² at the reference point (the Standard Model).
    chi2_best : float
        χ² at the best fit, of the same χ² function.
    n_params : int
        Number of fitted parameters: Wilks' table runs over k = 1 … n_params.
    dof : int
        The configured Wilks degrees of freedom, 1 ≤ dof ≤ n_params (marked in the table).

    Returns
    -------
    dict
        ``chi2_reference``, ``chi2_best``, ``delta_chi2``; ``local_z`` (√Δχ², the headline) and
        ``local_p``; ``dof``, ``wilks_p`` and ``wilks_z`` at the configured dof; ``by_dof`` (one row
        per k: ``dof``, ``p``, ``z``, ``configured``); ``conventions`` (each value's definition in
        words) and ``caveat``.

    Raises
    ------
    ValueError
        For a non-finite χ², n_params < 1 or dof outside 1 … n_params.

    Examples
    --------
    The Belle II excess's size (Δχ² = 5.6): 2.37σ locally, 2.1σ for χ²(1), less for more dof.

    >>> s = significance_table(18.96, 13.36, n_params=6, dof=5)
    >>> print(f"{s['local_z']:.2f} {s["by_dof"][0]['z']:.2f} {s['wilks_z']:.2f}")
    2.37 2.10 0.39

    Δχ² = 3.84 with one dof is the classic 95 % point; a reference as good as the fit is Z = 0:

    >>> round(significance_table(13.84, 10.0, 1, 1)["wilks_p"], 4)
    0.05
    >>> none = significance_table(9.0, 10.0, 1, 1)
    >>> none["local_z"], none["local_p"], none["wilks_z"]
    (0.0, 1.0, 0.0)
    """
    if n_params < 1 or not 1 <= dof <= n_params:
        raise ValueError(f"need 1 <= dof <= n_params, got dof={dof}, n_params={n_params}")
    delta = float(chi2_ref) - float(chi2_best)
    if not np.isfinite(delta):
        raise ValueError(f"non-finite chi2: reference {chi2_ref}, best {chi2_best}")
    rows = []
    for k in range(1, n_params + 1):
        if delta > 0:
            log_p = chi2_log_sf(delta, k)
            # Φ⁻¹(1 − p) is negative for p > ½: no preference is Z = 0, not a negative Z
            p, z = math.exp(log_p), max(0.0, float(-special.ndtri_exp(log_p)))
        else:
            p, z = 1.0, 0.0
        rows.append({"dof": k, "p": p, "z": z, "configured": k == dof})
    local_z = math.sqrt(delta) if delta > 0 else 0.0
    local_p = float(special.ndtr(-local_z)) if delta > 0 else 1.0
    at_dof = rows[dof - 1]
    return {
        "chi2_reference": float(chi2_ref),
        "chi2_best": float(chi2_best),
        "delta_chi2": delta,
        "local_z": local_z,
        "local_p": local_p,
        "dof": int(dof),
        "wilks_p": at_dof["p"],
        "wilks_z": at_dof["z"],
        "by_dof": rows,
        "conventions": {
            "local_z": "sqrt(delta chi2): one non-negative rate, local_p = Phi(-local_z)",
            "wilks_p": "chi2_dof survival function of delta chi2 (Wilks), dof as configured",
            "wilks_z": "Phi^-1(1 - wilks_p), one-sided",
            "by_dof": "p and one-sided Z for chi2(k), k = 1 ... number of parameters",
            "nonpositive": "delta chi2 <= 0 gives p = 1, Z = 0; a Wilks Z below 0 (p > 1/2) is 0",
        },
        "caveat": REGULARITY_CAVEAT,
    }
