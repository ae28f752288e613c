"""Analytic χ² test functions with known minima, shaped like the ALP landscape.

Each function is written in unit-cube coordinates u = (θ − lower)/(upper − lower) so that one
definition serves any box and dimension. Δχ² near a minimum is a quadratic form q; beyond
``wall`` it rises by a decade every ``wall_scale`` units of q (capped at 1e14), mimicking the
ALP model's 10³–10¹⁴ wall, which is what makes a classifier-first surrogate necessary.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from globalfit.space import ParameterSpace

__all__ = ["AnalyticFunction", "FUNCTIONS", "WALL_CAP", "gaussian_covariance"]

WALL_CAP = 1e14


def _walled(chi2_min: float, q: np.ndarray, wall: float, wall_scale: float) -> np.ndarray:
    """χ² = chi2_min + q up to q = wall, then exponential growth, continuous at the wall."""
    at_wall = chi2_min + wall
    excess = np.maximum(q - wall, 0.0)
    steep = at_wall * 10.0 ** np.minimum(excess / wall_scale, np.log10(WALL_CAP / at_wall))
    return np.where(q <= wall, chi2_min + q, steep)


@dataclass
class AnalyticFunction:
    """A vectorised χ²(θ) with known minima. Options are documented in the config schema."""

    name: str
    space: ParameterSpace
    options: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.name not in FUNCTIONS:
            raise ValueError(f"unknown analytic function {self.name!r}; known: {sorted(FUNCTIONS)}")
        defaults = FUNCTIONS[self.name]["defaults"]
        unknown = set(self.options) - set(defaults) - {"delay"}
        if unknown:
            raise ValueError(
                f"oracle.options: unknown option(s) {sorted(unknown)} for {self.name!r}"
            )
        self.opts = {**defaults, "delay": 0.0, **self.options}

    def chi2(self, theta: np.ndarray) -> np.ndarray:
        """theta : (n, d) -> (n,) χ²."""
        u = self.space.to_unit(np.atleast_2d(theta))
        return FUNCTIONS[self.name]["chi2"](u, self.opts)

    def __call__(self, theta_row: np.ndarray) -> float:
        """One point, as an oracle worker calls it; sleeps ``delay`` seconds to simulate cost."""
        if self.opts["delay"] > 0:
            time.sleep(self.opts["delay"])
        return float(self.chi2(np.asarray(theta_row)[None, :])[0])

    def minima(self) -> list[tuple[np.ndarray, float]]:
        """Known local minima as (θ (d,), χ²), the global one first."""
        out = []
        for u, c in FUNCTIONS[self.name]["minima"](self.space.dim, self.opts):
            out.append((self.space.from_unit(np.asarray(u, dtype=np.float64)), float(c)))
        return sorted(out, key=lambda m: m[1])


def _bowl(u, o):
    q = np.sum(((u - o["center"]) / o["width"]) ** 2, axis=1)
    return _walled(o["chi2_min"], q, o["wall"], o["wall_scale"])


def _bowl_minima(d, o):
    return [(np.full(d, o["center"]), o["chi2_min"])]


def _twin_centers(d, o):
    a = np.full(d, 0.5)
    b = np.full(d, 0.5)
    a[0], b[0] = o["centers"]
    return a, b


def _twin_wells(u, o):
    a, b = _twin_centers(u.shape[1], o)
    qa = np.sum(((u - a) / o["width"]) ** 2, axis=1)
    qb = np.sum(((u - b) / o["width"]) ** 2, axis=1) + o["offset"]
    return _walled(o["chi2_min"], np.minimum(qa, qb), o["wall"], o["wall_scale"])


def _twin_minima(d, o):
    a, b = _twin_centers(d, o)
    return [(a, o["chi2_min"]), (b, o["chi2_min"] + o["offset"])]


def gaussian_covariance(d: int, sigma: float, rho: float) -> np.ndarray:
    """(d, d) covariance in unit coordinates: equal sd ``sigma``, correlation ``rho`` for all
    pairs."""
    corr = np.full((d, d), rho) + (1.0 - rho) * np.eye(d)
    return sigma**2 * corr


def _gaussian(u, o):
    cov = gaussian_covariance(u.shape[1], o["sigma"], o["rho"])
    diff = u - o["center"]
    q = np.einsum("ni,ij,nj->n", diff, np.linalg.inv(cov), diff)
    return o["chi2_min"] + q


def _gaussian_minima(d, o):
    return [(np.full(d, o["center"]), o["chi2_min"])]


FUNCTIONS = {
    "bowl": {
        "chi2": _bowl,
        "minima": _bowl_minima,
        "defaults": {
            "center": 0.35,
            "width": 0.15,
            "chi2_min": 10.0,
            "wall": 12.0,
            "wall_scale": 2.0,
        },
    },
    "twin_wells": {
        "chi2": _twin_wells,
        "minima": _twin_minima,
        "defaults": {
            "centers": [0.2, 0.8],
            "width": 0.08,
            "offset": 0.6,
            "chi2_min": 13.3,
            "wall": 12.0,
            "wall_scale": 2.0,
        },
    },
    "gaussian": {
        "chi2": _gaussian,
        "minima": _gaussian_minima,
        "defaults": {"center": 0.5, "sigma": 0.1, "rho": 0.8, "chi2_min": 0.0},
    },
}
