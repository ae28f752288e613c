"""The exact problems' answers are exact: ln Z, draws and masses against an independent density."""

import inspect
import math

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import kstest, multivariate_normal, truncnorm

from globalfit.config import EXACT
from globalfit.oracles import OracleSpec
from globalfit.oracles.build import build_oracle
from globalfit.oracles.exact import (
    EXACT_PROBLEMS,
    curved_valley,
    exact_problem,
    gaussian_wells,
    two_wells,
    unequal_wells,
)


def _mixture_logpdf(x, centres, sds, masses):
    d = centres.shape[1]
    return logsumexp(
        [
            math.log(m) + multivariate_normal(c, s**2 * np.eye(d)).logpdf(x)
            for c, s, m in zip(centres, sds, masses, strict=True)
        ],
        axis=0,
    )


@pytest.mark.parametrize(
    "name, problem, sds",
    [
        ("two_wells", two_wells(4), [0.3, 0.3]),
        ("unequal_wells", unequal_wells(4), [0.3, 0.45]),
        ("unequal_wells d=7", unequal_wells(7), [0.3, 0.45]),
    ],
)
def test_wells_evidence_draws_and_masses_are_exact(name, problem, sds):
    """e^{−χ²/2} / (2h)^d equals Z times the mixture density everywhere (so ln Z is exact), the
    draws fall into the wells in proportion to the masses."""
    d, h = problem.dim, problem.half_width
    rng = np.random.default_rng(0)
    x = np.vstack([problem.draw(2000, rng), rng.uniform(-h, h, (200, d))])
    log_ratio = (
        -problem.chi2(x) / 2
        - d * math.log(2 * h)
        - _mixture_logpdf(x, problem.centres, sds, problem.masses)
    )
    assert np.allclose(log_ratio, problem.log_z, atol=1e-9, rtol=0), name
    near = np.argmin(np.linalg.norm(x[:2000, None] - problem.centres, axis=2), axis=1)
    share = np.mean(near == 0)
    m = problem.masses[0]
    assert abs(share - m) < 4 * math.sqrt(m * (1 - m) / 2000), (share, m)
    assert problem.chi2(problem.centres).min() == pytest.approx(
        -2 * math.log(max(problem.masses)) if name == "two_wells" else 0.0, abs=1e-9
    )


def test_unequal_wells_are_no_mirror_images_and_bad_wells_are_refused():
    p = unequal_wells(4)
    a, b = p.centres
    assert not np.allclose(a, -b) and p.masses == (0.35, 0.65)
    assert 1.5 < p.chi2(b[None])[0] - p.chi2(a[None])[0] < 2.5  # the heavier well is shallower
    with pytest.raises(ValueError, match="4 sds inside"):
        gaussian_wells([[2.0, 0.0]], [0.3], [1.0])
    with pytest.raises(ValueError, match="summing to 1"):
        gaussian_wells([[0.0, 0.0], [1.0, 0.0]], [0.3, 0.3], [0.5, 0.6])
    with pytest.raises(ValueError, match="d ≥ 2"):
        unequal_wells(1)


def test_curved_valley_evidence_draws_and_cliff_are_exact():
    """ln Z against plain Monte Carlo over the box (d = 2), the draws against the density: all
    behind the cliff, θ0 a truncated N(0, 0.6²), θ1 bent by curvature·(θ0² − 0.36)."""
    p = curved_valley(2)
    rng = np.random.default_rng(1)
    u = rng.uniform(-3, 3, (2_000_000, 2))
    assert logsumexp(-p.chi2(u) / 2) - math.log(len(u)) == pytest.approx(p.log_z, abs=0.02)
    x = p.draw(20000, rng)
    assert x[:, 0].max() <= 0.3 and p.chi2(np.array([[0.31, 0.0]]))[0] > 1e3
    assert kstest(x[:, 0], truncnorm(-np.inf, 0.3 / 0.6, scale=0.6).cdf).pvalue > 1e-3
    residual = x[:, 1] - 0.35 * (x[:, 0] ** 2 - 0.36)
    assert abs(residual.mean()) < 0.005 and residual.std() == pytest.approx(0.15, rel=0.03)
    assert p.chi2(p.centres)[0] == 0.0 and p.masses == (1.0,)
    with pytest.raises(ValueError, match="4 sds inside"):
        curved_valley(3, curvature=1.0)


def test_the_config_knows_every_exact_problem_and_its_options():
    """config.EXACT (checked before any job, without numpy) matches the problems' signatures."""
    assert set(EXACT) == set(EXACT_PROBLEMS)
    for name, (least_d, options) in EXACT.items():
        signature = inspect.signature(EXACT_PROBLEMS[name]).parameters
        assert set(signature) - {"d", "half_width"} == set(options), name
        exact_problem(name, least_d, 3.0)
        if least_d > 1:
            with pytest.raises(ValueError, match="d ≥"):
                exact_problem(name, least_d - 1, 3.0)


def test_the_exact_oracle_is_the_problem_on_the_configured_box():
    p = unequal_wells(3, half_width=3.5)
    spec = OracleSpec.from_config(
        {
            "oracle": {"name": "exact", "options": {"problem": "unequal_wells"}},
            "parameters": p.parameters(),
        }
    )
    oracle = build_oracle(spec)
    x = np.random.default_rng(2).uniform(-3.5, 3.5, (5, 3))
    assert [oracle(row) for row in x] == pytest.approx(p.chi2(x), rel=1e-12)
    assert oracle.log_z == p.log_z and spec.source_files()[0].name == "exact.py"


def test_compare_measures_the_distance_to_the_exact_posterior():
    """Exact draws are close (KS at its noise, masses right); folding one well onto the other, or
    weighting the wells wrongly, is seen."""
    p = two_wells(3)
    x = p.draw(20000, np.random.default_rng(0))
    same = p.compare(x, np.ones(len(x)))
    assert same["ks"] < 0.03 and same["mass_error"] < 0.02
    folded = x.copy()
    folded[:, 0] = np.abs(folded[:, 0])
    bad = p.compare(folded, np.ones(len(x)))
    assert bad["masses"] == pytest.approx([1.0, 0.0]) and bad["mass_error"] == pytest.approx(0.43)
    assert bad["ks"] > 0.4
    reweighted = p.compare(x, np.where(x[:, 0] > 0, 0.43, 0.57))  # reweighted to 0.5 each
    assert reweighted["mass_error"] == pytest.approx(0.07, abs=0.01)
