"""Adaptive stopping of active learning (globalfit.active_learning.stopping), on exact inputs."""

import math

import numpy as np
import pytest

from globalfit.active_learning.round_checks import gp_round_check, posterior_round_check
from globalfit.active_learning.stopping import plan_round, stop_columns, stop_reason
from globalfit.space import ParameterSpace

SPACE = ParameterSpace(("x", "y"), np.array([-1.0, -1.0]), np.array([1.0, 1.0]))


def bowl(theta, centre=(0.3, 0.3)):
    return 10.0 + 400.0 * np.sum((np.asarray(theta) - centre) ** 2, axis=1)


def check(theta_batch, pred, before):
    """The check of a batch on the bowl, with the GP's predictions ``pred``."""
    ok = np.ones(len(theta_batch), bool)
    return gp_round_check(
        {"round_index": 2, "pred_chi2": list(pred)},
        theta_batch,
        bowl(theta_batch),
        ok,
        before,
        bowl(before),
        np.ones(len(before), bool),
        space=SPACE,
        tolerance=1.0,
        open_level=10.0,
        separation=0.2,
    )


def test_gp_check_converges_on_an_accurate_batch_and_is_blind_to_the_wall_height():
    rng = np.random.default_rng(0)
    before = 0.3 + 0.05 * rng.standard_normal((40, 2))
    before[0] = (0.3, 0.3)  # the minimum is known
    batch = 0.3 + 0.05 * rng.standard_normal((10, 2))
    truth = bowl(batch)
    c = check(batch, truth + 0.5, before)
    assert c["round"] == 3 and c["n_region"] == 10 and c["new_basins"] == 0
    assert c["membership"] == 1.0 and c["best_gain"] == 0.0 and c["converged"]
    assert c["batch_mae"] == pytest.approx(0.5, abs=0.05)
    # the same batch mispredicted by 2 Δχ²: not converged, though the GP knew the region's edge
    c = check(batch, truth + 2.0, before)
    assert c["membership"] >= 0.9 and not c["converged"]
    # a GP that puts the region's edge elsewhere (it predicts half the batch beyond Δχ² = 10)
    edge = np.where(batch[:, 0] > 0.3, truth + 12.0, truth)
    c = check(batch, edge, before)
    assert c["membership"] < 0.9 and not c["converged"]
    # a cliff through the minimum that the GP did not see: the wall's height (10⁶) does not
    # swamp the error, each wall point costs at most the region's 10 Δχ²
    walled = np.where(batch[:, 0] > 0.3, 1e6, truth)
    c = gp_round_check(
        {"round_index": 2, "pred_chi2": list(truth)},
        batch,
        walled,
        np.ones(10, bool),
        before,
        bowl(before),
        np.ones(40, bool),
        space=SPACE,
        tolerance=1.0,
        open_level=10.0,
        separation=0.2,
    )
    assert c["membership"] < 0.9 and c["batch_mae"] <= 10.0 and not c["converged"]


def test_gp_check_sees_a_new_basin_and_a_better_minimum():
    rng = np.random.default_rng(1)
    before = 0.3 + 0.05 * rng.standard_normal((40, 2))
    before[0] = (0.3, 0.3)
    # a batch point in a second, unrelated basin of equal depth at (-0.5, 0.6): no earlier point
    # that good lies within the separation of it
    batch = np.array([[0.31, 0.29], [-0.5, 0.6]])

    def two_basins(t):
        return np.minimum(bowl(t), bowl(t, (-0.5, 0.6)))

    info = {"round_index": 0, "pred_chi2": list(two_basins(batch))}
    args = dict(space=SPACE, tolerance=1.0, open_level=10.0, separation=0.2)
    ok = np.ones(2, bool)
    c = gp_round_check(
        info, batch, two_basins(batch), ok, before, two_basins(before), np.ones(40, bool), **args
    )
    assert c["new_basins"] == 1 and not c["converged"]
    # a better minimum by more than the tolerance: not converged even when predicted exactly
    worse = before[np.sum((before - 0.3) ** 2, axis=1) > 0.003]  # all Δχ² > 1.2 above 10
    c = check(np.array([[0.3, 0.3]]), [10.0], worse)
    assert c["best_gain"] > 1.0 and not c["converged"]


