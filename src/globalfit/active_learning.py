"""Active learning: a Gaussian process on the evaluated points proposes the next batch to evaluate.

One round = fit a GP to every successfully evaluated point, score a pool of candidates by expected
improvement (EI) and pick a batch of ``batch_size`` points. The choices, and why:

Target transform
    The GP models the maximised target ``y = -log10(1 + min(Δχ², cap) / scale)`` with
    ``Δχ² = χ² - χ²_ref`` and ``χ²_ref`` the smallest χ² among the fitted points (so the best point
    has y = 0; χ² below the reference, as in a new batch, maps to +log10(1 + |Δχ²|/scale)).
    On the ALP model χ² spans ~13 to 1e14: a raw or ``-log10 χ²`` target spends its range on the
    wall, whereas here Δχ² < 10 fills half of the range [-2, 0] (defaults ``scale = 1``,
    ``cap = 100``). Everything above the cap (excluded at any useful confidence level) is "equally
    bad": the GP need not learn the wall's shape, only where it begins, and a lower cliff lets the
    stationary kernel resolve the basins (on twin_wells, d = 6, the fitted noise variance was
    0.004 with cap 100 and 0.1 with cap 1e4). The reference makes the target independent of
    a constant offset in χ² (minima at 0 or at 13.3 behave alike; ``-log10 χ²`` fails at χ² = 0).
    :func:`inverse_transform_target` maps predictions back to χ² (values at the cap mean "≥ cap").

GP
    gpflow ``GPR`` (``SGPR`` above ``sparse_above`` fitted points) with a squared-exponential
    kernel with one length scale per parameter (ARD), inputs scaled to the unit cube, target
    standardised (zero prior mean = the average target, so unexplored regions do not look as good
    as the best point), float64, likelihood variance bounded below by ``noise_floor`` (standardised
    units) for a stable Cholesky factor. Hyperparameters are fitted by maximum likelihood with
    scipy L-BFGS-B (``gpflow.optimizers.Scipy``) from two starts, the previous round's values
    (the ``state`` dict) and a fixed default, keeping the better one; TF op determinism is switched
    on, so identical inputs give bitwise identical hyperparameters. Predictions and the batch
    selection are then done in numpy from the fitted hyperparameters (same formulas as gpflow's
    ``predict_f``), which is what makes the sequential batch update cheap.
    Sparse GP inducing points (kept fixed): the best points (a quarter of them) plus a seeded
    k-means++ (D²) draw over all fitted points.

Acquisition and δ schedule
    EI = σ (I Φ(I) + φ(I)), I = (μ - y* - δ) / σ, evaluated as log EI (stable when I ≪ 0), with
    σ the latent (noise-free) posterior sd and y* the largest GP mean at the fitted points (the
    "plug-in" incumbent: with a fitted noise, max(y) can lie above the GP mean everywhere, and EI
    would then see no possible improvement near the best points).
    δ = δ_rel(r) · std(y), δ_rel going geometrically from ``delta_start`` = 1 (round 0,
    exploration) to ``delta_end`` = 0.01 (last round, exploitation); linearly if ``delta_end`` is
    0. A constant δ = std(y) never exploits (measured on the ALP model, see DESIGN.md).

Batch strategy: kriging believer
    Greedy sequential EI maximisation over the candidate pool: after each pick the point is added
    as a noise-free fantasy observation equal to the GP mean there (hyperparameters fixed), which
    leaves the mean unchanged, shrinks the posterior variance around the pick by exact rank-one
    conditioning, and raises the incumbent y* to the pick's mean if higher. EI at and near a pick
    therefore collapses, so the batch spreads out instead of being q copies of the best
    candidate. Fantasies are noise-free because the oracle is deterministic (the fitted noise is
    misfit): with the fitted noise the variance barely drops near a pick and whole batches piled
    up in one spot. Once the GP deems a basin explained, the rest of the batch explores. Candidates
    closer than ``min_distance`` (unit-cube Euclidean) to an evaluated point (failed ones
    included) or to an earlier pick are removed, so a batch has no duplicates.

Candidates
    ``n_candidates`` per round: a share ``local_share`` from Gaussians around the d + 1 best points
    (sd a tenth of the GP length scales: on twin_wells in 6-D this took the best Δχ² from 0.83 to
    0.06 in one seed and raised late rounds' hit rate from ~0.2 to ~0.3), a share ``hull_share`` from local convex hulls of the best
    ``hull_fraction`` of the fitted points, the rest a fresh Latin hypercube. A hull candidate is a
    Dirichlet(1, …, 1) combination of d + 1 best points: a random anchor and d points drawn from its
    2d nearest best neighbours. Weights over all best points at once would concentrate at their
    centroid, which for two separated minima lies in the wall between them.

Trust regions (exploitation)
    A share of each batch, growing linearly from ``trust_region_share_start`` (first round) to
    ``trust_region_share_end`` (last round), is picked inside trust regions: up to
    ``trust_region_centres`` distinct good points (greedy by χ², Δχ² < ``trust_region_delta``,
    at least ``trust_region_separation`` apart, so separate minima each get one) are the centres;
    each gets ``trust_region_pool`` Gaussian candidates with per-axis sd = radius × the GP length
    scales normalised to geometric mean 1 (narrow where χ² is sensitive, as in TuRBO), and an
    equal share of the trust-region picks, chosen by EI + kriging believer under a GP of the
    region's own, fitted to the ``trust_region_local_points`` nearest points (TuRBO's local
    models: on the ALP run the global GP's predictions near the best point correlated 0.2 with
    the truth, a 64-point local GP's 0.7). These picks then condition the global picks. The radius
    adapts per region from its previous picks (kept in the round state): halved when fewer than
    40 % were hits (Δχ² < trust_region_delta of the best), ×1.5 above 75 %. Why: on the ALP model
    the region Δχ² < 2.3 is a set of narrow valleys bounded by cliffs (prompt ALP decays jump χ² by
    10²–10⁷ within 0.01–0.03 of the box width of the best points), far narrower than the GP's length
    scales (0.1–0.8): the GP cannot see them, and EI over the whole box kept only ~10 % of the
    proposals there. A region that straddles a cliff shrinks until its picks land inside.
    Measured on the ALP model (same 192-point design, 6 rounds × 32, share of the proposals within
    Δχ² < 2.3 of the best known 13.327 / best χ²): EI over the box only 0.08 / 13.63; trust
    regions scored by the global GP, share 0.25 → 0.75: 0.21 / 13.79; with local GPs: 0.33 /
    13.450; share 0.5 → 0.9 (the defaults): 0.44 / 13.328.

Defaults
    n_candidates 4000 (half from hulls of the best 10 %), min_distance 1e-3, noise_floor 1e-6,
    sparse GP above 1500 fitted points with 256 inducing points; on twin_wells (d = 6, ~300–560
    points, q = 32) fitting + proposing took ~1–3 CPU-s per round, plus ~2–6 s for importing
    TensorFlow in a fresh process, against a budget of 20 % of 32 × 3 s.

Reproducibility
    Every random choice comes from ``np.random.SeedSequence([random_state, round_index])``; a round
    is reconstructible from (constructor arguments, data, round_index, n_rounds, state) alone, as
    the workflow does with one fresh process per round. Bitwise identity across processes assumes
    the same library versions and thread settings.
"""

