"""Profiles checked by the true χ²: the planned points, the verdict against an exact truth, one Δχ²
reference, minimisers at a bound and intervals that are limits."""

import dataclasses

import numpy as np
import pytest

from globalfit.inference import (
    best_fit,
    bound_parameters,
    check_profiles,
    common_reference,
    describe_interval,
    profile_1d,
    profile_2d,
    profile_check_points,
    profiles_summary,
)
from globalfit.inference.profiles import Interval
from globalfit.space import ParameterSpace

SPACE = ParameterSpace(("x", "y"), np.array([-3.0, -3.0]), np.array([3.0, 3.0]))


def truth(theta):
    """A correlated Gaussian valley whose profiles are exact: Δχ²(x) = x², Δχ²(y) = y²/1.25."""
    x, y = np.atleast_2d(theta).T
    return 10.0 + x**2 + (y - 0.5 * x) ** 2


def profiles_of(chi2):
    starts = SPACE.from_unit(np.random.default_rng(0).random((32, 2)))
    best = best_fit(chi2, SPACE, starts, seed=0)
    profs = [profile_1d(chi2, SPACE, n, best=best, starts=starts, n_grid=31) for n in SPACE.names]
    return best, profs


def test_planned_points_are_crossings_then_the_minimum_then_interior_points():
    best, profs = profiles_of(truth)
    common_reference(best.chi2, profs)
    points, plan = profile_check_points(profs, 6)
    assert points.shape == (12, 2) and len(plan) == 12
    x_plan = [p for p in plan if p["profile"] == "x"]
    # Δχ²(x) = x²: crossings at ±1 (level 1) and ±2 (level 4), all inside the box
    kinds = [p["kind"] for p in x_plan]
    assert kinds[:4] == ["crossing 1sigma"] * 2 + ["crossing 2sigma"] * 2
    assert sorted(abs(p["x"]) for p in x_plan[:4]) == pytest.approx([1, 1, 2, 2], abs=0.11)
    assert kinds[4] == "minimum" and x_plan[4]["x"] == pytest.approx(0.0, abs=1e-9)
    # the planned points are the profile's minimisers (y = x/2 on this valley)
    np.testing.assert_allclose(points[:6, 1], points[:6, 0] / 2, atol=1e-3)
    # a grid with fewer distinct points than asked repeats the minimum
    _, few = profile_check_points(profs, 40)
    assert sum(p["kind"] == "repeat" for p in few) > 0 and len(few) == 80


def test_the_truth_validates_an_exact_surrogate_and_an_offset_one_but_not_a_bump():
    for surrogate, expected in (
        (truth, True),
        (lambda t: truth(t) - 3.0, True),  # a constant offset cancels in Δχ²
        # an error of 1.2 in Δχ² near x = 1, where the 68 % crossing is
        (lambda t: truth(t) + 1.2 * np.exp(-((np.atleast_2d(t)[:, 0] - 1.0) ** 2) / 0.05), False),
    ):
        best, profs = profiles_of(surrogate)
        common_reference(best.chi2, profs)
        points, plan = profile_check_points(profs, 6)
        true = truth(points)
        checks = check_profiles(plan, true, np.ones(len(true), bool), 10.0, tolerance=0.5)
        assert checks["x"]["validated"] is expected
        assert checks["y"]["validated"]  # the bump sits at x = 1, away from y's minimisers
        assert checks["x"]["n_checked"] == 6
    # a failed oracle point leaves the profile unvalidated (it was not checked everywhere)
    ok = np.ones(len(true), bool)
    ok[0] = False
    failed = check_profiles(plan, truth(points), ok, 10.0)
    assert failed["x"]["n_failed"] == 1 and not failed["x"]["validated"]
    with pytest.raises(ValueError, match="planned points"):
        check_profiles(plan, true[:-1], ok[:-1], 10.0)


def test_every_profile_shares_one_reference():
    best, profs = profiles_of(truth)
    two = profile_2d(truth, SPACE, ("x", "y"), best=best, n_grid=9)
    shallow = dataclasses.replace(best, chi2=best.chi2 + 0.3)  # a best fit the profiles beat
    ref = common_reference(shallow.chi2, [*profs, two])
    assert ref == pytest.approx(best.chi2, abs=1e-6)
    assert {p.chi2_min for p in [*profs, two]} == {ref}


def test_minimisers_at_a_bound_are_named_and_edge_intervals_are_limits():
    # y's minimum is at 2x: beyond the box for |x| > 1.5, where the minimiser sits on y's bound
    def valley(t):
        x, y = np.atleast_2d(t).T
        return x**2 / 36 + 0.05 * (y - 2 * x) ** 2

    best, profs = profiles_of(valley)
    px = profs[0]
    flags = bound_parameters(px, SPACE)
    beyond = np.abs(px.grid) > 1.6
    assert all(f == ["y"] for f, b in zip(flags, beyond, strict=True) if b)
    assert not any(f for f, b in zip(flags, np.abs(px.grid) < 1.4, strict=True) if b)
    # Δχ²(3) = 0.25 + 0.05·3² < 1: the 68 % interval is the box, unconstrained
    (iv,) = px.intervals(1.0)
    assert describe_interval(iv)["kind"] == "unconstrained"
    assert describe_interval(Interval(-3.0, 1.2, True, False)) == {
        "kind": "upper limit",
        "lower": None,
        "upper": 1.2,
        "box_lower": -3.0,
        "box_upper": None,
    }
    assert describe_interval(Interval(-1.0, 3.0, False, True))["kind"] == "lower limit"
    assert describe_interval(Interval(-1.0, 1.0, False, False))["kind"] == "interval"


def test_the_summary_section_carries_limits_verdicts_and_the_reference():
    best, profs = profiles_of(truth)
    ref = common_reference(best.chi2, profs)
    points, plan = profile_check_points(profs, 4)
    fit = {
        "profiles": {p.name: p.as_dict() for p in profs},
        "reference_chi2": ref,
        "at_bound": {"x": {}, "y": {"2.8": ["x"]}},
        "profile_checks": plan,
    }
    s, reference = profiles_summary(fit, (truth(points), np.ones(len(points), bool)), 10.0, 0.5)
    assert reference["all_validated"] and reference["chi2_surrogate"] == ref
    assert s["y"]["at_bound"] == {"2.8": ["x"]}
    assert s["x"]["limits"]["1sigma"][0]["kind"] == "interval" and s["x"]["validated"]
    unchecked, unchecked_reference = profiles_summary(fit, None, 10.0, 0.5)
    assert not unchecked_reference["all_validated"] and unchecked["x"]["check"] is None
