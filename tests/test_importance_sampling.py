"""Importance sampling from a mixture fitted to a first posterior
(:mod:`globalfit.inference.importance_sampling`), against exact answers
(:mod:`globalfit.oracles.exact`)."""

from __future__ import annotations

import numpy as np
import pytest

from globalfit.inference import (
    MixtureProposal,
    Posterior,
    Prior,
    importance_sample,
    refinement_verdict,
)
from globalfit.oracles.exact import correlated_gaussian, two_wells


def _log_l(problem):
    return lambda x: -0.5 * problem.chi2(x)


def _rescaled(fitted, factor, defensive):
    """The one Gaussian component of ``fitted`` with its covariance times ``factor``."""
    c = fitted.components[0]
    return MixtureProposal(
        fitted.space, np.ones(1), c.mean[None, :], factor * c.cov[None, :, :],
        df=np.inf, defensive=defensive,
    )  # fmt: skip


def _exact_posterior(problem, n=20000, seed=0):
    x = problem.draw(n, np.random.default_rng(seed))
    return Posterior([f"x{i}" for i in range(problem.dim)], x, np.ones(n), "exact")


@pytest.mark.parametrize("d", [2, 6, 16])
def test_evidence_and_mean_of_correlated_gaussians(d):
    """ln Z within 0.02 of the closed form and inside 4 of its own errors, d = 2 to 16; the
    weights are trusted (k̂ ≤ 0.7) and the weighted mean is the centre."""
    problem = correlated_gaussian(d, seed=d)
    prior = Prior.from_config(problem.parameters())
    proposal = MixtureProposal.fit(_exact_posterior(problem), prior.space, n_components=4, seed=0)
    r = importance_sample(_log_l(problem), prior, proposal, n_draws=40000, seed=1)
    assert abs(r.log_z - problem.log_z) < 0.02, (r.log_z, problem.log_z)
    assert abs(r.log_z - problem.log_z) < 4 * r.log_z_err + 1e-3
    assert r.pareto_k <= 0.7
    assert r.n_eff > 0.2 * r.n_draws
    mean = np.average(r.samples, axis=0, weights=r.weights)
    assert np.abs(mean - 0.2).max() < 0.02


def test_log_z_error_matches_the_scatter_over_seeds_and_a_seed_repeats():
    """d = 3, 6 seeds, a proposal deliberately 1.5x too wide (errors of a few 0.01): Σ pull² is
    χ²(6)-like (p = 0.001 bounds)."""
    problem = correlated_gaussian(3, seed=2)
    prior = Prior.from_config(problem.parameters())
    fitted = MixtureProposal.fit(_exact_posterior(problem), prior.space, n_components=1, df=np.inf)
    wide = _rescaled(fitted, 2.25, defensive=0.05)
    runs = [importance_sample(_log_l(problem), prior, wide, n_draws=1000, seed=s) for s in range(6)]
    pulls = np.array([(r.log_z - problem.log_z) / r.log_z_err for r in runs])
    assert 0.38 < np.sum(pulls**2) < 22.5, pulls
    again = importance_sample(_log_l(problem), prior, wide, n_draws=1000, seed=0)
    assert again.log_z == runs[0].log_z and np.array_equal(again.samples, runs[0].samples)


@pytest.fixture(scope="module")
def two_wells_refined(two_wells_nested):
    """The workflow's path on two wells, d = 4: the shared nested run, then importance sampling
    from a mixture fitted to it."""
    prior, result = two_wells_nested
    problem, nested = two_wells(4), result.posterior()
    proposal = MixtureProposal.fit(nested, prior.space, seed=0)
    refined = importance_sample(_log_l(problem), prior, proposal, n_draws=100_000, seed=0)
    return problem, prior, nested, refined


def test_island_masses_of_two_wells_within_0_02_and_the_refinement_is_accepted(two_wells_refined):
    problem, prior, nested, r = two_wells_refined
    heavier = float(r.weights[r.samples[:, 0] > 0].sum())
    assert abs(heavier - problem.masses[0]) < 0.02, heavier
    assert np.sqrt(0.57 * 0.43 / r.n_eff) < 0.005  # so that 0.02 means something
    assert abs(r.log_z - problem.log_z) < max(4 * r.log_z_err, 0.01)
    accepted, reason, islands = refinement_verdict(r, nested, prior.space)
    assert accepted, reason
    assert len(islands["islands"]) == 2 and islands["agree"]


def test_a_proposal_that_missed_an_island_is_rejected(two_wells_refined):
    """Fitted to one well only: the weights cannot see the other (k̂ stays small), the island
    masses against the nested posterior do."""
    problem, prior, nested, _ = two_wells_refined
    one = nested.samples[:, 0] > 0
    half = Posterior(nested.names, nested.samples[one], nested.weights[one], "one well")
    proposal = MixtureProposal.fit(half, prior.space, seed=0)
    r = importance_sample(_log_l(problem), prior, proposal, n_draws=20000, seed=0)
    assert r.log_z < problem.log_z - 0.4  # ln 0.57 = −0.56: the other well's mass is missing
    accepted, reason, islands = refinement_verdict(r, nested, prior.space)
    assert not accepted and not islands["agree"], reason
    assert "island masses" in reason


def test_a_too_narrow_proposal_is_flagged_by_pareto_k():
    """A Gaussian proposal 0.4x the posterior's width, no defensive share: the weights' tail is
    heavy (k̂ > 0.7) and the refinement is rejected; the fitted t mixture is not flagged."""
    problem = correlated_gaussian(3, seed=5)
    prior = Prior.from_config(problem.parameters())
    exact = _exact_posterior(problem)
    fitted = MixtureProposal.fit(exact, prior.space, n_components=1, df=np.inf)
    narrow = _rescaled(fitted, 0.16, defensive=0.0)
    bad = importance_sample(_log_l(problem), prior, narrow, n_draws=20000, seed=0)
    good = importance_sample(_log_l(problem), prior, fitted, n_draws=20000, seed=0)
    assert bad.pareto_k > 0.7 and good.pareto_k < 0.5, (bad.pareto_k, good.pareto_k)
    accepted, reason, _ = refinement_verdict(bad, exact, prior.space)
    assert not accepted and "k̂" in reason


def test_zero_likelihood_and_invalid_values_carry_no_mass():
    """+inf χ² (outside the classifier's region) is no mass, NaN is invalid and counted; Z is
    the Gaussian's minus the removed half."""
    problem = correlated_gaussian(2, seed=1)
    prior = Prior.from_config(problem.parameters())
    proposal = MixtureProposal.fit(_exact_posterior(problem), prior.space, n_components=2)

    def cut(x):
        out = problem.chi2(x)
        out = np.where(x[:, 0] > 0.2, np.inf, out)
        return np.where(x[:, 1] > 2.9, np.nan, out)  # where the posterior has no mass

    r = importance_sample(lambda x: -0.5 * cut(x), prior, proposal, n_draws=40000, seed=0)
    assert r.log_z == pytest.approx(problem.log_z + np.log(0.5), abs=4 * r.log_z_err + 0.005)
    assert np.all(r.samples[:, 0] <= 0.2) and r.n_invalid > 0
    assert r.n_calls <= r.n_draws  # draws outside the box cost no call