from __future__ import annotations

import math
import os
import time
from typing import Callable, Mapping

import numpy as np
from scipy.linalg import cho_solve, cholesky, solve_triangular
from scipy.spatial import cKDTree
from scipy.special import erfcx, ndtr
from scipy.stats import qmc

from globalfit.space import ParameterSpace

STATE_FORMAT = "globalfit.active_learning.gp/1"
TARGET_KIND = "-log10(1 + min(chi2 - chi2_ref, cap) / scale)"
JITTER = 1e-6  # gpflow's default_jitter, added to K_uu of the sparse GP
LENGTHSCALE_MIN = 1e-2  # unit-cube units; shorter scales only fit noise
VARIANCE_MIN = 1e-6  # standardised units
DEFAULT_START = {"lengthscale": 0.3, "kernel_variance": 1.0, "noise_variance": 1e-2}


# --------------------------------------------------------------------------------------------
# target transform and acquisition
# --------------------------------------------------------------------------------------------


def transform_target(chi2, chi2_ref: float, *, scale: float = 1.0, cap: float = 100.0) -> np.ndarray:
    """χ² (n,) -> maximised GP target y (n,) = -sign(Δ) log10(1 + |Δ| / scale), Δ = min(χ² - χ²_ref, cap).

    ``chi2_ref`` is normally the smallest χ² of the fitted points (then max y = 0); χ² below the
    reference (a new batch's better points) gives y > 0. ``cap`` (Δχ² units) flattens the wall.
    """
    chi2 = np.asarray(chi2, dtype=np.float64)
    if not (scale > 0 and cap > 0):
        raise ValueError(f"target transform: scale and cap must be positive, got {scale}, {cap}")
    if not np.all(np.isfinite(chi2)):
        raise ValueError("transform_target: chi2 must be finite (exclude failed points first)")
    dchi2 = np.minimum(chi2 - chi2_ref, cap)
    return -np.sign(dchi2) * np.log10(1.0 + np.abs(dchi2) / scale)


def inverse_transform_target(y, chi2_ref: float, *, scale: float = 1.0) -> np.ndarray:
    """y (n,) -> χ² (n,), the inverse of :func:`transform_target` (below the cap)."""
    y = np.asarray(y, dtype=np.float64)
    return chi2_ref - np.sign(y) * scale * (10.0 ** np.abs(y) - 1.0)


def _log_h(z: np.ndarray) -> np.ndarray:
    """log(z Φ(z) + φ(z)), stable for z ≪ 0 (via the scaled complementary error function)."""
    z = np.clip(np.asarray(z, dtype=np.float64), -1e150, 1e150)
    out = np.empty_like(z)
    big = z > -1.0
    zb = z[big]
    out[big] = np.log(zb * ndtr(zb) + np.exp(-0.5 * zb**2) / math.sqrt(2 * math.pi))
    zs = z[~big]
    # h(z) = φ(z) (1 + z √(π/2) erfcx(-z/√2)); the bracket → 1/z² for z → -∞
    bracket = 1.0 + zs * math.sqrt(math.pi / 2) * erfcx(-zs / math.sqrt(2))
    bracket = np.where(zs < -1e4, 1.0 / zs**2, np.maximum(bracket, 1e-300))
    out[~big] = -0.5 * zs**2 - 0.5 * math.log(2 * math.pi) + np.log(bracket)
    return out


def log_expected_improvement(mean, sd, y_best: float, delta: float = 0.0) -> np.ndarray:
    """log EI (n,) for a maximised target; σ = 0 gives log max(μ - y* - δ, 0)."""
    mean, sd = np.broadcast_arrays(np.asarray(mean, dtype=np.float64), np.asarray(sd, dtype=np.float64))
    gain = mean - y_best - delta
    out = np.empty(mean.shape)
    pos = sd > 1e-150
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        out[pos] = np.log(sd[pos]) + _log_h(gain[pos] / sd[pos])
        out[~pos] = np.log(np.maximum(gain[~pos], 0.0))
    return out


def expected_improvement(mean, sd, y_best: float, delta: float = 0.0) -> np.ndarray:
    """EI (n,) = σ (I Φ(I) + φ(I)), I = (μ - y* - δ)/σ, for a maximised target.

    mean, sd : (n,) GP posterior mean and standard deviation; y_best : incumbent y*; delta ≥ 0 :
    required margin (large = explore). σ = 0 gives max(μ - y* - δ, 0).
    """
    return np.exp(log_expected_improvement(mean, sd, y_best, delta))


