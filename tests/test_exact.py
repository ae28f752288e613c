"""The exact problems' answers are exact: ln Z, draws and masses against an independent density."""

import math

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

from globalfit.oracles.exact import gaussian_wells, two_wells, unequal_wells


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
