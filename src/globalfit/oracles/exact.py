"""Likelihoods whose posterior and evidence are known exactly, for testing samplers.

Each problem is a vectorised χ²(θ) on the box [−h, h]^d under a uniform prior, far enough
inside the box that the box cuts no measurable mass (at least 4 sds: under d × 3·10⁻⁵), with its
exact ln Z = ln ∫ e^{−χ²/2} dθ/(2h)^d, and a way to draw from the exact posterior (to fit
proposals, or to compare marginals with).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = [
    "EXACT_PROBLEMS",
    "ExactProblem",
    "correlated_gaussian",
    "curved_valley",
    "exact_problem",
    "gaussian_wells",
    "two_wells",
    "unequal_wells",
]

#: Beyond a cliff χ² is the valley's plus CLIFF_HEIGHT·10^(distance / CLIFF_SCALE), capped at
#: 10^14 like the analytic functions' wall: the ALP model's shape, 10³ high at its foot.
CLIFF_HEIGHT = 1e3
CLIFF_SCALE = 0.05


@dataclass(frozen=True)
class ExactProblem:
    """A χ² with exact answers.

    Parameters
    ----------
    chi2 : callable
        (n, d) -> (n,) χ².
    log_z : float
        The exact evidence under the uniform prior on the box.
    half_width : float
        The box is [−half_width, half_width]^d.
    draw : callable
        (n, rng) -> (n, d) draws of the exact posterior.
    masses : tuple of float
        Exact island masses (one island: (1.0,)), in the order of ``centres``.
    centres : (k, d) ndarray
        The islands' centres.
    """

    chi2: Callable[[np.ndarray], np.ndarray]
    log_z: float
    half_width: float
    draw: Callable[[int, np.random.Generator], np.ndarray]
    masses: tuple[float, ...]
    centres: np.ndarray

    def __call__(self, theta_row: np.ndarray) -> float:
        """One point, as an oracle worker calls it."""
        return float(self.chi2(np.asarray(theta_row, dtype=np.float64)[None, :])[0])

    @property
    def dim(self) -> int:
        return int(self.centres.shape[1])

    def compare(
        self, samples: np.ndarray, weights: np.ndarray, n_exact: int = 50_000, seed: int = 12345
    ) -> dict:
        """How far weighted posterior samples are from the exact posterior.

        Parameters
        ----------
        samples : (n, d) ndarray
            Posterior samples.
        weights : (n,) ndarray
            Their weights (any normalisation).
        n_exact : int
            Exact draws the marginals are compared with (KS noise ~ 1/√n_exact).
        seed : int
            Seed of the exact draws.

        Returns
        -------
        dict
            ``ks``: the worst marginal's two-sample KS distance; ``masses``: the samples' mass
            nearest each exact centre; ``mass_error``: the largest |mass − exact mass|.
        """
        x = np.atleast_2d(np.asarray(samples, dtype=np.float64))
        w = np.asarray(weights, dtype=np.float64) / np.sum(weights)
        exact = self.draw(n_exact, np.random.default_rng(seed))
        ks = max(_weighted_ks(x[:, i], w, exact[:, i]) for i in range(self.dim))
        near = np.argmin(np.linalg.norm(x[:, None, :] - self.centres[None], axis=2), axis=1)
        masses = np.bincount(near, weights=w, minlength=len(self.masses))
        return {
            "ks": ks,
            "masses": [float(m) for m in masses],
            "mass_error": float(np.max(np.abs(masses - np.asarray(self.masses)))),
        }

    def parameters(self) -> list[dict]:
        """The box as config ``parameters`` with uniform priors (x0, x1, ...)."""
        h = self.half_width
        return [
            {"name": f"x{i}", "lower": -h, "upper": h, "prior": {"type": "uniform"}}
            for i in range(self.dim)
        ]


def _weighted_ks(x: np.ndarray, w: np.ndarray, y: np.ndarray) -> float:
    """Two-sample KS distance between samples x with weights w (summing to 1) and equal-weight y."""
    order = np.argsort(x)
    xs, cdf_x = x[order], np.concatenate([[0.0], np.cumsum(w[order])])
    ys = np.sort(y)
    grid = np.concatenate([xs, ys])
    f_x = cdf_x[np.searchsorted(xs, grid, side="right")]
    f_y = np.searchsorted(ys, grid, side="right") / len(ys)
    return float(np.max(np.abs(f_x - f_y)))


def correlated_gaussian(d: int, seed: int = 0, half_width: float = 3.0) -> ExactProblem:
    """A Gaussian centred at 0.2 with a random covariance (sd ~0.3), seeded.

    Parameters
    ----------
    d : int
        Dimension.
    seed : int
        Seed of the covariance.
    half_width : float
        Half-width of the box.

    Returns
    -------
    ExactProblem
        ln Z = ½ ln det(2πC) − d ln(2h).
    """
    a = np.random.default_rng(seed).normal(size=(d, d))
    cov = a @ a.T / d * 0.09 + 0.01 * np.eye(d)
    inv = np.linalg.inv(cov)
    centre = np.full(d, 0.2)

    def chi2(x):
        z = np.atleast_2d(x) - centre
        return np.einsum("ni,ij,nj->n", z, inv, z)

    return ExactProblem(
        chi2=chi2,
        log_z=0.5 * np.linalg.slogdet(2 * np.pi * cov)[1] - d * math.log(2 * half_width),
        half_width=half_width,
        draw=lambda n, rng: rng.multivariate_normal(centre, cov, size=n),
        masses=(1.0,),
        centres=centre[None, :],
    )


def two_wells(
    d: int, share: float = 0.57, sd: float = 0.3, offset: float = 1.5, half_width: float = 3.0
) -> ExactProblem:
    """Two separated isotropic Gaussian wells at ±offset along x0 with masses share and 1 − share.

    Parameters
    ----------
    d : int
        Dimension.
    share : float
        Mass of the well at +offset.
    sd : float
        Width of each well.
    offset : float
        Distance of each centre from the origin.
    half_width : float
        Half-width of the box.

    Returns
    -------
    ExactProblem
        ln Z = d ln(√(2π) sd) − d ln(2h); masses (share, 1 − share).
    """
    c = np.zeros(d)
    c[0] = offset
    log_share = np.log([share, 1.0 - share])

    def chi2(x):
        x = np.atleast_2d(x)
        qa = np.sum((x - c) ** 2, axis=1) / sd**2
        qb = np.sum((x + c) ** 2, axis=1) / sd**2
        return -2 * np.logaddexp(log_share[0] - qa / 2, log_share[1] - qb / 2)

    def draw(n, rng):
        sign = np.where(rng.random(n) < share, 1.0, -1.0)
        return sign[:, None] * c + sd * rng.standard_normal((n, d))

    return ExactProblem(
        chi2=chi2,
        log_z=d * math.log(math.sqrt(2 * math.pi) * sd) - d * math.log(2 * half_width),
        half_width=half_width,
        draw=draw,
        masses=(share, 1.0 - share),
        centres=np.stack([c, -c]),
    )


def gaussian_wells(
    centres: np.ndarray, sds: np.ndarray, masses: np.ndarray, half_width: float = 3.0
) -> ExactProblem:
    """Isotropic Gaussian wells of any centres, widths and masses: e^{−χ²/2} ∝ Σ m_k N(θ; c_k, s_k).

    Parameters
    ----------
    centres : (k, d) array_like
        Well centres, each at least 4 sds inside the box.
    sds : (k,) array_like
        Well widths.
    masses : (k,) array_like
        Posterior masses, summing to 1.
    half_width : float
        Half-width of the box.

    Returns
    -------
    ExactProblem
        χ² shifted so that its smallest well bottom is near 0; ln Z exact; masses as given.
    """
    c = np.atleast_2d(np.asarray(centres, dtype=np.float64))
    k, d = c.shape
    s = np.asarray(sds, dtype=np.float64).reshape(k)
    m = np.asarray(masses, dtype=np.float64).reshape(k)
    if not math.isclose(m.sum(), 1.0) or np.any(m <= 0) or np.any(s <= 0):
        raise ValueError("gaussian_wells: need positive sds and positive masses summing to 1")
    if np.any(np.abs(c) + 4 * s[:, None] > half_width):
        raise ValueError("gaussian_wells: every centre must lie 4 sds inside the box")
    log_w = np.log(m) - d * np.log(np.sqrt(2 * np.pi) * s)  # log of m_k times N's normaliser
    shift = 2 * float(log_w.max())

    def chi2(x):
        x = np.atleast_2d(x)
        q = np.stack([np.sum((x - ck) ** 2, axis=1) / sk**2 for ck, sk in zip(c, s, strict=True)])
        return shift - 2 * np.logaddexp.reduce(log_w[:, None] - q / 2, axis=0)

    def draw(n, rng):
        which = rng.choice(k, size=n, p=m)
        return c[which] + s[which, None] * rng.standard_normal((n, d))

    return ExactProblem(
        chi2=chi2,
        log_z=-shift / 2 - d * math.log(2 * half_width),
        half_width=half_width,
        draw=draw,
        masses=tuple(float(v) for v in m),
        centres=c,
    )


def unequal_wells(d: int, half_width: float = 3.0) -> ExactProblem:
    """Two unrelated wells (no symmetry maps one onto the other), d ≥ 2: a narrow one (sd 0.3,
    mass 0.35) at (1.5, 1, 0, …) and a wide one (sd 0.45, mass 0.65) at (−1.2, −1, 0.5, …) whose
    bottom lies Δχ² ≈ 2 above the narrow one's at d = 4.

    Parameters
    ----------
    d : int
        Dimension, ≥ 2.
    half_width : float
        Half-width of the box.

    Returns
    -------
    ExactProblem
        See :func:`gaussian_wells`.
    """
    if d < 2:
        raise ValueError(f"unequal_wells: need d ≥ 2, got {d}")
    a = np.r_[1.5, 1.0, np.zeros(d - 2)]
    b = np.r_[-1.2, -1.0, np.full(d - 2, 0.5)]
    return gaussian_wells(np.stack([a, b]), [0.3, 0.45], [0.35, 0.65], half_width)


def curved_valley(
    d: int, curvature: float = 0.35, cliff: float = 0.3, half_width: float = 3.0
) -> ExactProblem:
    """A banana-shaped Gaussian (Haario's twist of the axes after the first by θ0²) behind a cliff.

    Latent z ~ N(0, diag(0.6², 0.15², …)); θ0 = z0, θk = zk + curvature·(z0² − 0.36) for k ≥ 1
    (Jacobian 1). Where θ0 > cliff, χ² rises by 10³ at the cliff's foot and a decade every 0.05
    beyond, so the posterior is the banana truncated at θ0 = cliff (the default cuts 31 % of it).

    Parameters
    ----------
    d : int
        Dimension, ≥ 2.
    curvature : float
        Bend of the valley: θk's mean moves by curvature·z0².
    cliff : float
        θ0 where the cliff stands; ``inf`` for none.
    half_width : float
        Half-width of the box.

    Returns
    -------
    ExactProblem
        ln Z = ½ Σ ln(2π s_i²) + ln Φ(cliff/0.6) − d ln(2h); one island at the valley's floor.
    """
    if d < 2:
        raise ValueError(f"curved_valley: need d ≥ 2, got {d}")
    sd = np.r_[0.6, np.full(d - 1, 0.15)]
    if 4 * sd[0] > half_width or abs(curvature) * (4 * sd[0]) ** 2 + 4 * sd[1] > half_width:
        raise ValueError("curved_valley: the valley must lie 4 sds inside the box")
    from scipy.special import log_ndtr

    def latent(x):
        z = np.array(np.atleast_2d(x), dtype=np.float64)
        z[:, 1:] -= curvature * (z[:, :1] ** 2 - sd[0] ** 2)
        return z

    def chi2(x):
        x = np.atleast_2d(x)
        base = np.sum((latent(x) / sd) ** 2, axis=1)
        beyond = np.maximum(x[:, 0] - cliff, 0.0)
        wall = CLIFF_HEIGHT * 10.0 ** np.minimum(beyond / CLIFF_SCALE, 11.0)
        return np.where(x[:, 0] > cliff, base + wall, base)

    def draw(n, rng):
        from scipy.stats import truncnorm

        z0 = truncnorm.rvs(-np.inf, cliff / sd[0], scale=sd[0], size=n, random_state=rng)
        z = np.column_stack([z0, sd[1:] * rng.standard_normal((n, d - 1))])
        z[:, 1:] += curvature * (z[:, :1] ** 2 - sd[0] ** 2)
        return z

    floor = np.r_[0.0, np.full(d - 1, -curvature * sd[0] ** 2)]
    return ExactProblem(
        chi2=chi2,
        log_z=float(
            0.5 * np.sum(np.log(2 * np.pi * sd**2))
            + log_ndtr(cliff / sd[0])
            - d * math.log(2 * half_width)
        ),
        half_width=half_width,
        draw=draw,
        masses=(1.0,),
        centres=floor[None, :],
    )


#: The problems an ``oracle: {name: exact, options: {problem: ...}}`` config may name.
EXACT_PROBLEMS = {
    "correlated_gaussian": correlated_gaussian,
    "two_wells": two_wells,
    "unequal_wells": unequal_wells,
    "curved_valley": curved_valley,
}


def exact_problem(problem: str, d: int, half_width: float, **options) -> ExactProblem:
    """The named exact problem on [−half_width, half_width]^d.

    Parameters
    ----------
    problem : str
        A key of :data:`EXACT_PROBLEMS`.
    d : int
        Dimension.
    half_width : float
        Half-width of the box (the config's parameter bounds).
    **options
        The problem's own keyword arguments.

    Returns
    -------
    ExactProblem
        Its χ², exact ln Z, exact sampler and island masses.
    """
    if problem not in EXACT_PROBLEMS:
        raise ValueError(f"unknown exact problem {problem!r}; known: {sorted(EXACT_PROBLEMS)}")
    return EXACT_PROBLEMS[problem](d, half_width=half_width, **options)
