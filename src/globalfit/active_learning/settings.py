"""The checks of a :class:`globalfit.active_learning.BatchProposer`'s settings, each error naming
its ``active_learning`` config key."""

from __future__ import annotations

import numpy as np

from globalfit.space import ParameterSpace

__all__ = ["check_settings"]


def check_settings(proposer) -> None:
    """Raise ValueError naming the first ``active_learning.<key>`` whose value is out of range."""

    def need(cond, msg):
        if not cond:
            raise ValueError(f"active_learning.{msg}")

    need(isinstance(proposer.space, ParameterSpace), "space: must be a ParameterSpace")
    need(
        int(proposer.batch_size) == proposer.batch_size and proposer.batch_size >= 1,
        f"batch_size: need an integer ≥ 1, got {proposer.batch_size}",
    )
    need(
        proposer.n_candidates >= 4 * proposer.batch_size,
        f"n_candidates: need ≥ 4 × batch_size = {4 * proposer.batch_size}, "
        f"got {proposer.n_candidates}",
    )
    need(
        0 < proposer.hull_fraction <= 1,
        f"hull_fraction: need 0 < value ≤ 1, got {proposer.hull_fraction}",
    )
    need(
        0 <= proposer.hull_share <= 1, f"hull_share: need 0 ≤ value ≤ 1, got {proposer.hull_share}"
    )
    need(
        0 <= proposer.local_share <= 1 - proposer.hull_share,
        f"local_share: need 0 ≤ value ≤ 1 − hull_share, got {proposer.local_share}",
    )
    need(
        0 <= proposer.delta_end <= proposer.delta_start,
        f"delta_start/delta_end: need 0 ≤ delta_end ≤ delta_start, got {proposer.delta_start}, "
        f"{proposer.delta_end}",
    )
    need(
        proposer.target_scale > 0 and proposer.target_cap > 0,
        "target_scale/target_cap: must be positive",
    )
    need(
        proposer.sparse_above >= 1 and proposer.n_inducing >= 2,
        "sparse_above/n_inducing: must be ≥ 1 and ≥ 2",
    )
    need(proposer.noise_floor > 0, f"noise_floor: must be positive, got {proposer.noise_floor}")
    need(proposer.min_distance >= 0, f"min_distance: must be ≥ 0, got {proposer.min_distance}")
    need(
        0 <= proposer.exploration_share <= 1,
        f"exploration_share: need 0 ≤ value ≤ 1, got {proposer.exploration_share}",
    )
    need(
        proposer.exploration_delta >= 0,
        f"exploration_delta: need ≥ 0, got {proposer.exploration_delta}",
    )
    for key in ("trust_region_share_start", "trust_region_share_end"):
        need(
            0 <= getattr(proposer, key) <= 1,
            f"{key}: need 0 ≤ value ≤ 1, got {getattr(proposer, key)}",
        )
    need(
        int(proposer.trust_region_centres) == proposer.trust_region_centres
        and proposer.trust_region_centres >= 1,
        f"trust_region_centres: need an integer ≥ 1, got {proposer.trust_region_centres}",
    )
    need(
        proposer.trust_region_delta > 0 and proposer.trust_region_separation >= 0,
        "trust_region_delta/trust_region_separation: must be positive / ≥ 0",
    )
    need(
        proposer.trust_region_open >= proposer.trust_region_delta,
        f"trust_region_open: need ≥ trust_region_delta = {proposer.trust_region_delta}, got "
        f"{proposer.trust_region_open}",
    )
    need(
        0
        < proposer.trust_region_radius_min
        <= proposer.trust_region_radius
        <= proposer.trust_region_radius_max,
        "trust_region_radius: need 0 < trust_region_radius_min ≤ trust_region_radius ≤ "
        "trust_region_radius_max, "
        f"got {proposer.trust_region_radius_min}, {proposer.trust_region_radius}, "
        f"{proposer.trust_region_radius_max}",
    )
    need(
        int(proposer.trust_region_pool) == proposer.trust_region_pool
        and proposer.trust_region_pool >= proposer.batch_size,
        f"trust_region_pool: need an integer ≥ batch_size = {proposer.batch_size}, got "
        f"{proposer.trust_region_pool}",
    )
    need(
        int(proposer.trust_region_local_points) == proposer.trust_region_local_points
        and proposer.trust_region_local_points >= proposer.space.dim + 2,
        f"trust_region_local_points: need an integer ≥ d + 2 = {proposer.space.dim + 2}, got "
        f"{proposer.trust_region_local_points}",
    )
    need(
        isinstance(proposer.random_state, (int, np.integer)) and proposer.random_state >= 0,
        f"random_state: need an integer ≥ 0, got {proposer.random_state!r}",
    )