def test_posterior_check_passes_an_exact_surrogate_and_fails_a_wrong_one():
    rng = np.random.default_rng(2)
    chi2 = rng.chisquare(2, size=32)
    ok = np.ones(32, bool)
    exact = posterior_round_check(
        {"round_index": 7, "chi2_sampled": list(chi2)}, chi2, ok, ess_threshold=0.5,
        pareto_k_threshold=0.7,
    )  # fmt: skip
    assert exact["converged"] and exact["ess_fraction"] == pytest.approx(1.0)
    # a surrogate whose mode is 1.5 sd off the truth's: the ESS fraction is exp(-1.5²) ≈ 0.1
    x = rng.standard_normal(32)
    wrong = posterior_round_check(
        {"round_index": 7, "chi2_sampled": list(x**2)}, (x - 1.5) ** 2, ok, ess_threshold=0.5,
        pareto_k_threshold=0.7,
    )  # fmt: skip
    assert not wrong["converged"] and wrong["ess_fraction"] < 0.3
    # under 24 points PSIS has no tail: the ESS fraction decides
    small = posterior_round_check(
        {"round_index": 7, "chi2_sampled": list(chi2[:16])}, chi2[:16], ok[:16],
        ess_threshold=0.5, pareto_k_threshold=0.7,
    )  # fmt: skip
    assert math.isinf(small["pareto_k"]) and small["converged"]


def c(kind, converged, r):
    return {"kind": kind, "round": r, "converged": converged}


def test_a_phase_stops_after_stop_after_consecutive_converged_rounds():
    kw = dict(n_evaluated=100, batch_size=20, stop_after=2, max_calls=None)
    p1 = plan_round("gp", None, None, **kw)
    assert p1["n_points"] == 20 and p1["stopped"] == {}
    p2 = plan_round("gp", p1, c("gp", True, 1), **kw)
    p3 = plan_round("gp", p2, c("gp", False, 2), **kw)  # the streak restarts
    p4 = plan_round("gp", p3, c("gp", True, 3), **kw)
    assert p2["n_points"] == p3["n_points"] == p4["n_points"] == 20
    p5 = plan_round("gp", p4, c("gp", True, 4), **kw)
    assert p5["n_points"] == 0 and "2 consecutive" in p5["stopped"]["gp"]
    p6 = plan_round("gp", p5, None, **kw)  # stays stopped
    assert p6["n_points"] == 0 and len(p6["checks"]) == 4
    # the posterior phase starts afresh: GP checks do not count for it
    p7 = plan_round("posterior", p6, None, **kw)
    assert p7["n_points"] == 20 and "posterior" not in p7["stopped"]
    # stop_after = 0: never early
    kw0 = {**kw, "stop_after": 0}
    q = None
    for r in range(1, 6):
        q = plan_round("gp", q, c("gp", True, r) if r > 1 else None, **kw0)
        assert q["n_points"] == 20
    with pytest.raises(ValueError, match="phase"):
        plan_round("lhs", None, None, **kw)


def test_the_call_budget_cuts_a_round_and_stops_both_phases():
    kw = dict(batch_size=20, stop_after=2, max_calls=130)
    p = plan_round("gp", None, None, n_evaluated=100, **kw)
    assert p["n_points"] == 20
    p = plan_round("gp", p, c("gp", False, 1), n_evaluated=120, **kw)
    assert p["n_points"] == 10  # what the budget leaves
    p = plan_round("gp", p, c("gp", False, 2), n_evaluated=130, **kw)
    assert p["n_points"] == 0 and "max_calls = 130" in p["stopped"]["gp"]
    p = plan_round("posterior", p, None, n_evaluated=130, **kw)
    assert p["n_points"] == 0 and "max_calls" in p["stopped"]["posterior"]
    sentence = stop_reason(p, 3, 2)
    assert "GP rounds: 2 of 3 run" in sentence and "posterior rounds: 0 of 2" in sentence


def test_stop_reason_and_columns_say_what_happened():
    record = {
        "checks": [
            {"kind": "gp", "round": 1, "converged": False, "membership": 0.5, "batch_mae": 3.0,
             "new_basins": 1},
            {"kind": "posterior", "round": 2, "converged": True, "ess_fraction": 0.8,
             "pareto_k": None},
        ],
        "stopped": {},
    }  # fmt: skip
    s = stop_reason(record, 1, 1)
    assert "GP rounds: all 1 run without" in s and "posterior rounds: all 1 run" in s
    assert stop_reason(None, 0, 0).startswith("no active-learning rounds")
    row = stop_columns(record, 1)
    assert row["check_batch_mae"] == 3.0 and row["check_new_basins"] == 1.0
    assert row["check_membership"] == 0.5
    assert math.isnan(row["check_ess_fraction"])
    row = stop_columns(record, 2)
    assert row["check_ess_fraction"] == 0.8 and math.isnan(row["check_pareto_k"])
    assert all(math.isnan(v) for v in stop_columns(record, 5).values())
