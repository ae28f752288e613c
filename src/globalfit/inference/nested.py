"""Nested sampling of the surrogate posterior with nautilus: island weights and the evidence.

Why nautilus (benchmarks/nested_samplers.py compares it with dynesty on exact problems):
it importance-samples shells bounded by neural networks, so its posterior weights between
separated islands come from the likelihood, not from where walkers started, and its ln Z error is
1/√n_eff (its author's estimate, tested here against the scatter over seeds), ~0.01 for the
default n_eff = 10⁴, where dynesty's classic estimator with 500 live points scatters by ~0.15.
It calls the likelihood in vectorised batches, which the compiled surrogate needs. Its
networks are trained with one BLAS thread (threadpoolctl) so that a seed gives the same run.

The likelihood it sees is e^{−χ²/2} times the soft walls' π/q (:mod:`.unit_cube`); where the
χ² function returns +inf (outside the classifier's region, by the caller's choice) or NaN
(counted as invalid), log L is ``LOG_L_FLOOR`` = −1e100: no mass, but a finite number for the
sampler's shell bookkeeping.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.special import logsumexp

from globalfit.inference.posterior import Posterior
from globalfit.inference.priors import Prior
from globalfit.inference.unit_cube import UnitCubePrior

__all__ = ["LOG_L_FLOOR", "NestedResult", "run_nested", "sample_nested", "valid_log_likelihood"]

log = logging.getLogger(__name__)

LOG_L_FLOOR = -1e100


def valid_log_likelihood(
    log_likelihood: Callable[[np.ndarray], np.ndarray], theta: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """log L at points, with what carries no mass made −inf and the invalid values flagged.

    Parameters
    ----------
    log_likelihood : callable
        (n, d) -> (n,) log L.
    theta : (n, d) ndarray
        Points.

    Returns
    -------
    values : (n,) ndarray
        log L; −inf where it is −inf, NaN or +inf.
    invalid : (n,) bool ndarray
        NaN or +inf (a χ² of NaN or −inf is a broken function, not a region without mass).
    """
    value = np.asarray(log_likelihood(theta), dtype=np.float64).reshape(-1)
    if value.shape[0] != theta.shape[0]:
        raise ValueError(f"log_likelihood returned {value.shape[0]} values for {len(theta)}")
    invalid = np.isnan(value) | (value == np.inf)
    return np.where(invalid, -np.inf, value), invalid


@dataclass
class NestedResult:
    """Weighted posterior samples and the evidence of one nested-sampling run.

    ``samples`` (n, d) with normalised ``log_weights`` (n,); ``log_likelihood`` (n,) is the
    log L the sampler saw (soft walls included); ``log_z`` with ``log_z_err`` = 1/√n_eff.
    """

    names: tuple[str, ...]
    samples: np.ndarray
    log_weights: np.ndarray
    log_likelihood: np.ndarray
    log_z: float
    n_eff: float
    n_calls: int
    n_invalid: int
    seconds: float
    settings: dict = field(default_factory=dict)

    @property
    def log_z_err(self) -> float:
        return 1.0 / math.sqrt(self.n_eff) if self.n_eff > 0 else math.inf

    @property
    def weights(self) -> np.ndarray:
        return np.exp(self.log_weights - logsumexp(self.log_weights))

    def posterior(self) -> Posterior:
        """The weighted samples as the reported posterior's type."""
        return Posterior(self.names, self.samples, self.weights, "nautilus", self.log_likelihood)

    def summary(self) -> dict:
        """Evidence, efficiency and settings for ``sampling.json``."""
        return {
            "sampler": "nautilus",
            "log_z": float(self.log_z),
            "log_z_err": float(self.log_z_err),
            "n_eff": float(self.n_eff),
            "n_samples": int(self.samples.shape[0]),
            "n_calls": int(self.n_calls),
            "n_invalid": int(self.n_invalid),
            "seconds": float(self.seconds),
            "effective_samples_per_second": float(self.n_eff / self.seconds)
            if self.seconds > 0
            else math.nan,
            "settings": dict(self.settings),
        }