def delta_schedule(round_index: int, n_rounds: int, start: float = 1.0, end: float = 0.01) -> float:
    """δ_rel for a round (multiply by std(y)): geometric from ``start`` (round 0) to ``end`` (last
    round), linear if ``end`` is 0."""
    if not (0 <= end <= start):
        raise ValueError(f"delta schedule: need 0 <= delta_end <= delta_start, got {start}, {end}")
    t = round_index / (n_rounds - 1) if n_rounds > 1 else 0.0
    if end == 0 or start == 0:
        return float(start + (end - start) * t)
    return float(start * (end / start) ** t)


# --------------------------------------------------------------------------------------------
# candidates and inducing points
# --------------------------------------------------------------------------------------------


def hull_candidates(
    u_best: np.ndarray, n: int, rng: np.random.Generator, *, n_neighbours: int | None = None
) -> np.ndarray:
    """Random points in local simplices of the best points.

    u_best : (k, d) best points (unit cube), k ≥ 2; returns (n, d). Each point is a Dirichlet(1)
    combination of an anchor drawn uniformly from ``u_best`` and min(d, k-1) others drawn without
    replacement from the anchor's ``n_neighbours`` (default 2d) nearest best points, so separated
    clusters of good points give candidates inside each cluster, not between them.
    """
    u_best = np.asarray(u_best, dtype=np.float64)
    k, d = u_best.shape
    if k < 2:
        raise ValueError("hull_candidates: need at least two best points")
    if n <= 0:
        return np.empty((0, d))
    m = min(d, k - 1)
    nn = max(m, min(k - 1, n_neighbours if n_neighbours is not None else 2 * d))
    dist = np.sum((u_best[:, None, :] - u_best[None, :, :]) ** 2, axis=-1)
    np.fill_diagonal(dist, np.inf)
    neighbours = np.argsort(dist, axis=1, kind="stable")[:, :nn]  # (k, nn)
    anchors = rng.integers(k, size=n)
    pick = np.argsort(rng.random((n, nn)), axis=1, kind="stable")[:, :m]
    others = np.take_along_axis(neighbours[anchors], pick, axis=1)
    vertices = np.concatenate([anchors[:, None], others], axis=1)  # (n, m+1)
    weights = rng.dirichlet(np.ones(m + 1), size=n)
    return np.clip(np.einsum("nv,nvd->nd", weights, u_best[vertices]), 0.0, 1.0)


