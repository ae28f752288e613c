"""The check of one evaluated active-learning batch, on points its model predicted before they
were evaluated: what :mod:`globalfit.active_learning.stopping` decides on."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from scipy.spatial import cKDTree

from globalfit.inference.validation import reweighting_metrics
from globalfit.levels import REGION
from globalfit.space import ParameterSpace

__all__ = ["PSIS_MIN_POINTS", "gp_round_check", "posterior_round_check"]

# fewer usable weights than this leave PSIS (arviz) no tail to fit: k̂ = inf, and a posterior
# round's check is its ESS fraction alone
PSIS_MIN_POINTS = 24


def gp_round_check(
    info: Mapping,
    theta_batch: np.ndarray,
    chi2_batch: np.ndarray,
    ok_batch: np.ndarray,
    theta_before: np.ndarray,
    chi2_before: np.ndarray,
    ok_before: np.ndarray,
    *,
    space: ParameterSpace,
    tolerance: float,
    open_level: float,
    separation: float,
) -> dict:
    """Whether an evaluated GP round showed nothing left to learn.

    Parameters
    ----------
    info : Mapping
        The round's proposal info (``pred_chi2``: the GP's χ² at each pick before evaluation).
    theta_batch, chi2_batch, ok_batch : ndarray
        The round's evaluated batch, in proposal order.
    theta_before, chi2_before, ok_before : ndarray
        Every point evaluated before the round.
    space : ParameterSpace
        The box (distances are in its unit cube).
    tolerance : float
        Largest batch error and best-χ² gain, in Δχ² units, of a converged round.
    open_level : float
        Δχ² below the best of a point that marks a basin (``trust_region_open``).
    separation : float
        Unit-cube distance from every earlier such point that makes a basin new.

    Returns
    -------
    dict
        ``kind`` "gp", ``round``, ``n_region``, ``batch_mae`` (mean |error| with both sides capped
        at the region's edge: a wall point costs at most 10), ``membership`` (share of those
        points the GP put on the right side of the edge; reported), ``best_gain``, ``new_basins``
        (batch points in a new basin), ``converged``.
    """
    chi2_batch = np.asarray(chi2_batch, dtype=np.float64)
    ok_batch = np.asarray(ok_batch, dtype=bool) & np.isfinite(chi2_batch)
    ok_before = np.asarray(ok_before, dtype=bool) & np.isfinite(chi2_before)
    best_before = float(np.min(chi2_before[ok_before]))
    best = min(best_before, float(np.min(chi2_batch[ok_batch], initial=np.inf)))
    pred = np.asarray(info["pred_chi2"], dtype=np.float64) - best
    true = chi2_batch - best
    region = ok_batch & ((true < REGION) | (pred < REGION))
    if region.any():
        capped = np.minimum(pred[region], REGION) - np.minimum(true[region], REGION)
        mae = float(np.mean(np.abs(capped)))
        membership = float(np.mean((pred[region] < REGION) == (true[region] < REGION)))
    else:
        mae = membership = math.nan
    good_new = ok_batch & (chi2_batch - best < open_level)
    good_old = ok_before & (chi2_before - best < open_level)
    u_new = space.to_unit(np.asarray(theta_batch)[good_new])
    if good_old.any() and len(u_new):
        dist = cKDTree(space.to_unit(np.asarray(theta_before)[good_old])).query(u_new, k=1)[0]
        new_basins = int(np.sum(dist > separation))
    else:
        new_basins = len(u_new)
    gain = max(0.0, best_before - best)
    return {
        "kind": "gp",
        "round": int(info["round_index"]) + 1,
        "n_region": int(region.sum()),
        "membership": membership,
        "batch_mae": mae,
        "best_gain": gain,
        "new_basins": new_basins,
        "converged": bool(region.any() and mae <= tolerance and gain <= tolerance)
        and new_basins == 0,
    }


def posterior_round_check(
    info: Mapping,
    chi2_batch: np.ndarray,
    ok_batch: np.ndarray,
    *,
    ess_threshold: float,
    pareto_k_threshold: float,
    seed: int = 0,
) -> dict:
    """Importance-reweighting check of the surrogate posterior a posterior round drew from.

    Parameters
    ----------
    info : Mapping
        The round's proposal info (``chi2_sampled``: the χ² the chain sampled, at each pick).
    chi2_batch, ok_batch : ndarray
        The batch's true χ² and success flags, in proposal order.
    ess_threshold, pareto_k_threshold : float
        The final validation's thresholds.
    seed : int
        Seed of the ESS fraction's bootstrap error.

    Returns
    -------
    dict
        ``kind`` "posterior", ``round``, ``ess_fraction``, ``pareto_k``, ``converged``.
    """
    m = reweighting_metrics(
        np.asarray(chi2_batch, dtype=np.float64),
        np.asarray(info["chi2_sampled"], dtype=np.float64),
        failed=~np.asarray(ok_batch, dtype=bool),
        ess_threshold=ess_threshold,
        pareto_k_threshold=pareto_k_threshold,
        seed=seed,
    )
    passed = bool(m["passed"])
    if m["pareto_k"] == math.inf and m["n_used"] < PSIS_MIN_POINTS:  # no tail to fit
        passed = (
            m["ess_fraction"] >= ess_threshold and m["failed_fraction"] <= m["max_failed_fraction"]
        )
    return {
        "kind": "posterior",
        "round": int(info["round_index"]),
        "ess_fraction": float(m["ess_fraction"]),
        "pareto_k": float(m["pareto_k"]),
        "converged": passed,
    }
