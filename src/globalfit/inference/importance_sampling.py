"""Importance sampling of the surrogate posterior from a mixture fitted to a first posterior.

Nested sampling finds the islands and their weights but spends most of its time training its
bounds; once its posterior is known, a mixture of multivariate Student-t components fitted to
it (plus a small uniform "defensive" share over the box, which bounds the weights where the
mixture's tails are thin) is a proposal q from which independent draws cost one vectorised call
of the compiled surrogate each. With target π(θ) L(θ) (normalised prior) and weights w = πL/q:

* the posterior is the draws weighted by w, its effective sample size Kish's (Σw)²/Σw²;
* Z = E_q[w], so ln Z = ln mean(w) with error √(1/n_eff − 1/N) (the delta method);
* PSIS k̂ of the weights (:func:`~globalfit.inference.validation.pareto_k`) says whether the
  proposal covers the target: a missed island or a too-thin tail shows as k̂ > 0.7, and the
  workflow then keeps the nested sampler's posterior (:func:`refinement_verdict`).

The mixture works in unit-box coordinates (scale-free); ``sklearn``'s Gaussian mixture is fitted
to equal-weight draws of the first posterior, and its covariances become the t components'
shapes.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy import stats
from scipy.special import logsumexp

from globalfit.inference.islands import compare_island_masses, find_islands
from globalfit.inference.nested import valid_log_likelihood
from globalfit.inference.posterior import Posterior
from globalfit.inference.priors import Prior
from globalfit.inference.unit_cube import UnitCubePrior
from globalfit.inference.validation import pareto_k
from globalfit.space import ParameterSpace

__all__ = [
    "ImportanceResult",
    "MixtureProposal",
    "importance_sample",
    "refinement_verdict",
]

log = logging.getLogger(__name__)


class MixtureProposal:
    """A Student-t mixture plus a uniform share over the box, in unit-box coordinates.

    Parameters
    ----------
    space : ParameterSpace
        The box.
    weights : (k,) ndarray
        Weights of the t components (normalised with ``defensive`` here).
    means, shapes : (k, d), (k, d, d) ndarrays
        The components' centres and shape matrices in unit coordinates.
    df : float
        Degrees of freedom of every component (``inf``: Gaussian components).
    defensive : float
        Share of the uniform component over the box.
    """

    def __init__(
        self,
        space: ParameterSpace,
        weights: np.ndarray,
        means: np.ndarray,
        shapes: np.ndarray,
        *,
        df: float,
        defensive: float,
    ):
        if not 0.0 <= defensive < 1.0:
            raise ValueError(f"defensive share must be in [0, 1), got {defensive}")
        self.space = space
        w = np.asarray(weights, dtype=np.float64)
        self.shares = np.append((1.0 - defensive) * w / w.sum(), defensive)
        self.df = float(df)
        self.components = [
            stats.multivariate_normal(m, s)
            if math.isinf(self.df)
            else stats.multivariate_t(loc=m, shape=s, df=self.df)
            for m, s in zip(means, shapes, strict=True)
        ]
        self._log_jacobian = float(np.log(space.upper - space.lower).sum())

    @classmethod
    def fit(
        cls,
        posterior: Posterior,
        space: ParameterSpace,
        *,
        n_components: int = 16,
        df: float = 10.0,
        defensive: float = 0.02,
        n_fit: int = 20000,
        seed: int = 0,
    ) -> MixtureProposal:
        """Fit the mixture to ``n_fit`` equal-weight draws of a posterior.

        Parameters
        ----------
        posterior : Posterior
            The first posterior (the nested sampler's).
        space : ParameterSpace
            The box.
        n_components : int
            Mixture components; fewer when the posterior has too few distinct points to fit them
            (ten per free parameter of a component).
        df : float
            Degrees of freedom of the t components (heavier tails than the Gaussian fit's, so
            that the weights stay bounded where the posterior is wider than the fit).
        defensive : float
            Share of the uniform component over the box.
        n_fit : int
            Equal-weight draws the mixture is fitted to.
        seed : int
            Seed of the draws and of the mixture's initialisation.

        Returns
        -------
        MixtureProposal
            The proposal.
        """
        from sklearn.mixture import GaussianMixture

        u = space.to_unit(posterior.equal_weight(n_fit, seed=seed))
        d = space.dim
        distinct = len(np.unique(u, axis=0))
        k = int(max(1, min(n_components, distinct // (10 * (d + d * (d + 1) // 2)))))
        gm = GaussianMixture(k, covariance_type="full", reg_covar=1e-6, random_state=seed).fit(u)
        return cls(space, gm.weights_, gm.means_, gm.covariances_, df=df, defensive=defensive)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """(n, d) draws in parameter coordinates (some may fall outside the box).

        Parameters
        ----------
        n : int
            How many.
        rng : numpy.random.Generator
            The random stream.

        Returns
        -------
        (n, d) ndarray
            The draws.
        """
        which = rng.choice(len(self.shares), size=n, p=self.shares)
        u = rng.random((n, self.space.dim))  # the defensive component's draws
        for j, comp in enumerate(self.components):
            rows = np.flatnonzero(which == j)
            if rows.size:
                u[rows] = comp.rvs(size=rows.size, random_state=rng).reshape(rows.size, -1)
        return self.space.from_unit(u)

    def log_density(self, theta: np.ndarray) -> np.ndarray:
        """(n,) log q(θ) in parameter coordinates.

        Parameters
        ----------
        theta : (n, d) ndarray
            Points.

        Returns
        -------
        (n,) ndarray
            The mixture's log-density (the uniform share counts only inside the box).
        """
        u = self.space.to_unit(np.atleast_2d(theta))
        inside = np.all((u >= 0.0) & (u <= 1.0), axis=1)
        shares = self.shares[:-1]
        terms = [
            np.log(s) + c.logpdf(u).reshape(-1)
            for s, c in zip(shares, self.components, strict=True)
        ]
        with np.errstate(divide="ignore"):
            terms.append(np.where(inside, np.log(self.shares[-1]), -np.inf))
        return logsumexp(np.stack(terms), axis=0) - self._log_jacobian


@dataclass
class ImportanceResult:
    """Importance-weighted posterior draws and the evidence.

    ``samples`` (m, d) are the draws with non-zero weight and ``log_weights`` their unnormalised
    log w = log πL − log q; ``n_draws`` counts all draws, zero-weight ones included, as the
    evidence's mean does.
    """

    names: tuple[str, ...]
    samples: np.ndarray
    log_weights: np.ndarray
    log_likelihood: np.ndarray
    log_z: float
    log_z_err: float
    n_eff: float
    n_draws: int
    n_calls: int
    n_invalid: int
    pareto_k: float
    seconds: float
    settings: dict = field(default_factory=dict)

    @property
    def weights(self) -> np.ndarray:
        return np.exp(self.log_weights - logsumexp(self.log_weights))

    def posterior(self) -> Posterior:
        """The weighted draws as the reported posterior's type."""
        return Posterior(
            self.names, self.samples, self.weights, "nautilus+importance", self.log_likelihood
        )

    def summary(self) -> dict:
        """Evidence, efficiency and diagnostics for ``nested.json``."""
        return {
            "sampler": "importance sampling",
            "log_z": float(self.log_z),
            "log_z_err": float(self.log_z_err),
            "n_eff": float(self.n_eff),
            "n_draws": int(self.n_draws),
            "efficiency": float(self.n_eff / self.n_draws),
            "n_calls": int(self.n_calls),
            "n_invalid": int(self.n_invalid),
            "pareto_k": float(self.pareto_k),
            "seconds": float(self.seconds),
            "effective_samples_per_second": float(self.n_eff / self.seconds)
            if self.seconds > 0
            else math.nan,
            "settings": dict(self.settings),
        }


def importance_sample(
    log_likelihood: Callable[[np.ndarray], np.ndarray],
    prior: Prior,
    proposal: MixtureProposal,
    *,
    n_draws: int,
    batch: int = 100_000,
    seed: int = 0,
    logger: logging.Logger | None = None,
) -> ImportanceResult:
    """Importance sampling of L·π (π the normalised prior) from a proposal.

    Parameters
    ----------
    log_likelihood : callable
        (n, d) -> (n,) log L at points inside the box; −inf is no mass, NaN and +inf are
        invalid (no mass, counted), as for :func:`~globalfit.inference.nested.run_nested`.
    prior : Prior
        The prior (normalised here, soft walls included).
    proposal : MixtureProposal
        Where the draws come from.
    n_draws : int
        Draws in all.
    batch : int
        Draws per call of the likelihood.
    seed : int
        Seed of the draws.
    logger : logging.Logger, optional
        Where progress goes.

    Returns
    -------
    ImportanceResult
        The weighted draws and the evidence.
    """
    if n_draws < 1:
        raise ValueError(f"n_draws must be positive, got {n_draws}")
    logger = logger or log
    cube = UnitCubePrior(prior)
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    kept_theta, kept_lw, kept_ll = [], [], []
    n_calls = n_invalid = 0
    for lo in range(0, n_draws, batch):
        theta = proposal.sample(min(batch, n_draws - lo), rng)
        log_pi = cube.log_density(theta)
        inside = np.flatnonzero(log_pi > -np.inf)
        ll, bad = valid_log_likelihood(log_likelihood, theta[inside])
        n_calls += inside.size
        n_invalid += int(bad.sum())
        lw = ll + log_pi[inside] - proposal.log_density(theta[inside])
        mass = np.isfinite(lw)
        kept_theta.append(theta[inside[mass]])
        kept_lw.append(lw[mass])
        kept_ll.append(ll[mass])
    lw = np.concatenate(kept_lw)
    if lw.size == 0:
        raise ValueError("importance sampling: no draw has a non-zero likelihood")
    log_sum = float(logsumexp(lw))
    n_eff = float(math.exp(2 * log_sum - logsumexp(2 * lw)))
    result = ImportanceResult(
        names=prior.names,
        samples=np.concatenate(kept_theta),
        log_weights=lw,
        log_likelihood=np.concatenate(kept_ll),
        log_z=log_sum - math.log(n_draws),
        log_z_err=math.sqrt(max(1.0 / n_eff - 1.0 / n_draws, 0.0)),
        n_eff=n_eff,
        n_draws=n_draws,
        n_calls=n_calls,
        n_invalid=n_invalid,
        pareto_k=pareto_k(lw),
        seconds=time.perf_counter() - start,
        settings={
            "n_draws": n_draws,
            "n_components": len(proposal.components),
            "df": proposal.df,
            "defensive": float(proposal.shares[-1]),
            "seed": seed,
        },
    )
    logger.info(
        "importance sampling: ln Z = %.4f ± %.4f, n_eff %.0f of %d draws, k̂ %.2f, %.1f s",
        result.log_z,
        result.log_z_err,
        result.n_eff,
        n_draws,
        result.pareto_k,
        result.seconds,
    )
    return result


def refinement_verdict(
    result: ImportanceResult,
    first: Posterior,
    space: ParameterSpace,
    *,
    pareto_k_max: float = 0.7,
    n_sigma: float = 3.0,
    seed: int = 0,
) -> tuple[bool, str, dict]:
    """Whether the importance-sampled posterior replaces the first one, and why.

    The weights cannot see an island the proposal missed (no draw lands there), so the island
    masses are compared with the first posterior's as well as the weights' k̂.

    Parameters
    ----------
    result : ImportanceResult
        The refinement.
    first : Posterior
        The first (nested) posterior, the proposal's source.
    space : ParameterSpace
        The box (islands are found in its unit coordinates).
    pareto_k_max : float
        Largest PSIS k̂ at which the weights are trusted.
    n_sigma : float
        Island masses differing by more than this many combined errors reject the refinement.
    seed : int
        Seed of the equal-weight draws the islands are found in.

    Returns
    -------
    tuple
        ``accepted`` (k̂ ≤ ``pareto_k_max``, the island masses agree and more effective
        samples), ``reason`` (one sentence) and the islands' comparison
        (:func:`~globalfit.inference.islands.compare_island_masses`).
    """
    islands = find_islands(space, first.equal_weight(2000, seed=seed))
    refined = result.posterior()
    comparison = compare_island_masses(
        islands.masses(first.samples, first.weights),
        first.n_eff,
        islands.masses(refined.samples, refined.weights),
        result.n_eff,
        n_sigma=n_sigma,
        labels=("the nested sampler", "importance sampling"),
        advice="The nested sampler's posterior is reported.",
    )
    k, kept = result.pareto_k, "; the nested sampler's posterior is reported"
    if not k <= pareto_k_max:  # NaN (too few draws with mass) is not trusted either
        why = f"importance weights have PSIS k̂ = {k:.2f} > {pareto_k_max}: the proposal "
        return False, why + "does not cover the posterior" + kept, comparison
    if not comparison["agree"]:
        why = "importance sampling and the nested sampler disagree on the island masses: the "
        return False, why + "proposal missed part of the posterior" + kept, comparison
    if result.n_eff <= first.n_eff:
        why = f"importance sampling gave {result.n_eff:.0f} effective samples, no more than the "
        return False, why + f"nested sampler's {first.n_eff:.0f}" + kept, comparison
    return (
        True,
        (
            f"importance sampling (k̂ = {k:.2f}, island masses agree) gave {result.n_eff:.0f} "
            f"effective samples, {result.n_eff / first.n_eff:.1f}x the nested sampler's; its "
            "posterior is reported"
        ),
        comparison,
    )