def gaussian_candidates(centres: np.ndarray, n: int, sd: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """n points from Gaussians around centres drawn uniformly from ``centres`` (k, d), per-axis sd
    ``sd`` ((d,) or (k, d), unit cube), reflected into the cube.

    Reflection (not clipping) keeps the density near a minimum on a face of the box.
    """
    centres = np.asarray(centres, dtype=np.float64)
    if n == 0:
        return np.zeros((0, centres.shape[1]))
    pick = rng.integers(0, len(centres), n)
    sd = np.broadcast_to(np.asarray(sd, dtype=np.float64), centres.shape)[pick]
    u = np.abs(centres[pick] + rng.normal(size=(n, centres.shape[1])) * sd)
    return np.where(u > 1.0, 2.0 - u, u).clip(0.0, 1.0)


def trust_region_shape(lengthscales: np.ndarray) -> np.ndarray:
    """Per-axis trust-region scale (d,) with geometric mean 1, proportional to the GP length scales
    (capped at the cube's width): narrow along the directions χ² is sensitive to (as TuRBO)."""
    ls = np.clip(np.asarray(lengthscales, dtype=np.float64), LENGTHSCALE_MIN, 1.0)
    return ls / np.exp(np.mean(np.log(ls)))


def trust_region_centres(u: np.ndarray, chi2: np.ndarray, *, max_centres: int, within: float,
                         separation: float) -> np.ndarray:
    """Indices of up to ``max_centres`` distinct good points, best first: greedy by χ² among the
    points with Δχ² < ``within`` of the best, each at least ``separation`` (unit-cube distance) from
    those already chosen, so that separate minima get their own trust region."""
    order = np.argsort(chi2, kind="stable")
    chosen: list[int] = []
    for i in order:
        if chi2[i] - chi2[order[0]] >= within or len(chosen) == max_centres:
            break
        if all(np.linalg.norm(u[i] - u[j]) >= separation for j in chosen):
            chosen.append(int(i))
    return np.array(chosen, dtype=np.int64)


def update_trust_radius(radius: float, hit_rate: float, *, low: float = 0.4, high: float = 0.75,
                        radius_min: float, radius_max: float) -> float:
    """Next radius of a trust region from its last picks' hit rate (share within Δχ² of the best):
    halve below ``low`` (the region reaches over the basin's walls), ×1.5 above ``high`` (the basin
    is wider than the region), else keep."""
    if hit_rate < low:
        radius *= 0.5
    elif hit_rate > high:
        radius *= 1.5
    return float(min(max(radius, radius_min), radius_max))


def select_inducing_points(
    u: np.ndarray, y: np.ndarray, m: int, rng: np.random.Generator, *, best_share: float = 0.25
) -> np.ndarray:
    """(m, d) inducing points: the best ``best_share`` · m points by y, then k-means++ (D²) draws.

    u : (n, d), y : (n,) maximised target. Returns all of u when m ≥ n.
    """
    u = np.asarray(u, dtype=np.float64)
    n = len(u)
    if m >= n:
        return u.copy()
    n_best = min(int(best_share * m), m)
    chosen = list(np.argsort(-np.asarray(y), kind="stable")[:n_best])
    if not chosen:
        chosen = [int(rng.integers(n))]
    d2 = np.min(np.sum((u[:, None, :] - u[None, chosen, :]) ** 2, axis=-1), axis=1)
    while len(chosen) < m:
        total = d2.sum()
        if total <= 0:
            break
        i = int(rng.choice(n, p=d2 / total))
        chosen.append(i)
        d2 = np.minimum(d2, np.sum((u - u[i]) ** 2, axis=1))
    return u[np.array(chosen)]


# --------------------------------------------------------------------------------------------
# Gaussian process
# --------------------------------------------------------------------------------------------


def _gpflow():
    """Import TensorFlow/gpflow lazily (seconds of CPU) with determinism on."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")  # only effective before TF's first import
    import gpflow
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()
    return tf, gpflow


def _se_kernel(a: np.ndarray, b: np.ndarray, lengthscales: np.ndarray, variance: float) -> np.ndarray:
    """Squared-exponential kernel matrix (len(a), len(b)), numerically as gpflow's."""
    a = a / lengthscales
    b = b / lengthscales
    sq = np.sum(a**2, axis=1)[:, None] + np.sum(b**2, axis=1)[None, :] - 2.0 * a @ b.T
    return variance * np.exp(-0.5 * np.maximum(sq, 0.0))


class _PoolPosterior:
    """Posterior of the standardised GP on a fixed pool of points, with covariance columns on demand.

    cov(x, x') = k(x, x') - t1(x)·t1(x') [+ t2(x)·t2(x') for the sparse GP].
    """

    def __init__(self, model: "GPModel", u_pool: np.ndarray):
        self.model = model
        self.u = u_pool
        ls, var = model.lengthscales_, model.kernel_variance_std_
        if model.Z_ is None:
            ks = _se_kernel(model.X_, u_pool, ls, var)
            self.mean = ks.T @ model._alpha
            self.t1 = solve_triangular(model._L, ks, lower=True, check_finite=False)
            self.t2 = None
            self.var = var - np.sum(self.t1**2, axis=0)
        else:
            kus = _se_kernel(model.Z_, u_pool, ls, var)
            self.t1 = solve_triangular(model._L, kus, lower=True, check_finite=False)
            self.t2 = solve_triangular(model._LB, self.t1, lower=True, check_finite=False)
            self.mean = self.t2.T @ model._c
            self.var = var - np.sum(self.t1**2, axis=0) + np.sum(self.t2**2, axis=0)
        self.var = np.maximum(self.var, 0.0)

    def cov_column(self, j: int) -> np.ndarray:
        model = self.model
        col = _se_kernel(self.u, self.u[j : j + 1], model.lengthscales_, model.kernel_variance_std_)[:, 0]
        col -= self.t1.T @ self.t1[:, j]
        if self.t2 is not None:
            col += self.t2.T @ self.t2[:, j]
        return col


class GPModel:
    """GP regression of a maximised target on unit-cube inputs (gpflow GPR or SGPR, ARD SE kernel).

    Parameters
    ----------
    sparse : use SGPR with ``n_inducing`` fixed inducing points instead of exact GPR.
    n_inducing : number of inducing points (sparse only).
    noise_floor : lower bound of the likelihood variance, in units of the standardised target.
    warm_start : a dict from :meth:`get_state` of a previous fit (or None); used as a first
        optimisation start besides the fixed default start.
    max_iter : L-BFGS-B iterations per start.
    random_state : int or numpy Generator (inducing-point selection only).

    Learned attributes: ``X_`` (n, d), ``y_mean_``, ``y_std_``, ``lengthscales_`` (d,) unit-cube
    units, ``kernel_variance_std_``, ``noise_variance_std_`` (standardised target units),
    ``Z_`` (m, d) inducing points or None, ``objective_`` (log marginal likelihood, ELBO if
    sparse, standardised target), ``n_iter_``, ``start_`` ('warm' or 'default'), ``cpu_seconds_``.
    """

    def __init__(
        self,
        *,
        sparse: bool = False,
        n_inducing: int = 256,
        noise_floor: float = 1e-6,
        warm_start: Mapping | None = None,
        max_iter: int = 200,
        random_state: int | np.random.Generator = 0,
    ):
        self.sparse = sparse
        self.n_inducing = n_inducing
        self.noise_floor = noise_floor
        self.warm_start = warm_start
        self.max_iter = max_iter
        self.random_state = random_state

    def _starts(self, d: int) -> list[tuple[str, dict]]:
        default = {
            "lengthscales": np.full(d, DEFAULT_START["lengthscale"]),
            "kernel_variance": DEFAULT_START["kernel_variance"],
            "noise_variance": max(DEFAULT_START["noise_variance"], 10 * self.noise_floor),
        }
        starts = []
        ws = self.warm_start
        if ws:
            if ws.get("format") != STATE_FORMAT:
                raise ValueError(f"GP warm start: unknown state format {ws.get('format')!r}, expected {STATE_FORMAT!r}")
            ls = np.asarray(ws["lengthscales"], dtype=np.float64)
            if ls.shape != (d,):
                raise ValueError(f"GP warm start: {ls.size} length scales for {d} parameters")
            starts.append(
                (
                    "warm",
                    {
                        "lengthscales": ls,
                        "kernel_variance": float(ws["kernel_variance"]),
                        "noise_variance": float(ws["noise_variance"]),
                    },
                )
            )
        starts.append(("default", default))
        for _, s in starts:  # strictly inside the bounds, else the bijector's inverse is -inf
            s["lengthscales"] = np.maximum(s["lengthscales"], 1.01 * LENGTHSCALE_MIN)
            s["kernel_variance"] = max(s["kernel_variance"], 1.01 * VARIANCE_MIN)
            s["noise_variance"] = max(s["noise_variance"], 1.01 * self.noise_floor)
        return starts

    def fit(self, u: np.ndarray, y: np.ndarray) -> "GPModel":
        """u : (n, d) unit-cube inputs, y : (n,) finite target values. Returns self."""
        t0 = time.process_time()
        u = np.ascontiguousarray(u, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64).reshape(-1)
        if u.ndim != 2 or len(u) != len(y):
            raise ValueError(f"GPModel.fit: u must be (n, d) and y (n,), got {u.shape} and {y.shape}")
        if len(y) < 2 or not (np.all(np.isfinite(u)) and np.all(np.isfinite(y))):
            raise ValueError("GPModel.fit: need at least two points with finite inputs and targets")
        if not self.noise_floor > 0:
            raise ValueError(f"GPModel: noise_floor must be positive, got {self.noise_floor}")
        tf, gpflow = _gpflow()
        from gpflow.utilities import positive

        n, d = u.shape
        self.X_ = u
        self.y_mean_ = float(np.mean(y))
        std = float(np.std(y))
        self.y_std_ = std if std > 1e-12 else 1.0
        ys = ((y - self.y_mean_) / self.y_std_)[:, None]
        rng = np.random.default_rng(self.random_state)
        self.Z_ = select_inducing_points(u, y, self.n_inducing, rng) if self.sparse else None

        kernel = gpflow.kernels.SquaredExponential()
        kernel.lengthscales = gpflow.Parameter(
            np.full(d, DEFAULT_START["lengthscale"]), transform=positive(lower=LENGTHSCALE_MIN)
        )
        kernel.variance = gpflow.Parameter(1.0, transform=positive(lower=VARIANCE_MIN))
        likelihood = gpflow.likelihoods.Gaussian(variance=1.0, variance_lower_bound=self.noise_floor)
        if self.Z_ is None:
            model = gpflow.models.GPR((u, ys), kernel=kernel, likelihood=likelihood)
        else:
            model = gpflow.models.SGPR((u, ys), kernel=kernel, inducing_variable=self.Z_.copy(), likelihood=likelihood)
            gpflow.set_trainable(model.inducing_variable, False)
        loss = model.training_loss
        opt = gpflow.optimizers.Scipy()
        best = None
        for name, start in self._starts(d):
            kernel.lengthscales.assign(start["lengthscales"])
            kernel.variance.assign(start["kernel_variance"])
            likelihood.variance.assign(start["noise_variance"])
            try:
                res = opt.minimize(
                    loss,
                    model.trainable_variables,
                    options={"maxiter": self.max_iter},
                    # the loss has no Python control flow: skipping autograph's source conversion
                    # saves ~0.1 s per fit (a third of a proposal's CPU time), same graph
                    tf_fun_args={"autograph": False},
                )
                value = float(loss().numpy())
            except tf.errors.InvalidArgumentError:  # Cholesky failure from this start
                continue
            if not np.isfinite(value):
                continue
            if best is None or value < best[0]:
                best = (
                    value,
                    name,
                    int(res.nit),
                    kernel.lengthscales.numpy().astype(np.float64).copy(),
                    float(kernel.variance.numpy()),
                    float(likelihood.variance.numpy()),
                )
        if best is None:
            raise RuntimeError("GPModel.fit: hyperparameter optimisation failed from every start")
        value, self.start_, self.n_iter_, self.lengthscales_, self.kernel_variance_std_, self.noise_variance_std_ = best
        self.objective_ = -value
        self._precompute(ys[:, 0])
        self.cpu_seconds_ = time.process_time() - t0
        return self

    def _precompute(self, ys: np.ndarray) -> None:
        ls, var, noise = self.lengthscales_, self.kernel_variance_std_, self.noise_variance_std_
        if self.Z_ is None:
            k = _se_kernel(self.X_, self.X_, ls, var)
            k[np.diag_indices_from(k)] += noise
            self._L = cholesky(k, lower=True, check_finite=False)
            self._alpha = cho_solve((self._L, True), ys, check_finite=False)
        else:
            sigma = math.sqrt(noise)
            kuu = _se_kernel(self.Z_, self.Z_, ls, var) + JITTER * np.eye(len(self.Z_))
            self._L = cholesky(kuu, lower=True, check_finite=False)
            a = solve_triangular(self._L, _se_kernel(self.Z_, self.X_, ls, var), lower=True, check_finite=False) / sigma
            self._LB = cholesky(a @ a.T + np.eye(len(self.Z_)), lower=True, check_finite=False)
            self._c = solve_triangular(self._LB, a @ ys / sigma, lower=True, check_finite=False)

    def predict(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """u : (m, d) unit cube -> (mean (m,), sd (m,)) of the latent target (noise excluded), in
        target units."""
        post = _PoolPosterior(self, np.ascontiguousarray(u, dtype=np.float64))
        return self.y_mean_ + self.y_std_ * post.mean, self.y_std_ * np.sqrt(post.var)

    def get_state(self) -> dict:
        """JSON-serialisable hyperparameters (standardised target units) for a warm start."""
        return {
            "format": STATE_FORMAT,
            "lengthscales": [float(v) for v in self.lengthscales_],
            "kernel_variance": float(self.kernel_variance_std_),
            "noise_variance": float(self.noise_variance_std_),
        }


# --------------------------------------------------------------------------------------------
# batch proposal
# --------------------------------------------------------------------------------------------


def _kriging_believer(
    post: _PoolPosterior,
    y_mean: float,
    y_std: float,
    y_best: float,
    delta: float,
    q: int,
    min_distance: float,
    allowed: np.ndarray,
    forced: np.ndarray | list = (),
):
    """Greedy batch of q pool indices (see module docstring); returns (indices, EI at pick time).

    ``forced``: pool indices taken first, in order, whatever their EI (the trust regions' picks,
    chosen by their own GPs); they condition the rest of the batch like any other pick.
    """
    mean = y_mean + y_std * post.mean  # unchanged by believer fantasies
    var = post.var.copy()
    noise = post.model.noise_floor  # noise-free fantasies (module docstring); floor for stability
    allowed = allowed.copy()
    factors: list[tuple[np.ndarray, int]] = []
    picks, eis = [], []
    tree = cKDTree(post.u)
    forced = list(forced)
    for i in range(q):
        if not allowed.any():
            raise RuntimeError("active learning: candidate pool exhausted; increase n_candidates")
        log_ei = log_expected_improvement(mean, y_std * np.sqrt(var), y_best, delta)
        log_ei = np.where(allowed, log_ei, -np.inf)
        j = int(forced[i]) if i < len(forced) else int(np.argmax(log_ei))
        if not np.isfinite(log_ei[j]) and i >= len(forced):  # EI 0 everywhere: the most uncertain point
            j = int(np.argmax(np.where(allowed, var, -np.inf)))
        picks.append(j)
        eis.append(float(np.exp(log_ei[j])))
        col = post.cov_column(j)
        for f, _ in factors:
            col -= f * f[j]
        f = col / math.sqrt(var[j] + noise)
        factors.append((f, j))
        var = np.maximum(var - f**2, 0.0)
        y_best = max(y_best, float(mean[j]))
        allowed[tree.query_ball_point(post.u[j], r=min_distance)] = False
        allowed[j] = False
    return np.array(picks, dtype=np.int64), np.array(eis)


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
        trust_region_share_start: float = 0.5,
        trust_region_share_end: float = 0.9,
        trust_region_centres: int = 4,
        trust_region_delta: float = 2.3,
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
        self.trust_region_share_start = trust_region_share_start
        self.trust_region_share_end = trust_region_share_end
        self.trust_region_centres = trust_region_centres
        self.trust_region_delta = trust_region_delta
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
        def need(cond, msg):
            if not cond:
                raise ValueError(f"active_learning.{msg}")

        need(isinstance(self.space, ParameterSpace), "space: must be a ParameterSpace")
        need(
            int(self.batch_size) == self.batch_size and self.batch_size >= 1,
            f"batch_size: need an integer ≥ 1, got {self.batch_size}",
        )
        need(
            self.n_candidates >= 4 * self.batch_size,
            f"n_candidates: need ≥ 4 × batch_size = {4 * self.batch_size}, got {self.n_candidates}",
        )
        need(0 < self.hull_fraction <= 1, f"hull_fraction: need 0 < value ≤ 1, got {self.hull_fraction}")
        need(0 <= self.hull_share <= 1, f"hull_share: need 0 ≤ value ≤ 1, got {self.hull_share}")
        need(0 <= self.local_share <= 1 - self.hull_share,
             f"local_share: need 0 ≤ value ≤ 1 − hull_share, got {self.local_share}")
        need(
            0 <= self.delta_end <= self.delta_start,
            f"delta_start/delta_end: need 0 ≤ delta_end ≤ delta_start, got {self.delta_start}, {self.delta_end}",
        )
        need(self.target_scale > 0 and self.target_cap > 0, "target_scale/target_cap: must be positive")
        need(self.sparse_above >= 1 and self.n_inducing >= 2, "sparse_above/n_inducing: must be ≥ 1 and ≥ 2")
        need(self.noise_floor > 0, f"noise_floor: must be positive, got {self.noise_floor}")
        need(self.min_distance >= 0, f"min_distance: must be ≥ 0, got {self.min_distance}")
        for key in ("trust_region_share_start", "trust_region_share_end"):
            need(0 <= getattr(self, key) <= 1, f"{key}: need 0 ≤ value ≤ 1, got {getattr(self, key)}")
        need(int(self.trust_region_centres) == self.trust_region_centres and self.trust_region_centres >= 1,
             f"trust_region_centres: need an integer ≥ 1, got {self.trust_region_centres}")
        need(self.trust_region_delta > 0 and self.trust_region_separation >= 0,
             "trust_region_delta/trust_region_separation: must be positive / ≥ 0")
        need(0 < self.trust_region_radius_min <= self.trust_region_radius <= self.trust_region_radius_max,
             "trust_region_radius: need 0 < trust_region_radius_min ≤ trust_region_radius ≤ trust_region_radius_max, "
             f"got {self.trust_region_radius_min}, {self.trust_region_radius}, {self.trust_region_radius_max}")
        need(int(self.trust_region_pool) == self.trust_region_pool and self.trust_region_pool >= self.batch_size,
             f"trust_region_pool: need an integer ≥ batch_size = {self.batch_size}, got {self.trust_region_pool}")
        need(int(self.trust_region_local_points) == self.trust_region_local_points
             and self.trust_region_local_points >= self.space.dim + 2,
             f"trust_region_local_points: need an integer ≥ d + 2 = {self.space.dim + 2}, got {self.trust_region_local_points}")
        need(
            isinstance(self.random_state, (int, np.integer)) and self.random_state >= 0,
            f"random_state: need an integer ≥ 0, got {self.random_state!r}",
        )

    def _trust_region_share(self, round_index: int, n_rounds: int) -> float:
        """Share of the batch picked inside trust regions: linear from the first to the last round."""
        t = round_index / (n_rounds - 1) if n_rounds > 1 else 1.0
        return float(self.trust_region_share_start + (self.trust_region_share_end - self.trust_region_share_start) * t)

    def _trust_regions(self, u_fit, theta_fit, chi2_fit, lengthscales, round_index, n_rounds, state, rng) -> list[dict]:
        """This round's trust regions: centre, radius (adapted from the previous round's picks),
        hit rate of those picks, pick quota and candidate pool (see the module docstring)."""
        q_tr = int(round(self._trust_region_share(round_index, n_rounds) * self.batch_size))
        if q_tr == 0:
            return []
        chi2_ref = float(chi2_fit.min())
        known = {tuple(row): c for row, c in zip(theta_fit.tolist(), chi2_fit)}
        previous = []
        for region in (state or {}).get("trust_regions", []):
            picks = region["picks"]
            # a failed pick is not among the fitted points: a miss
            hits = sum(known.get(tuple(p), np.inf) - chi2_ref < self.trust_region_delta for p in picks)
            rate = hits / len(picks) if picks else None
            radius = region["radius"] if not picks else update_trust_radius(
                region["radius"], rate, radius_min=self.trust_region_radius_min, radius_max=self.trust_region_radius_max
            )
            previous.append((self.space.to_unit(np.asarray(region["centre"])[None])[0], radius, rate))
        centres = trust_region_centres(
            u_fit, chi2_fit, max_centres=self.trust_region_centres, within=self.trust_region_delta,
            separation=self.trust_region_separation,
        )
        shape = trust_region_shape(lengthscales)
        regions = []
        for k, i in enumerate(centres):
            radius, rate = self.trust_region_radius, None
            if previous:  # inherit from the nearest previous region, if it is the same basin
                dist = [np.linalg.norm(u_fit[i] - c) for c, _, _ in previous]
                j = int(np.argmin(dist))
                if dist[j] < max(self.trust_region_separation, 1e-12):
                    _, radius, rate = previous[j]
            regions.append(
                {
                    "centre": [float(v) for v in theta_fit[i]],
                    "chi2": float(chi2_fit[i]),
                    "radius": float(radius),
                    "previous_hit_rate": rate,
                    "quota": q_tr // len(centres) + (k < q_tr % len(centres)),
                    "shape": [float(v) for v in shape],
                    "pool": gaussian_candidates(u_fit[i][None], self.trust_region_pool, radius * shape, rng),
                }
            )
        return regions

    def _trust_region_picks(self, region, u_fit, y, tree_all, taken, delta_rel, rng):
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
        centre = self.space.to_unit(np.asarray(region["centre"])[None])[0]
        shape = np.asarray(region["shape"])
        near = np.argsort(np.linalg.norm((u_fit - centre) / shape, axis=1), kind="stable")[: self.trust_region_local_points]
        start = {"format": STATE_FORMAT, "lengthscales": list(np.minimum(3 * region["radius"] * shape, 1.0)),
                 "kernel_variance": 1.0, "noise_variance": 0.01}
        local = GPModel(noise_floor=self.noise_floor, warm_start=start, max_iter=self.max_iter,
                        random_state=rng).fit(u_fit[near], y[near])
        region["lengthscales_unit"] = [float(v) for v in local.lengthscales_]
        allowed = tree_all.query(pool, k=1)[0] > self.min_distance
        if len(taken):
            allowed &= cKDTree(taken).query(pool, k=1)[0] > self.min_distance
        post = _PoolPosterior(local, pool)
        idx, ei = _kriging_believer(
            post, local.y_mean_, local.y_std_, float(local.predict(u_fit[near])[0].max()),
            delta_rel * float(np.std(y[near])), min(region["quota"], int(allowed.sum())), self.min_distance, allowed,
        )
        return pool[idx], [float(v) for v in ei]

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
            raise ValueError(f"active learning: chi2 and ok must have shape ({n},), got {chi2.shape} and {ok.shape}")
        if ok.dtype != bool:
            raise ValueError(f"active learning: ok must be a boolean mask, got dtype {ok.dtype}")
        if not (0 <= round_index < n_rounds):
            raise ValueError(f"active learning: need 0 ≤ round_index < n_rounds, got {round_index}, {n_rounds}")
        fit = ok & np.isfinite(chi2)
        n_fit = int(fit.sum())
        if n_fit < d + 2:
            raise ValueError(f"active learning: {n_fit} successfully evaluated points, need at least d + 2 = {d + 2}")

        ss_cand, ss_hull, ss_gp, ss_local, ss_tr = np.random.SeedSequence(
            [int(self.random_state), int(round_index)]
        ).spawn(5)
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
                gaussian_candidates(u_fit[best[: d + 1]], n_local, 0.1 * np.minimum(model.lengthscales_, 1.0),
                                    np.random.default_rng(ss_local)),
            ]
        )
        n_global = len(pool)
        from_hull = (np.arange(n_global) >= n_lhs) & (np.arange(n_global) < n_lhs + n_hull)
        delta_rel = delta_schedule(round_index, n_rounds, self.delta_start, self.delta_end)
        tree_all = cKDTree(u_all)
        rng_tr = np.random.default_rng(ss_tr)
        regions = self._trust_regions(u_fit, theta[fit], chi2_fit, model.lengthscales_, round_index, n_rounds, state, rng_tr)
        tr_u, tr_ei, tr_owner = [np.zeros((0, d))], [], []
        for k, region in enumerate(regions):
            u_k, ei_k = self._trust_region_picks(region, u_fit, y, tree_all, np.vstack(tr_u), delta_rel, rng_tr)
            tr_u.append(u_k)
            tr_ei.extend(ei_k)
            tr_owner.extend([k] * len(u_k))
        pool = np.vstack([pool] + tr_u)
        region_of = np.concatenate([np.full(n_global, -1), np.asarray(tr_owner, dtype=np.int64)])
        from_hull = np.pad(from_hull, (0, len(pool) - n_global))
        dist, _ = tree_all.query(pool, k=1)
        allowed = dist > self.min_distance

        post = _PoolPosterior(model, pool)
        # plug-in incumbent: with fitted noise, max(y) can lie above the GP mean everywhere
        y_best = float(model.predict(u_fit)[0].max())
        delta = delta_rel * float(np.std(y))
        # the trust regions' picks come first and condition the global picks (kriging believer)
        idx, ei = _kriging_believer(
            post, model.y_mean_, model.y_std_, y_best, delta, self.batch_size, self.min_distance, allowed,
            forced=np.arange(n_global, len(pool)),
        )
        ei[: len(tr_ei)] = tr_ei  # a trust-region pick's EI is its own GP's

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
            "trust_regions": [{key: r[key] for key in ("centre", "radius", "picks")} for r in regions],
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
            "trust_region_share": self._trust_region_share(round_index, n_rounds),
            "trust_regions": [{k: v for k, v in r.items() if k != "picks"} | {"n_picks": len(r["picks"])} for r in regions],
            "from_trust_region": [int(v) for v in region_of[idx]],
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


