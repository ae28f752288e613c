"""Trust regions (as in TuRBO) for exploitation: up to a few distinct good points (Δχ² within
``trust_region_open``, a minimum separation apart) each get a region with its own GP on its
nearest points and Gaussian candidates shaped by the GP length scales. The radius halves when few
of a region's last picks were hits (within ``trust_region_delta`` of the region's centre) and
grows when most were; the share of the batch picked in
trust regions grows over the rounds. Why: narrow valleys bounded by cliffs, which a global GP with
long length scales cannot resolve.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from globalfit.active_learning.acquisition import _kriging_believer
from globalfit.active_learning.candidates import gaussian_candidates
from globalfit.active_learning.exploration import exploration_count
from globalfit.active_learning.gp import LENGTHSCALE_MIN, STATE_FORMAT, GPModel, _PoolPosterior

__all__ = [
    "plan_trust_regions",
    "trust_region_picks",
    "trust_region_share",
    "trust_region_centres",
    "trust_region_shape",
    "update_trust_radius",
]


def trust_region_shape(lengthscales: np.ndarray) -> np.ndarray:
    """Per-axis trust-region scale with geometric mean 1, proportional to the GP length scales.

    The length scales are capped at the cube's width: the region is narrow along the directions χ²
    is sensitive to (as TuRBO).

    Parameters
    ----------
    lengthscales : (d,) ndarray
        The GP's length scales (unit cube).

    Returns
    -------
    (d,) ndarray
        The scale per axis.
    """
    ls = np.clip(np.asarray(lengthscales, dtype=np.float64), LENGTHSCALE_MIN, 1.0)
    return ls / np.exp(np.mean(np.log(ls)))


def trust_region_centres(
    u: np.ndarray, chi2: np.ndarray, *, max_centres: int, within: float, separation: float
) -> np.ndarray:
    """Indices of up to ``max_centres`` distinct good points, best first.

    Greedy by χ² among the points with Δχ² < ``within`` of the best, each at least ``separation``
    (unit-cube distance) from those already chosen, so that separate minima get their own trust
    region.

    Parameters
    ----------
    u : (n, d) ndarray
        The points (unit cube).
    chi2 : (n,) ndarray
        Their χ².
    max_centres : int
        Most centres returned.
    within : float
        Δχ² from the best point within which a point may be a centre.
    separation : float
        Minimum unit-cube distance between centres.

    Returns
    -------
    (k,) int64 ndarray
        Indices into u, k ≤ max_centres.
    """
    order = np.argsort(chi2, kind="stable")
    chosen: list[int] = []
    for i in order:
        if chi2[i] - chi2[order[0]] >= within or len(chosen) == max_centres:
            break
        if all(np.linalg.norm(u[i] - u[j]) >= separation for j in chosen):
            chosen.append(int(i))
    return np.array(chosen, dtype=np.int64)


def update_trust_radius(
    radius: float,
    hit_rate: float,
    *,
    low: float = 0.4,
    high: float = 0.75,
    radius_min: float,
    radius_max: float,
) -> float:
    """Next radius of a trust region from its last picks' hit rate (share within Δχ² of the best).

    Halve below ``low`` (the region reaches over the basin's walls), ×1.5 above ``high`` (the basin
    is wider than the region), else keep.

    Parameters
    ----------
    radius : float
        The current radius.
    hit_rate : float
        Share of the region's last picks that were hits.
    low, high : float
        Hit rates below / above which the radius shrinks / grows.
    radius_min, radius_max : float
        Bounds the new radius is clipped to.

    Returns
    -------
    float
        The new radius.
    """
    if hit_rate < low:
        radius *= 0.5
    elif hit_rate > high:
        radius *= 1.5
    return float(min(max(radius, radius_min), radius_max))


def trust_region_share(proposer, round_index: int, n_rounds: int) -> float:
    """Share of the batch picked inside trust regions: linear from the first to the last round."""
    t = round_index / (n_rounds - 1) if n_rounds > 1 else 1.0
    return float(
        proposer.trust_region_share_start
        + (proposer.trust_region_share_end - proposer.trust_region_share_start) * t
    )


def plan_trust_regions(
    proposer, u_fit, theta_fit, chi2_fit, lengthscales, round_index, n_rounds, state, rng
) -> list[dict]:
    """This round's trust regions: centre, radius (adapted from the previous round's picks),
    hit rate of those picks, pick quota and candidate pool (see the module docstring)."""
    q = proposer.batch_size - exploration_count(proposer.exploration_share, proposer.batch_size)
    q_tr = int(round(trust_region_share(proposer, round_index, n_rounds) * q))
    if q_tr == 0:
        return []
    chi2_ref = float(chi2_fit.min())
    known = {tuple(row): c for row, c in zip(theta_fit.tolist(), chi2_fit, strict=True)}
    previous = []
    for region in (state or {}).get("trust_regions", []):
        picks = region["picks"]
        # a hit is within trust_region_delta of the region's own centre (a region on a basin
        # shallower than the best one can hit too), the centre counted at most trust_region_open
        # above the best (as when it opened); a failed pick is not among the fitted points: a miss
        ref = min(
            known.get(tuple(region["centre"]), chi2_ref), chi2_ref + proposer.trust_region_open
        )
        hits = sum(known.get(tuple(p), np.inf) - ref < proposer.trust_region_delta for p in picks)
        rate = hits / len(picks) if picks else None
        radius = (
            region["radius"]
            if not picks
            else update_trust_radius(
                region["radius"],
                rate,
                radius_min=proposer.trust_region_radius_min,
                radius_max=proposer.trust_region_radius_max,
            )
        )
        previous.append(
            (proposer.space.to_unit(np.asarray(region["centre"])[None])[0], radius, rate)
        )
    centres = trust_region_centres(
        u_fit,
        chi2_fit,
        max_centres=proposer.trust_region_centres,
        within=proposer.trust_region_open,
        separation=proposer.trust_region_separation,
    )
    shape = trust_region_shape(lengthscales)
    regions = []
    for k, i in enumerate(centres):
        radius, rate = proposer.trust_region_radius, None
        if previous:  # inherit from the nearest previous region, if it is the same basin
            dist = [np.linalg.norm(u_fit[i] - c) for c, _, _ in previous]
            j = int(np.argmin(dist))
            if dist[j] < max(proposer.trust_region_separation, 1e-12):
                _, radius, rate = previous[j]
        regions.append(
            {
                "centre": [float(v) for v in theta_fit[i]],
                "chi2": float(chi2_fit[i]),
                "radius": float(radius),
                "previous_hit_rate": rate,
                "quota": q_tr // len(centres) + (k < q_tr % len(centres)),
                "shape": [float(v) for v in shape],
                "pool": gaussian_candidates(
                    u_fit[i][None], proposer.trust_region_pool, radius * shape, rng
                ),
            }
        )
    return regions


def trust_region_picks(proposer, region, u_fit, y, tree_all, taken, delta_rel, rng):
    """A trust region's ``quota`` picks (unit cube) and their EI, from a GP of its own.

    The global GP's length scales (0.1–0.8 of the box on the ALP model) are far longer than the
    valleys it should resolve, and its fitted noise absorbs the cliffs; as in TuRBO, each
    region fits a GP to its ``trust_region_local_points`` nearest fitted points (distance
    scaled like the region) and scores its Gaussian candidates by EI + kriging believer.
    """
    pool = region.pop("pool")
    d = u_fit.shape[1]
    if region["quota"] == 0:
        return np.zeros((0, d)), []
    centre = proposer.space.to_unit(np.asarray(region["centre"])[None])[0]
    shape = np.asarray(region["shape"])
    near = np.argsort(np.linalg.norm((u_fit - centre) / shape, axis=1), kind="stable")[
        : proposer.trust_region_local_points
    ]
    start = {
        "format": STATE_FORMAT,
        "lengthscales": list(np.minimum(3 * region["radius"] * shape, 1.0)),
        "kernel_variance": 1.0,
        "noise_variance": 0.01,
    }
    local = GPModel(
        noise_floor=proposer.noise_floor,
        warm_start=start,
        max_iter=proposer.max_iter,
        random_state=rng,
    ).fit(u_fit[near], y[near])
    region["lengthscales_unit"] = [float(v) for v in local.lengthscales_]
    allowed = tree_all.query(pool, k=1)[0] > proposer.min_distance
    if len(taken):
        allowed &= cKDTree(taken).query(pool, k=1)[0] > proposer.min_distance
    post = _PoolPosterior(local, pool)
    idx, ei = _kriging_believer(
        post,
        local.y_mean_,
        local.y_std_,
        float(local.predict(u_fit[near])[0].max()),
        delta_rel * float(np.std(y[near])),
        min(region["quota"], int(allowed.sum())),
        proposer.min_distance,
        allowed,
    )
    return pool[idx], [float(v) for v in ei]
