""":class:`BatchProposer`: one active-learning round. Fits the GP to every successfully
evaluated point, builds the candidate pools (a fresh Latin hypercube, local hulls, Gaussians
around the best points, the trust regions') and picks ``batch_size`` points by kriging-believer
expected improvement, never closer than ``min_distance`` to an evaluated point or an earlier
pick. Deterministic for a seed and round index (``SeedSequence([seed, round])``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping

import numpy as np
from scipy.spatial import cKDTree
from scipy.stats import qmc

from globalfit.active_learning.acquisition import _kriging_believer
from globalfit.active_learning.candidates import gaussian_candidates, hull_candidates
from globalfit.active_learning.exploration import (
    PROSPECT_CANDIDATES,
    PROSPECTS_PER_PICK,
    exploration_count,
    exploration_picks,
    find_prospects,
    prospect_candidates,
)
from globalfit.active_learning.gp import GPModel, _gpflow, _PoolPosterior
from globalfit.active_learning.settings import check_settings
from globalfit.active_learning.target import (
    TARGET_KIND,
    delta_schedule,
    inverse_transform_target,
    transform_target,
)
from globalfit.active_learning.trust_regions import (
    plan_trust_regions,
    trust_region_picks,
    trust_region_share,
)
from globalfit.levels import HIT, REGION
from globalfit.space import ParameterSpace

__all__ = ["BatchProposer"]


class BatchProposer:
    """Proposes each round's batch of points to evaluate (see the module docstring for the method).

    Parameters
    ----------
    space : the parameter box.
    batch_size : q, points per round.
    n_candidates : size of the scored candidate pool per round.
    hull_fraction : share of the fitted points (the best ones) spanning the hull candidates.
    hull_share : share of the pool from hulls of the best points.
    local_share : share of the pool from Gaussians around the d + 1 best points (sd a tenth of the
        GP length scales); the rest of the pool is a Latin hypercube.
    delta_start, delta_end : δ at the first and last round, in units of std(y).
    target_scale, target_cap : the target transform's ``scale`` and ``cap`` (Δχ² units).
    sparse_above : use the sparse GP when more points than this are fitted.
    n_inducing : inducing points of the sparse GP.
    noise_floor : lower bound of the GP likelihood variance (standardised target units).
    min_distance : unit-cube distance below which a candidate counts as a duplicate.
    exploration_share : share of each batch (⌈share × q⌉ points) kept for prospects and the whole
        box, by EI with the fixed margin ``exploration_delta`` (units of std(y)); see
        :mod:`globalfit.active_learning.exploration`.
    trust_region_* : see :mod:`globalfit.active_learning.trust_regions`; their share applies to
        the batch less the exploration picks. A point within ``trust_region_open`` (Δχ²) of the
        best opens a region; a pick within ``trust_region_delta`` is a hit.
    max_iter : L-BFGS-B iterations per optimisation start.
    random_state : int seed; round r uses SeedSequence([random_state, r]).
    """

    def __init__(
        self,
        space: ParameterSpace,
        batch_size: int,
        *,
        n_candidates: int = 4000,
        hull_fraction: float = 0.1,
        hull_share: float = 0.5,
        local_share: float = 0.25,
        delta_start: float = 1.0,
        delta_end: float = 0.01,
        target_scale: float = 1.0,
        target_cap: float = 100.0,
        sparse_above: int = 1500,
        n_inducing: int = 256,
        noise_floor: float = 1e-6,
        min_distance: float = 1e-3,
        exploration_share: float = 0.15,
        exploration_delta: float = 2.0,
        trust_region_share_start: float = 0.5,
        trust_region_share_end: float = 0.9,
        trust_region_centres: int = 4,
        trust_region_delta: float = HIT,
        trust_region_open: float = REGION,
        trust_region_separation: float = 0.2,
        trust_region_radius: float = 0.03,
        trust_region_radius_min: float = 0.003,
        trust_region_radius_max: float = 0.2,
        trust_region_pool: int = 500,
        trust_region_local_points: int = 64,
        max_iter: int = 200,
        random_state: int = 0,
    ):
        self.space = space
        self.batch_size = batch_size
        self.n_candidates = n_candidates
        self.hull_fraction = hull_fraction
        self.hull_share = hull_share
        self.local_share = local_share
        self.delta_start = delta_start
        self.delta_end = delta_end
        self.target_scale = target_scale
        self.target_cap = target_cap
        self.sparse_above = sparse_above
        self.n_inducing = n_inducing
        self.noise_floor = noise_floor
        self.min_distance = min_distance
        self.exploration_share = exploration_share
        self.exploration_delta = exploration_delta
        self.trust_region_share_start = trust_region_share_start
        self.trust_region_share_end = trust_region_share_end
        self.trust_region_centres = trust_region_centres
        self.trust_region_delta = trust_region_delta
        self.trust_region_open = trust_region_open
        self.trust_region_separation = trust_region_separation
        self.trust_region_radius = trust_region_radius
        self.trust_region_radius_min = trust_region_radius_min
        self.trust_region_radius_max = trust_region_radius_max
        self.trust_region_pool = trust_region_pool
        self.trust_region_local_points = trust_region_local_points
        self.max_iter = max_iter
        self.random_state = random_state
        self._validate()

    def _validate(self) -> None:
        check_settings(self)

    def propose(
        self,
        theta: np.ndarray,
        chi2: np.ndarray,
        ok: np.ndarray | None = None,
        *,
        round_index: int,
        n_rounds: int,
        state: Mapping | None = None,
    ) -> tuple[np.ndarray, dict, dict]:
        """Fit the GP to the evaluated points and propose the next batch.

        theta : (n, d) evaluated points (failed ones included, inside the box); chi2 : (n,) their
        χ² (anything for failed points); ok : (n,) bool, False for failed points (default: all
        True); points with non-finite χ² are excluded from the fit as well. round_index in
        [0, n_rounds); state : the previous round's returned state, or None.

        Returns (theta_new (batch_size, d), info, state): ``info`` is a JSON-serialisable dict of
        diagnostics (δ, hyperparameters, per-point predictions ``pred_mean``, ``pred_sd``,
        ``pred_chi2``, CPU seconds, ...; see :func:`diagnostics_row`), ``state`` the GP
        hyperparameters to pass to the next round.
        """
        t_import = time.process_time()
        _gpflow()  # a fresh process pays seconds here; reported apart from fit and proposal
        cpu_import = time.process_time() - t_import
        t_cpu, t_wall = time.process_time(), time.perf_counter()
        space, d = self.space, self.space.dim
        theta = space.check(theta, what="active learning: evaluated points")
        n = len(theta)
        chi2 = np.asarray(chi2, dtype=np.float64).reshape(-1)
        ok = np.ones(n, dtype=bool) if ok is None else np.asarray(ok)
        if chi2.shape != (n,) or ok.shape != (n,):
            raise ValueError(
                f"active learning: chi2 and ok must have shape ({n},), got {chi2.shape} and "
                f"{ok.shape}"
            )
        if ok.dtype != bool:
            raise ValueError(f"active learning: ok must be a boolean mask, got dtype {ok.dtype}")
        if not (0 <= round_index < n_rounds):
            raise ValueError(
                f"active learning: need 0 ≤ round_index < n_rounds, got {round_index}, {n_rounds}"
            )
        fit = ok & np.isfinite(chi2)
        n_fit = int(fit.sum())
        if n_fit < d + 2:
            raise ValueError(
                f"active learning: {n_fit} successfully evaluated points, need at least d + 2 = "
                f"{d + 2}"
            )

        ss_cand, ss_hull, ss_gp, ss_local, ss_tr, ss_explore = np.random.SeedSequence(
            [int(self.random_state), int(round_index)]
        ).spawn(6)
        u_all = space.to_unit(theta)
        u_fit, chi2_fit = u_all[fit], chi2[fit]
        chi2_ref = float(chi2_fit.min())
        y = transform_target(chi2_fit, chi2_ref, scale=self.target_scale, cap=self.target_cap)

        sparse = n_fit > self.sparse_above
        model = GPModel(
            sparse=sparse,
            n_inducing=self.n_inducing,
            noise_floor=self.noise_floor,
            warm_start=state,
            max_iter=self.max_iter,
            random_state=np.random.default_rng(ss_gp),
        ).fit(u_fit, y)
        cpu_fit = time.process_time() - t_cpu

        n_hull = int(round(self.n_candidates * self.hull_share))
        n_local = int(round(self.n_candidates * self.local_share))
        n_lhs = self.n_candidates - n_hull - n_local
        n_best = min(n_fit, max(d + 1, math.ceil(self.hull_fraction * n_fit)))
        best = np.argsort(chi2_fit, kind="stable")[:n_best]
        pool = np.vstack(
            [
                qmc.LatinHypercube(d=d, rng=np.random.default_rng(ss_cand)).random(n_lhs),
                hull_candidates(u_fit[best], n_hull, np.random.default_rng(ss_hull)),
                gaussian_candidates(
                    u_fit[best[: d + 1]],
                    n_local,
                    0.1 * np.minimum(model.lengthscales_, 1.0),
                    np.random.default_rng(ss_local),
                ),
            ]
        )
        n_global = len(pool)
        from_hull = (np.arange(n_global) >= n_lhs) & (np.arange(n_global) < n_lhs + n_hull)
        delta_rel = delta_schedule(round_index, n_rounds, self.delta_start, self.delta_end)
        tree_all = cKDTree(u_all)
        rng_tr = np.random.default_rng(ss_tr)
        regions = plan_trust_regions(
            self,
            u_fit,
            theta[fit],
            chi2_fit,
            model.lengthscales_,
            round_index,
            n_rounds,
            state,
            rng_tr,
        )
        tr_u, tr_ei, tr_owner = [np.zeros((0, d))], [], []
        for k, region in enumerate(regions):
            u_k, ei_k = trust_region_picks(
                self, region, u_fit, y, tree_all, np.vstack(tr_u), delta_rel, rng_tr
            )
            tr_u.append(u_k)
            tr_ei.extend(ei_k)
            tr_owner.extend([k] * len(u_k))
        n_explore = exploration_count(self.exploration_share, self.batch_size)
        prospects = find_prospects(
            u_fit,
            chi2_fit,
            cap=self.target_cap,
            exclude=space.to_unit(np.array([r["centre"] for r in regions]).reshape(-1, d)),
            separation=self.trust_region_separation,
            limit=PROSPECTS_PER_PICK * (n_explore - math.ceil(n_explore / 3)),
        )
        pr_u, pr_owner = prospect_candidates(
            u_fit, prospects, PROSPECT_CANDIDATES, np.random.default_rng(ss_explore)
        )
        n_tr = sum(len(u_k) for u_k in tr_u)
        pool = np.vstack([pool] + tr_u + [pr_u])
        region_of = np.concatenate(
            [np.full(n_global, -1), np.asarray(tr_owner, dtype=np.int64), np.full(len(pr_u), -1)]
        )
        owner = np.concatenate([np.full(n_lhs, -1), np.full(n_global - n_lhs + n_tr, -2), pr_owner])
        from_hull = np.pad(from_hull, (0, len(pool) - n_global))
        dist, _ = tree_all.query(pool, k=1)
        allowed = dist > self.min_distance

        post = _PoolPosterior(model, pool)
        # plug-in incumbent: with fitted noise, max(y) can lie above the GP mean everywhere
        y_best = float(model.predict(u_fit)[0].max())
        delta = delta_rel * float(np.std(y))
        explore_delta = self.exploration_delta * float(np.std(y))  # not annealed
        # the trust regions' picks come first and condition the exploration picks, both condition
        # the global picks (kriging believer)
        forced = np.arange(n_global, n_global + n_tr)
        explore, explore_ei = exploration_picks(
            post,
            model.y_mean_,
            model.y_std_,
            y_best,
            explore_delta,
            n_explore,
            self.min_distance,
            allowed,
            forced,
            owner,
        )
        forced = np.concatenate([forced, explore])
        idx, ei = _kriging_believer(
            post,
            model.y_mean_,
            model.y_std_,
            y_best,
            delta,
            self.batch_size,
            self.min_distance,
            allowed,
            forced=forced,
        )
        ei[: len(tr_ei)] = tr_ei  # a trust-region pick's EI is its own GP's
        ei[len(tr_ei) : len(forced)] = explore_ei  # at the exploration margin
        order = np.arange(len(idx))
        from_exploration = (order >= len(tr_ei)) & (order < len(forced))

        u_new = pool[idx]
        theta_new = np.clip(space.from_unit(u_new), space.lower, space.upper)  # rounding only
        mean = model.y_mean_ + model.y_std_ * post.mean[idx]
        sd = model.y_std_ * np.sqrt(post.var[idx])

        def chi2_of(v):
            return inverse_transform_target(v, chi2_ref, scale=self.target_scale)

        cpu_total = time.process_time() - t_cpu
        for k, region in enumerate(regions):
            region["picks"] = [[float(v) for v in row] for row in theta_new[region_of[idx] == k]]
        new_state = {
            **model.get_state(),
            "round_index": int(round_index),
            "trust_regions": [
                {key: r[key] for key in ("centre", "radius", "picks")} for r in regions
            ],
        }
        info = {
            "round_index": int(round_index),
            "n_rounds": int(n_rounds),
            "random_state": int(self.random_state),
            "n_points": n,
            "n_fit": n_fit,
            "n_excluded": n - n_fit,
            "target": {
                "kind": TARGET_KIND,
                "chi2_ref": chi2_ref,
                "scale": float(self.target_scale),
                "cap": float(self.target_cap),
            },
            "y_best": y_best,
            "y_std": float(np.std(y)),
            "delta_relative": delta_rel,
            "delta": delta,
            "sparse": bool(sparse),
            "n_inducing": 0 if model.Z_ is None else int(len(model.Z_)),
            "gp": {
                "lengthscales_unit": [float(v) for v in model.lengthscales_],
                "lengthscales": [float(v) for v in model.lengthscales_ * space.width],
                "kernel_variance": float(model.kernel_variance_std_ * model.y_std_**2),
                "noise_variance": float(model.noise_variance_std_ * model.y_std_**2),
                "objective": float(model.objective_),
                "n_iter": int(model.n_iter_),
                "start": model.start_,
            },
            "n_best": int(n_best),
            "n_candidates": int(allowed.sum()),
            "n_candidates_hull": int((allowed & from_hull).sum()),
            "from_hull": [bool(v) for v in from_hull[idx]],
            "trust_region_share": trust_region_share(self, round_index, n_rounds),
            "trust_regions": [
                {k: v for k, v in r.items() if k != "picks"} | {"n_picks": len(r["picks"])}
                for r in regions
            ],
            "from_trust_region": [int(v) for v in region_of[idx]],
            "exploration_delta": explore_delta,
            "from_exploration": [bool(v) for v in from_exploration],
            "prospects": [
                {"point": [float(v) for v in theta[fit][i]], "chi2": float(chi2_fit[i])}
                for i in prospects
            ],
            "ei": [float(v) for v in ei],
            "pred_mean": [float(v) for v in mean],
            "pred_sd": [float(v) for v in sd],
            "pred_chi2": [float(v) for v in chi2_of(mean)],
            "pred_chi2_low": [float(v) for v in chi2_of(mean + sd)],
            "pred_chi2_high": [float(v) for v in chi2_of(mean - sd)],
            "cpu_seconds_fit": float(cpu_fit),
            "cpu_seconds_propose": float(cpu_total - cpu_fit),
            "cpu_seconds": float(cpu_total),
            "cpu_seconds_import": float(cpu_import),
            "wall_seconds": float(time.perf_counter() - t_wall),
        }
        return theta_new, info, new_state
