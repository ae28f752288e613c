"""Which observables pull the fit away from the reference point: the oracle's per-observable χ²
(stored with every evaluated point as its ``breakdown``) at the confirmed best fit and at the
reference point, the largest contributions to Δχ², and the sums per sector where the oracle
groups its observables (ALP-aca's sectors for the ALP fit)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from globalfit.evaluation.table import EvaluationTable

__all__ = ["chi2_contributions"]


def chi2_contributions(
    confirm: EvaluationTable,
    best_row: int,
    reference_row: int = -1,
    *,
    sectors: Mapping[str, Sequence[str]] | None = None,
    top: int = 10,
) -> dict | None:
    """Per-observable χ² at two rows of the confirmation batch and their differences.

    Parameters
    ----------
    confirm : EvaluationTable
        The confirmation batch (best-fit candidates, then the reference point).
    best_row, reference_row : int
        Rows of the best fit and of the reference point.
    sectors : mapping, optional
        {sector: observables in it}; an observable may sit in several sectors.
    top : int
        Contributions listed in ``top`` (by |Δχ²|).

    Returns
    -------
    dict or None
        None where the oracle gives no breakdown. Else ``best_fit`` and ``reference``
        ({observable: χ²}), ``top`` (rows of ``observable``, ``chi2_best``,
        ``chi2_reference``, ``delta_chi2`` = reference − best, largest |Δχ²| first), ``by_sector``
        ({sector: ``chi2_best``, ``chi2_reference``, ``delta_chi2``, ``n_observables``}) and
        ``unexplained`` (total χ² minus the breakdown's sum, per row: 0 for an oracle whose
        observables add up to its χ²).
    """
    names = list(confirm.breakdown_names)
    if not names:
        return None
    best = confirm.breakdown[best_row]
    ref = confirm.breakdown[reference_row]
    delta = ref - best
    order = np.argsort(-np.abs(np.nan_to_num(delta)), kind="stable")
    rows = [
        {
            "observable": names[j],
            "chi2_best": float(best[j]),
            "chi2_reference": float(ref[j]),
            "delta_chi2": float(delta[j]),
        }
        for j in order[:top]
    ]
    out = {
        "best_fit": dict(zip(names, map(float, best), strict=True)),
        "reference": dict(zip(names, map(float, ref), strict=True)),
        "top": rows,
        "by_sector": None,
        "unexplained": {
            "best_fit": float(confirm.chi2[best_row] - np.nansum(best)),
            "reference": float(confirm.chi2[reference_row] - np.nansum(ref)),
        },
    }
    if sectors:
        col = {n: j for j, n in enumerate(names)}
        out["by_sector"] = {}
        for sector, observables in sectors.items():
            js = [col[o] for o in observables if o in col]
            if js:
                b, r = float(np.nansum(best[js])), float(np.nansum(ref[js]))
                out["by_sector"][sector] = {
                    "chi2_best": b,
                    "chi2_reference": r,
                    "delta_chi2": r - b,
                    "n_observables": len(js),
                }
    return out