# --------------------------------------------------------------------------------------------
# diagnostics and the in-memory loop
# --------------------------------------------------------------------------------------------

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

    info : the proposal's info dict; chi2_batch : (q,) χ² of the proposed batch once evaluated, in
    proposal order; ok_batch : (q,) bool (default: finite χ²); best_before/best_after : best χ²
    of the dataset before/after adding the batch; evaluation_cpu_seconds : summed oracle CPU
    seconds of the batch; chi2_min_reference : χ² defining Δχ² for the fractions (default
    best_after; a known minimum in tests).

    gp_rmse is the GP's out-of-sample error on the batch in target units (predicted mean vs the
    transform of the new χ², with the reference used at proposal time); gp_frac_within_2sd the
    share of batch points within 2 predicted sd (noise included). Failed points count as not low
    in the fractions and are left out of the GP error. proposal_cpu_seconds excludes the
    TensorFlow import (import_cpu_seconds, paid once per process), as the budget does;
    proposal_share = proposal / evaluation CPU seconds (the budget is 0.2).
    A posterior round (``info["method"] == "posterior"``, :mod:`globalfit.posterior_rounds`) has
    no GP: its GP columns are NaN.
    """
    chi2_batch = np.asarray(chi2_batch, dtype=np.float64).reshape(-1)
    method = info.get("method", "gp")
    q = len(info["pred_mean"] if method == "gp" else info["pred_chi2"])
    if chi2_batch.shape != (q,):
        raise ValueError(f"diagnostics_row: expected {q} batch χ² values, got {chi2_batch.shape}")
    ok = np.isfinite(chi2_batch) if ok_batch is None else (np.asarray(ok_batch, dtype=bool) & np.isfinite(chi2_batch))
    if method == "gp":
        target = info["target"]
        mean = np.asarray(info["pred_mean"])[ok]
        sd = np.hypot(np.asarray(info["pred_sd"])[ok], math.sqrt(info["gp"]["noise_variance"]))
        y_true = transform_target(chi2_batch[ok], target["chi2_ref"], scale=target["scale"], cap=target["cap"])
        err = y_true - mean
    else:
        err = sd = np.zeros(0)
    valid = np.ones(len(err), dtype=bool)
    ref = best_after if chi2_min_reference is None else chi2_min_reference
    dchi2 = np.where(ok, chi2_batch - ref, np.inf)
    proposal = float(info["cpu_seconds"])
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
        "gp_frac_within_2sd": float(np.mean(np.abs(err[valid]) <= 2 * sd[valid])) if valid.any() else float("nan"),
        "frac_dchi2_below_2_3": float(np.mean(dchi2 < 2.3)),
        "frac_dchi2_below_10": float(np.mean(dchi2 < 10.0)),
        "proposal_cpu_seconds": proposal,
        "import_cpu_seconds": float(info.get("cpu_seconds_import", 0.0)),
        "evaluation_cpu_seconds": float(evaluation_cpu_seconds),
        "proposal_share": proposal / evaluation_cpu_seconds if evaluation_cpu_seconds > 0 else float("inf"),
    }


def _evaluate(chi2_fn: Callable[[np.ndarray], np.ndarray], theta: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    t0 = time.process_time()
    chi2 = np.asarray(chi2_fn(theta), dtype=np.float64).reshape(-1)
    if chi2.shape != (len(theta),):
        raise ValueError(f"chi2_fn returned shape {chi2.shape} for {len(theta)} points")
    return chi2, np.isfinite(chi2), time.process_time() - t0


def run_active_learning(
    chi2_fn: Callable[[np.ndarray], np.ndarray],
    space: ParameterSpace,
    n_initial: int,
    n_rounds: int,
    batch_size: int,
    seed: int,
    *,
    chi2_min_reference: float | None = None,
    **proposer_kwargs,
) -> dict:
    """In-memory loop: a seeded Latin hypercube of ``n_initial`` points, then ``n_rounds`` batches.

    chi2_fn : (n, d) -> (n,) χ², non-finite for failed points. Returns a dict with ``theta``
    (N, d), ``chi2`` (N,), ``ok`` (N,) bool, ``round`` (N,) int (-1 for the hypercube),
    ``infos`` (one info dict per round), ``diagnostics`` (one :func:`diagnostics_row` per round)
    and the final ``state``.
    """
    from globalfit.design import latin_hypercube

    theta = latin_hypercube(space, n_initial, seed)
    chi2, ok, _ = _evaluate(chi2_fn, theta)
    rounds = np.full(len(theta), -1, dtype=np.int64)
    proposer = BatchProposer(space, batch_size, random_state=seed, **proposer_kwargs)
    state, infos, rows = None, [], []
    for r in range(n_rounds):
        best_before = float(np.min(chi2[ok])) if ok.any() else float("inf")
        theta_new, info, state = proposer.propose(theta, chi2, ok, round_index=r, n_rounds=n_rounds, state=state)
        chi2_new, ok_new, cpu_eval = _evaluate(chi2_fn, theta_new)
        theta = np.vstack([theta, theta_new])
        chi2 = np.concatenate([chi2, chi2_new])
        ok = np.concatenate([ok, ok_new])
        rounds = np.concatenate([rounds, np.full(len(theta_new), r)])
        infos.append(info)
        rows.append(
            diagnostics_row(
                info,
                chi2_new,
                ok_batch=ok_new,
                best_before=best_before,
                best_after=float(np.min(chi2[ok])),
                evaluation_cpu_seconds=cpu_eval,
                chi2_min_reference=chi2_min_reference,
            )
        )
    return {
        "theta": theta,
        "chi2": chi2,
        "ok": ok,
        "round": rounds,
        "infos": infos,
        "diagnostics": rows,
        "state": state,
    }
