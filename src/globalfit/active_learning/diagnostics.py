"""Per-round diagnostics of active learning (``diagnostics.csv``): how well the GP predicted the
batch before it was evaluated, the share of the batch within Δχ² < 2.3 and < 10, the trust
regions, prospects and exploration picks (and how many of those landed within Δχ² < 10), and the
proposal's CPU cost against the evaluation's.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from globalfit.active_learning.target import transform_target
from globalfit.levels import HIT, REGION

__all__ = ["DIAGNOSTICS_COLUMNS", "diagnostics_row"]

DIAGNOSTICS_COLUMNS = (
    "round",
    "method",
    "n_fit",
    "n_batch",
    "n_failed",
    "sparse",
    "delta",
    "delta_relative",
    "best_chi2_before",
    "best_chi2_after",
    "gp_rmse",
    "gp_frac_within_2sd",
    "frac_dchi2_below_2_3",
    "frac_dchi2_below_10",
    "n_trust_regions",
    "n_prospects",
    "n_exploration",
    "n_exploration_below_10",
    "proposal_cpu_seconds",
    "import_cpu_seconds",
    "evaluation_cpu_seconds",
    "proposal_share",
)


def diagnostics_row(
    info: Mapping,
    chi2_batch: np.ndarray,
    *,
    best_before: float,
    best_after: float,
    evaluation_cpu_seconds: float,
    ok_batch: np.ndarray | None = None,
    chi2_min_reference: float | None = None,
) -> dict:
    """One row of the per-round diagnostics table (columns :data:`DIAGNOSTICS_COLUMNS`).

    gp_rmse is the GP's out-of-sample error on the batch in target units (predicted mean vs the
    transform of the new χ², with the reference used at proposal time); gp_frac_within_2sd the
    share of batch points within 2 predicted sd (noise included). Failed points count as not low
    in the fractions and are left out of the GP error. proposal_cpu_seconds excludes the
    TensorFlow import (import_cpu_seconds, paid once per process), as the budget does;
    proposal_share = proposal / evaluation CPU seconds (the budget is 0.2). A posterior round
    (``info["method"] == "posterior"``, :mod:`globalfit.active_learning.posterior_rounds`) has no
    GP: its GP columns are NaN; a round after the loop stopped (``"stopped"``) has an empty batch.

    Parameters
    ----------
    info : Mapping
        The proposal's info dict.
    chi2_batch : (q,) ndarray
        χ² of the proposed batch once evaluated, in proposal order.
    best_before, best_after : float
        Best χ² of the dataset before / after adding the batch.
    evaluation_cpu_seconds : float
        Summed oracle CPU seconds of the batch.
    ok_batch : (q,) bool ndarray, optional
        Successful evaluations (default: finite χ²).
    chi2_min_reference : float, optional
        χ² defining Δχ² for the fractions (default ``best_after``; a known minimum in tests).

    Returns
    -------
    dict
        The row, keyed by :data:`DIAGNOSTICS_COLUMNS`.

    Raises
    ------
    ValueError
        If ``chi2_batch`` does not have one value per proposed point.
    """
    chi2_batch = np.asarray(chi2_batch, dtype=np.float64).reshape(-1)
    method = info.get("method", "gp")
    q = 0 if method == "stopped" else len(info["pred_mean" if method == "gp" else "pred_chi2"])
    if chi2_batch.shape != (q,):
        raise ValueError(f"diagnostics_row: expected {q} batch χ² values, got {chi2_batch.shape}")
    ok = (
        np.isfinite(chi2_batch)
        if ok_batch is None
        else (np.asarray(ok_batch, dtype=bool) & np.isfinite(chi2_batch))
    )
    if method == "gp":
        target = info["target"]
        mean = np.asarray(info["pred_mean"])[ok]
        sd = np.hypot(np.asarray(info["pred_sd"])[ok], math.sqrt(info["gp"]["noise_variance"]))
        y_true = transform_target(
            chi2_batch[ok], target["chi2_ref"], scale=target["scale"], cap=target["cap"]
        )
        err = y_true - mean
    else:
        err = sd = np.zeros(0)
    valid = np.ones(len(err), dtype=bool)
    ref = best_after if chi2_min_reference is None else chi2_min_reference
    dchi2 = np.where(ok, chi2_batch - ref, np.inf)
    proposal = float(info["cpu_seconds"])
    explored = np.asarray(info.get("from_exploration", np.zeros(q, dtype=bool)), dtype=bool)
    return {
        "round": int(info["round_index"]),
        "method": method,
        "n_fit": int(info["n_fit"]),
        "n_batch": int(q),
        "n_failed": int(q - ok.sum()),
        "sparse": bool(info.get("sparse", False)),
        "delta": float(info.get("delta", float("nan"))),
        "delta_relative": float(info.get("delta_relative", float("nan"))),
        "best_chi2_before": float(best_before),
        "best_chi2_after": float(best_after),
        "gp_rmse": float(np.sqrt(np.mean(err[valid] ** 2))) if valid.any() else float("nan"),
        "gp_frac_within_2sd": float(np.mean(np.abs(err[valid]) <= 2 * sd[valid]))
        if valid.any()
        else float("nan"),
        "frac_dchi2_below_2_3": float(np.mean(dchi2 < HIT)) if q else float("nan"),
        "frac_dchi2_below_10": float(np.mean(dchi2 < REGION)) if q else float("nan"),
        "n_trust_regions": len(info.get("trust_regions", [])),
        "n_prospects": len(info.get("prospects", [])),
        "n_exploration": int(explored.sum()),
        "n_exploration_below_10": int(np.sum(explored & (dchi2 < REGION))),
        "proposal_cpu_seconds": proposal,
        "import_cpu_seconds": float(info.get("cpu_seconds_import", 0.0)),
        "evaluation_cpu_seconds": float(evaluation_cpu_seconds),
        "proposal_share": proposal / evaluation_cpu_seconds
        if evaluation_cpu_seconds > 0
        else float("inf"),
    }
