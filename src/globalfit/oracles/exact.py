"""Likelihoods whose posterior and evidence are known exactly, for testing samplers.

Each problem is a vectorised χ²(θ) on the box [−h, h]^d under a uniform prior, far enough
inside the box that the box cuts no measurable mass, with its exact ln Z = ln ∫ e^{−χ²/2} dθ/(2h)^d,
and a way to draw from the exact posterior (to fit proposals, or to compare marginals with).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["ExactProblem", "correlated_gaussian", "two_wells"]


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

    @property
    def dim(self) -> int:
        return int(self.centres.shape[1])

    def parameters(self) -> list[dict]:
        """The box as config ``parameters`` with uniform priors (x0, x1, ...)."""
        h = self.half_width
        return [
            {"name": f"x{i}", "lower": -h, "upper": h, "prior": {"type": "uniform"}}
            for i in range(self.dim)
        ]


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
