"""The prior as a nested sampler needs it: a map from the unit cube and a normalised density.

A nested sampler draws u uniformly in [0, 1]^d and needs θ(u) distributed as the prior, which
must be normalised for the evidence to mean anything. :class:`~globalfit.inference.priors.Prior`
drops constants (the MCMC does not need them); this module restores them:

``uniform``
    θ = a + u (b − a); normaliser b − a.
``gaussian`` (truncated to [a, b])
    the inverse of the truncated normal's CDF; normaliser sd √(2π) (Φ(β) − Φ(α)).
``soft_uniform``
    the logistic walls have no closed-form inverse CDF, so θ is uniform on the parameter box and
    the walls go into the likelihood: the sampler sees log L + log(π/q), with π the normalised
    soft-uniform density (its normaliser by quadrature) and q the uniform one. The evidence
    ∫ L π dθ = ∫ (L π/q) q dθ is unchanged; only the sampler's efficiency pays, by at most the
    walls' share of the box.

Examples
--------
A flat likelihood integrates the normalised prior to one, whatever its shape:

>>> import numpy as np
>>> gauss = {"type": "gaussian", "mean": 7.0, "sd": 0.5}
>>> prior = Prior.from_config(
...     [
...         {"name": "x", "lower": -1, "upper": 1, "prior": {"type": "uniform"}},
...         {"name": "y", "lower": -3, "upper": 3},
...         {"name": "z", "lower": 6, "upper": 8, "prior": gauss},
...     ]
... )
>>> cube = UnitCubePrior(prior)
>>> theta = cube.transform(np.random.default_rng(0).random((200_000, 3)))
>>> bool(np.all(np.isfinite(prior.log_prior(theta))))
True
>>> z = np.exp(cube.log_weight(theta))  # π/q at prior draws: its mean is ∫ π = 1
>>> bool(abs(z.mean() - 1) < 0.005)
True
"""

from __future__ import annotations

import math

import numpy as np
from scipy import integrate
from scipy.special import log_ndtr, ndtr, ndtri

from globalfit.inference.priors import ParameterPrior, Prior

__all__ = ["UnitCubePrior", "log_normaliser"]


def log_normaliser(p: ParameterPrior, lower: float, upper: float) -> float:
    """log ∫ exp(log_density) over the parameter's support inside the box [lower, upper].

    Parameters
    ----------
    p : ParameterPrior
        One parameter's prior (its ``log_density`` is unnormalised).
    lower, upper : float
        The parameter box; the prior is zero outside it.

    Returns
    -------
    float
        The log of the normaliser, so that ``p.log_density(x) - log_normaliser(p, ...)`` is a
        normalised log-density.
    """
    if p.type == "uniform":
        return math.log(p.upper - p.lower)
    if p.type == "gaussian":
        alpha, beta = (p.lower - p.mean) / p.sd, (p.upper - p.mean) / p.sd
        if alpha >= 0:  # the support in the upper tail: mirror it into the lower one
            alpha, beta = -beta, -alpha
        if beta <= 0:  # in the lower tail, differences of log-CDFs keep the precision
            hi, lo = log_ndtr(beta), log_ndtr(alpha)
            log_mass = hi + math.log1p(-math.exp(lo - hi))
        else:
            log_mass = math.log(ndtr(beta) - ndtr(alpha))
        return math.log(p.sd * math.sqrt(2 * math.pi)) + log_mass
    # soft_uniform: the plateau is exactly flat only far from the walls; integrate piecewise
    breaks = sorted(
        {lower, min(max(p.lower, lower), upper), min(max(p.upper, lower), upper), upper}
    )
    total = 0.0
    for a, b in zip(breaks[:-1], breaks[1:], strict=True):
        if b > a:
            total += integrate.quad(
                lambda x: math.exp(float(p.log_density(np.array([x]))[0])),
                a,
                b,
                epsabs=0.0,
                epsrel=1e-10,
                limit=200,
            )[0]
    return math.log(total)


class UnitCubePrior:
    """A :class:`Prior` as a map from [0, 1]^d and the log π/q the likelihood must carry.

    Parameters
    ----------
    prior : Prior
        The workflow's prior; its ``space`` is the box (every prior is zero outside it).
    """

    def __init__(self, prior: Prior):
        self.prior = prior
        space = prior.space
        self.lower = np.where(
            [p.type == "soft_uniform" for p in prior.parameters],
            space.lower,
            [p.lower for p in prior.parameters],
        )
        self.upper = np.where(
            [p.type == "soft_uniform" for p in prior.parameters],
            space.upper,
            [p.upper for p in prior.parameters],
        )
        self._log_norm = np.array(
            [
                log_normaliser(p, lo, hi)
                for p, lo, hi in zip(prior.parameters, space.lower, space.upper, strict=True)
            ]
        )
        self._gauss = [i for i, p in enumerate(prior.parameters) if p.type == "gaussian"]
        self._soft = [i for i, p in enumerate(prior.parameters) if p.type == "soft_uniform"]

    @property
    def dim(self) -> int:
        return self.prior.space.dim

    def transform(self, u: np.ndarray) -> np.ndarray:
        """Points of the unit cube to parameter points distributed as q (the prior, soft walls
        excepted).

        Parameters
        ----------
        u : (n, d) or (d,) ndarray
            Points in [0, 1]^d.

        Returns
        -------
        ndarray
            θ of the same shape, inside the box.
        """
        u = np.asarray(u, dtype=np.float64)
        theta = self.lower + u * (self.upper - self.lower)
        for i in self._gauss:
            p = self.prior.parameters[i]
            cdf_a = ndtr((p.lower - p.mean) / p.sd)
            cdf_b = ndtr((p.upper - p.mean) / p.sd)
            z = ndtri(cdf_a + u[..., i] * (cdf_b - cdf_a))
            theta[..., i] = np.clip(p.mean + p.sd * z, p.lower, p.upper)
        return theta

    def log_weight(self, theta: np.ndarray) -> np.ndarray:
        """log π(θ)/q(θ): zero except for the soft walls, which it carries (normalised).

        Parameters
        ----------
        theta : (n, d) ndarray
            Points from :meth:`transform`.

        Returns
        -------
        (n,) ndarray
            The term to add to the log-likelihood.
        """
        theta = np.atleast_2d(theta)
        out = np.zeros(theta.shape[0])
        space = self.prior.space
        for i in self._soft:
            p = self.prior.parameters[i]
            width = space.upper[i] - space.lower[i]
            out += p.log_density(theta[:, i]) - self._log_norm[i] + math.log(width)
        return out

    def log_density(self, theta: np.ndarray) -> np.ndarray:
        """The normalised log prior density (−inf outside the box).

        Parameters
        ----------
        theta : (n, d) ndarray
            Parameter points.

        Returns
        -------
        (n,) ndarray
            log π(θ) = ``prior.log_prior(θ)`` minus the sum of the parameters' log-normalisers.
        """
        return self.prior.log_prior(theta) - float(self._log_norm.sum())