def run_nested(
    log_likelihood: Callable[[np.ndarray], np.ndarray],
    prior: Prior,
    *,
    n_live: int = 1000,
    n_eff: int = 10000,
    n_networks: int = 1,
    seed: int = 0,
    nthread: int = 1,
    logger: logging.Logger | None = None,
) -> NestedResult:
    """Nested sampling (nautilus) of a vectorised log-likelihood under a normalised prior.

    Parameters
    ----------
    log_likelihood : callable
        (n, d) -> (n,) log L at points inside the box; −inf, NaN, +inf and anything below
        ``LOG_L_FLOOR`` become the floor (NaN and +inf also count in ``n_invalid``).
    prior : Prior
        The prior, normalised here (:class:`~globalfit.inference.unit_cube.UnitCubePrior`).
    n_live : int
        Live points: more resolve more islands and narrower shells, at more network training.
    n_eff : int
        Effective sample size to reach; sets ln Z's error 1/√n_eff.
    n_networks : int
        Networks per bound (nautilus' default is 4; one is ~4x cheaper and as accurate on the
        exact problems of the tests).
    seed : int
        Seed of the run; the same seed gives the same samples.
    nthread : int
        BLAS threads for the networks' training.
    logger : logging.Logger, optional
        Where progress goes.

    Returns
    -------
    NestedResult
        The weighted samples and the evidence.
    """
    import nautilus
    from threadpoolctl import threadpool_limits

    logger = logger or log
    cube = UnitCubePrior(prior)
    counts = {"calls": 0, "invalid": 0}

    def log_l(theta):
        value, invalid = valid_log_likelihood(log_likelihood, theta)
        counts["calls"] += theta.shape[0]
        counts["invalid"] += int(invalid.sum())
        value = value + cube.log_weight(theta)
        return np.where(value > LOG_L_FLOOR, value, LOG_L_FLOOR)

    start = time.perf_counter()
    with threadpool_limits(nthread):
        sampler = nautilus.Sampler(
            cube.transform,
            log_l,
            n_dim=cube.dim,
            n_live=n_live,
            n_networks=n_networks,
            vectorized=True,
            seed=seed,
        )
        sampler.run(n_eff=n_eff, discard_exploration=True, verbose=False)
        points, log_w, log_like = sampler.posterior()
    seconds = time.perf_counter() - start
    keep = log_w > -np.inf
    result = NestedResult(
        names=prior.names,
        samples=np.asarray(points)[keep],
        log_weights=log_w[keep],
        log_likelihood=log_like[keep],
        log_z=float(sampler.log_z),
        n_eff=float(sampler.n_eff),
        n_calls=counts["calls"],
        n_invalid=counts["invalid"],
        seconds=seconds,
        settings={"n_live": n_live, "n_eff": n_eff, "n_networks": n_networks, "seed": seed},
    )
    logger.info(
        "nautilus: ln Z = %.3f ± %.3f, n_eff %.0f, %d calls, %.1f s",
        result.log_z,
        result.log_z_err,
        result.n_eff,
        result.n_calls,
        seconds,
    )
    return result


def sample_nested(
    chi2_fn: Callable[[np.ndarray], np.ndarray], prior: Prior, **kwargs
) -> NestedResult:
    """Nested sampling of L = e^{−χ²/2}; +inf χ² (no likelihood) gives the floor.

    Parameters
    ----------
    chi2_fn : callable
        (n, d) -> (n,) χ² at points inside the box.
    prior : Prior
        The prior.
    **kwargs
        Further :func:`run_nested` arguments.

    Returns
    -------
    NestedResult
        As :func:`run_nested`.
    """

    def log_likelihood(theta):
        return -0.5 * np.asarray(chi2_fn(theta), dtype=np.float64)

    return run_nested(log_likelihood, prior, **kwargs)
