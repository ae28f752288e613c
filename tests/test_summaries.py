"""The stage summaries that were logic inside workflow scripts: the inference summary (best fit
decided by the true χ², significance against the reference point) and the run summary (shares of
hits per origin), on tables whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest

from globalfit.evaluation import EvaluationTable
from globalfit.inference.results import inference_summary
from globalfit.run_summary import run_summary

NAMES = ("a", "b")


def table(theta, chi2, status=None, rounds=None, attrs=None):
    theta = np.asarray(theta, dtype=np.float64)
    n = len(theta)
    return EvaluationTable(
        names=NAMES,
        theta=theta,
        chi2=np.asarray(chi2, dtype=np.float64),
        status=np.asarray(status or ["ok"] * n, dtype=object),
        round=np.asarray(rounds if rounds is not None else [0] * n, dtype=np.int64),
        seconds=np.ones(n),
        cpu_seconds=np.full(n, 0.5),
        cached=np.zeros(n, dtype=bool),
        message=np.asarray([""] * n, dtype=object),
        breakdown=np.zeros((n, 0)),
        attrs=attrs or {},
    )


SAMPLING = {
    "parameters": {"a": {"mean": 0.1}},
    "derived": {"c": {"mean": 1.0}},
    "diagnostics": {
        "converged": True, "tau": {"a": 5.0}, "max_tau": 5.0, "n_steps": 500,
        "convergence_rule": "n_steps >= 50 max tau", "acceptance_mean": 0.3, "ess": {"a": 900.0},
        "burn": 15, "thin": 2, "notes": [], "log_prob_evals_per_s": 1e4,
    },
}  # fmt: skip
ISLANDS = {"islands": [], "agree": True, "sentence": "agree"}
POSTERIOR = {
    "sampler": "nautilus",
    "parameters": {"a": {"mean": 0.1}},
    "islands": ISLANDS,
    "evidence": {"log_z": -10.0, "log_z_err": 0.01},
}
INTERVAL = {"lower": -1.0, "upper": 1.0, "lower_at_edge": False, "upper_at_edge": False}
FIT = {
    "best_fit": {"chi2": 4.2},
    "reference_chi2": 4.2,
    "profiles": {"a": {"intervals": {"1sigma": [INTERVAL]}}},
    "profile_checks": [
        {
            "profile": "a",
            "grid_index": 3,
            "x": 1.0,
            "kind": "crossing 1sigma",
            "delta_surrogate": 1.0,
        }
    ],
}


def summary(
    confirm, reference=True, validation=None, derived=None, posterior=None, profile_check=None
):
    return inference_summary(
        names=NAMES,
        sampling=SAMPLING,
        posterior=posterior or POSTERIOR,
        surrogate_fit=FIT,
        validation=validation
        or {
            "passed": True,
            "sentence": "fine",
            "ess_fraction": 0.8,
            "evidence": {"log_z_corrected": -11.0, "log_z_corrected_err": 0.1},
        },
        confirm=confirm,
        reference_point={"a": 0.0, "b": 0.0} if reference else None,
        dof=1,
        derived_values=derived,
        profile_check=profile_check,
    )


def test_best_fit_is_the_lowest_true_chi2_and_the_significance_is_against_the_last_row():
    # candidates: two surrogate minima (one failed), the dataset's best point; then the reference
    confirm = table(
        [[0.1, 0.1], [0.2, 0.2], [0.3, 0.3], [0.0, 0.0]],
        [5.0, np.nan, 4.0, 4.0 + 3.841458820694124],
        status=["ok", "error", "ok", "ok"],
    )
    s = summary(confirm)
    assert s["best_fit"]["chi2_true"] == 4.0 and s["best_fit"]["theta"] == {"a": 0.3, "b": 0.3}
    assert s["best_fit"]["source"] == "best evaluated point"
    assert s["best_fit"]["chi2_surrogate"] == 4.2
    assert s["sm"]["chi2"] == pytest.approx(7.841458820694124)
    sig = s["significance"]
    assert sig["dof"] == 1 and sig["wilks_p"] == pytest.approx(0.05, rel=1e-9)
    assert sig["wilks_z"] == pytest.approx(1.6448536, rel=1e-6)
    assert sig["local_z"] == pytest.approx(np.sqrt(3.841458820694124))
    assert [r["dof"] for r in sig["by_dof"]] == [1, 2]  # one row per k up to the 2 parameters
    assert s["convergence"]["rule"] == "n_steps >= 50 max tau" and s["convergence"]["burn"] == 15
    profile = s["profiles"]["a"]
    assert profile["intervals"] == {"1sigma": [INTERVAL]} and s["validation_passed"]
    assert profile["limits"]["1sigma"][0]["kind"] == "interval"
    assert not profile["validated"] and profile["check"] is None  # no truth check given
    # the truth at the checked point: Δχ²_true = 5.3 − 4.0 against the confirmed best fit 4.0
    checked = summary(confirm, profile_check=table([[1.0, 0.0]], [5.3]))
    ref = checked["profile_reference"]
    assert ref["chi2_true"] == 4.0 and ref["all_validated"]
    assert checked["profiles"]["a"]["check"]["points"][0]["delta_true"] == pytest.approx(1.3)
    bad = summary(confirm, profile_check=table([[1.0, 0.0]], [5.6]))  # error 0.6
    assert not bad["profiles"]["a"]["validated"] and not bad["profile_reference"]["all_validated"]
    assert "warning" not in s
    # the evidence corrected by the truth, against the reference point's likelihood
    assert s["evidence"]["log_z"] == -10.0 and s["evidence"]["log_z_best"] == -11.0
    assert s["bayes_factor"]["log_b"] == pytest.approx(-11.0 + 7.841458820694124 / 2)
    assert s["posterior"] == {"a": {"mean": 0.1}} and s["posterior_sampler"] == "nautilus"

    first = summary(table([[0.1, 0.1], [0.3, 0.3]], [3.0, 4.0]), reference=False)
    assert first["best_fit"]["source"] == "surrogate local minimum 1" and first["sm"] is None


def test_every_candidate_failed_a_failed_validation_and_disagreeing_islands_are_said():
    with pytest.raises(RuntimeError, match="failed at every best-fit candidate"):
        summary(table([[0.1, 0.1], [0.0, 0.0]], [np.nan, 1.0], status=["error", "ok"]))
    s = summary(
        table([[0.1, 0.1]], [1.0]),
        reference=False,
        validation={"passed": False, "sentence": "ESS 0.1"},
        derived={"x": np.arange(100.0)},
        posterior={**POSTERIOR, "islands": {**ISLANDS, "agree": False, "sentence": "DISAGREE"}},
    )
    assert "ESS 0.1" in s["warning"] and not s["validation_passed"]
    assert s["warning"].endswith("DISAGREE")  # the islands' disagreement is said too
    assert s["evidence"]["log_z_best"] == -10.0  # nothing to correct with: the surrogate's
    assert s["derived"]["c"] == {"mean": 1.0}  # the sampler's own derived quantities stay
    assert s["derived"]["x"]["q50"] == pytest.approx(49.5)


def test_run_summary_shares_of_hits_per_origin():
    # best chi2 1.0: hits are chi2 < 3.3; round 0 = design, 1-2 GP rounds, 3 a posterior round
    chi2 = [1.0, 50.0, 2.0, 40.0, 3.0, 60.0, 70.0, np.nan]
    data = table(
        np.zeros((8, 2)),
        chi2,
        status=["ok"] * 7 + ["error"],
        rounds=[0, 0, 1, 1, 2, 2, 3, 3],
        attrs={"package_version": "9.9"},
    )
    explain = {"ranking": ["a", "b"], "ablation": {"dropped": "b", "verdict": "keep"},
               "interactions": {"mean_abs": [1, 2, 3, 4]}}  # fmt: skip
    inference = summary(table([[0.1, 0.1]], [1.0]), reference=False)
    s = run_summary(
        data,
        n_gp_rounds=2,
        provenance={"config_name": "t", "config_hash": "h", "commit": "c", "machine": "m"},
        timings={"total": {"wall_seconds": 1.0}},
        stopping={"stop_reason": "GP rounds: 1 of 2 run", "stopped": {"gp": "because"}},
        surrogate={"test": {"mae_in_region": 0.2}},
        inference=inference,
        explain=explain,
    )
    assert s["package_version"] == "9.9" and s["config_hash"] == "h"
    assert s["evaluation"]["n_failed"] == 1 and s["evaluation"]["best_chi2"] == 1.0
    assert s["evaluation"]["best_chi2_design"] == 1.0
    assert s["evaluation"]["oracle_cpu_seconds"] == 4.0
    al = s["active_learning"]
    assert al["rounds"] == 3 and al["lhs_share_below_2_3"] == 0.5
    assert al["share_below_2_3"] == 0.5  # rounds 1-2: chi2 2 and 3 of 2, 40, 3, 60
    assert al["posterior_rounds_share_below_2_3"] == 0.0  # 70 and a failed point
    assert s["explain"] == {"ranking": ["a", "b"], "least_important": "b", "verdict": "keep",
                            "top_pairs": [1, 2, 3]}  # fmt: skip
    # the ALP observables, profiles and their truth checks reach the README through this summary
    assert set(s["inference"]) == {"best_fit", "sm", "significance", "convergence", "evidence",
                                   "islands", "validation_passed", "validation", "derived",
                                   "profiles", "profile_reference"}  # fmt: skip
    assert al["stop_reason"] == "GP rounds: 1 of 2 run" and al["stopped"] == {"gp": "because"}
    assert al["gp_rounds"] == 2 and al["posterior_rounds"] == 1  # rounds that evaluated points
    # the oracle calls: the dataset and each batch's chunks, and what the cache answered
    cached = table(np.zeros((3, 2)), [1.0, 2.0, 3.0])
    cached.cached[:2] = True
    calls = run_summary(
        data,
        n_gp_rounds=2,
        provenance=dict.fromkeys(("config_name", "config_hash", "commit", "machine"), "x"),
        timings={},
        batches={"validation": [cached, table(np.zeros((2, 2)), [1.0, 2.0])], "confirm": []},
    )["oracle_calls"]
    assert calls == {"training": 8, "validation": 5, "confirm": 0, "total": 13, "from_cache": 2}
    assert "surrogate" in s and "explain" not in run_summary(
        data, n_gp_rounds=2, provenance=dict.fromkeys(("config_name", "config_hash", "commit",
                                                       "machine"), "x"), timings={}
    )  # fmt: skip


def test_contributions_name_the_observables_that_pull_and_sum_per_sector():
    from globalfit.inference.contributions import chi2_contributions

    confirm = table([[0.1, 0.1], [0.3, 0.3], [0.0, 0.0]], [9.0, 4.0, 10.0])
    # three observables: x pulls by 5 towards the fit, y by 2 against it, z adds up the rest
    confirm.breakdown = np.array([[3.0, 4.0, 2.0], [1.0, 3.0, 0.0], [6.0, 1.0, 3.0]])
    confirm.breakdown_names = ("x", "y", "z")
    c = chi2_contributions(confirm, 1, -1, sectors={"xy": ["x", "y"], "none": ["w"]}, top=2)
    assert [r["observable"] for r in c["top"]] == ["x", "z"]  # |Δχ²| 5, then 3 (y: −2)
    assert c["top"][0] == {
        "observable": "x",
        "chi2_best": 1.0,
        "chi2_reference": 6.0,
        "delta_chi2": 5.0,
    }
    assert c["by_sector"] == {
        "xy": {"chi2_best": 4.0, "chi2_reference": 7.0, "delta_chi2": 3.0, "n_observables": 2}
    }
    assert c["unexplained"] == {"best_fit": 0.0, "reference": 0.0}
    assert c["best_fit"] == {"x": 1.0, "y": 3.0, "z": 0.0}
    # in the summary: at the confirmed best fit (row 1), against the reference point (last row)
    s = summary(confirm)
    assert s["best_fit"]["confirm_row"] == 1
    assert s["chi2_contributions"]["top"][0]["observable"] == "x"
    assert summary(table([[0.1, 0.1], [0.0, 0.0]], [4.0, 5.0]))["chi2_contributions"] is None


def test_landing_page_quotes_the_summary_and_renders_as_restructured_text():
    from docutils.core import publish_parts

    from globalfit.landing import flat_summary, headline_rows, render_landing

    s = {
        "config_name": "t",
        "inference": {
            "best_fit": {"chi2_true": 12345.678912, "theta": {"a": 0.25, "b": -1.5e-7}},
            "significance": {"delta_chi2": 5.59069, "local_z": 2.364, "dof": 2},
            "validation": {"passed": False, "pareto_k": None, "sentence": "It FAILS."},
        },
        "oracle_calls": {"training": 352, "total": 594},
    }
    rows = dict(headline_rows(s, ["a", "b"]))
    assert rows["best-fit χ² (true oracle)"] == "12345.7"  # 6 digits above 10⁴ too
    assert rows["best fit: b"] == "-1.5e-07"
    assert rows["validation PSIS k̂"] == "n/a"  # a null (inf) is said, not dropped
    assert rows["posterior validated by the true χ²"] == "no"
    assert "ln Bayes factor vs the reference point" not in rows  # absent keys are left out
    assert rows["oracle calls: all"] == "594"
    text = render_landing(s, ["a", "b"], b"\x89PNG fake")
    assert "Not validated: do not quote this posterior." in text and "It FAILS." in text
    # as Snakemake renders it; a docutils warning raises
    html = publish_parts(text, writer="html", settings_overrides={"halt_level": 2})
    body = html["html_body"]
    assert 'class="landing-headline' in body and "12345.7" in body
    assert 'id="landing-corner"' in body and "data:image/png;base64," in body
    assert max(map(len, text.splitlines())) < 10_000  # docutils' line limit
    flat = flat_summary(s)
    assert dict(zip(flat.key, flat.value, strict=True))["inference.best_fit.theta.a"] == "0.25"
