"""Real Snakemake runs of small configs."""

import json

import numpy as np
import pytest

from conftest import ANALYTIC, ROOT, copy_run, run_snakemake, snakemake, write_config
from globalfit.evaluation import EvaluationCache, EvaluationTable
from globalfit.oracles import OracleSpec
from globalfit.oracles.analytic import AnalyticFunction
from globalfit.space import ParameterSpace

pytestmark = pytest.mark.workflow


def test_default_config_dry_run_lists_the_dag(tmp_path):
    proc = run_snakemake(
        tmp_path, ROOT / "config" / "config.yaml", "-n", "--cores", "2", timeout=300
    )
    out = proc.stdout
    counts = {
        line.split()[0]: int(line.split()[1])
        for line in out.splitlines()
        if len(line.split()) == 2 and line.split()[1].isdigit()
    }
    for rule in (
        "design",
        "propose",
        "gather_round",
        "surrogate",
        "sample",
        "frequentist",
        "validation",
        "inference_summary",
        "derived_chunk",
    ):
        assert rule in counts, rule
    from globalfit import config as gfconfig
    from globalfit.chunking import chunk_count

    cfg = gfconfig.load(ROOT / "config" / "config.yaml")
    al = cfg["active_learning"]
    n = {k: cfg["evaluation"][k] for k in ("chunk_size", "parallel_chunks")}
    chunks = (
        chunk_count(cfg["design"]["n_initial"], **n)  # Latin hypercube
        + (al["rounds"] + al["posterior_rounds"])
        * chunk_count(al["batch_size"], **n)  # GP + posterior rounds
        + chunk_count(cfg["inference"]["validation_samples"], **n)  # posterior validation
        + chunk_count(
            6, **n
        )  # four surrogate minima, the best point and the Standard Model, confirmed
        + chunk_count(cfg["inference"]["profile_checks"] * len(cfg["parameters"]), **n)
    )
    assert counts["evaluate_chunk"] == chunks
    assert counts["propose"] == al["rounds"]
    assert counts.get("propose_posterior", 0) == al["posterior_rounds"]
    assert counts["derived_chunk"] == chunk_count(cfg["inference"]["derived_samples"], **n)


def test_analytic_fit_end_to_end(finished_run, tmp_path):
    """The session's analytic run (``finished_run``, --cores 2): every stage's outputs, then a
    rechunking in a copy of it."""
    import pandas as pd
    import yaml

    analytic_config = ANALYTIC
    cfg = yaml.safe_load(open(analytic_config))
    res = finished_run / "results"
    assert len(list((res / "rounds" / "0" / "evaluated").glob("*.h5"))) >= 4
    ds = EvaluationTable.read(res / "dataset.h5")
    al = cfg["active_learning"]
    n_rounds = al["rounds"] + al["posterior_rounds"]
    n = cfg["design"]["n_initial"] + n_rounds * al["batch_size"]
    assert len(ds) == n and ds.theta.dtype == np.float64
    assert (
        np.bincount(ds.round).tolist()
        == [cfg["design"]["n_initial"]] + [al["batch_size"]] * n_rounds
    )
    space = ParameterSpace.from_config(cfg["parameters"])
    truth = AnalyticFunction(cfg["oracle"]["name"], space, cfg["oracle"]["options"]).chi2(ds.theta)
    np.testing.assert_array_equal(ds.chi2, truth)
    assert len({tuple(r) for r in ds.theta}) == n  # no point evaluated twice
    for key in ("config_hash", "seeds", "oracle", "oracle_hash", "package_version"):
        assert key in ds.attrs, key
    assert json.loads(ds.attrs["oracle"])["name"] == "twin_wells"
    csv = pd.read_csv(res / "dataset.csv", float_precision="round_trip")
    assert list(csv.columns) == [*space.names, "chi2", "status", "round"]
    np.testing.assert_array_equal(csv[list(space.names)].to_numpy(), ds.theta)

    diag = pd.read_csv(res / "active_learning" / "diagnostics.csv")
    assert diag["round"].tolist() == list(range(1, n_rounds + 1))
    assert diag["method"].tolist() == ["gp"] * al["rounds"] + ["posterior"] * al["posterior_rounds"]
    metrics = json.loads((res / "surrogate" / "metrics.json").read_text())
    assert (
        metrics["counts"]["train"] + metrics["counts"]["validation"] + metrics["counts"]["test"]
        == n
    )
    summary = json.loads((res / "inference" / "summary.json").read_text())
    for key in ("best_fit", "sm", "significance", "validation", "convergence"):
        assert summary[key] is not None, key
    # the best fit is the function's global minimum, by value and by place (not merely the
    # dataset's best point, which is one of its candidates)
    function = AnalyticFunction(cfg["oracle"]["name"], space, cfg["oracle"]["options"])
    where, chi2_min = function.minima()[0]
    assert summary["best_fit"]["chi2_true"] - chi2_min < 0.2
    best = np.array([summary["best_fit"]["theta"][n] for n in space.names])
    assert np.abs(space.to_unit(best[None, :]) - space.to_unit(where[None, :])).max() < 0.03
    assert summary["significance"]["dof"] == cfg["inference"]["dof"]
    # every profile was checked by the oracle: its true Δχ² is the function's, from the best fit
    checked = np.concatenate(
        [
            EvaluationTable.read(f).theta
            for f in sorted((res / "profile_check" / "evaluated").glob("*.h5"))
        ]
    )
    assert set(summary["profiles"]) == set(space.names)
    for name, prof in summary["profiles"].items():
        points = prof["check"]["points"]
        assert prof["check"]["n_checked"] == len(points) >= 2, name
        assert {p["kind"].split()[0] for p in points} <= {"crossing", "minimum", "interior"}
        assert prof["validated"] == (prof["check"]["max_abs_error"] <= prof["check"]["tolerance"])
    true_delta = function.chi2(checked) - summary["best_fit"]["chi2_true"]
    reported = [
        p["delta_true"] for prof in summary["profiles"].values() for p in prof["check"]["points"]
    ]
    assert set(np.round(reported, 9)) <= set(np.round(true_delta, 9))
    assert (
        summary["sm"]["chi2"]
        == AnalyticFunction(cfg["oracle"]["name"], space, cfg["oracle"]["options"]).chi2(
            np.array([[0.0, 0.0, 1.0]])
        )[0]
    )
    assert (res / "inference" / "plots" / "corner.png").stat().st_size > 10_000

    # another chunking reruns the evaluation jobs, but the cache answers every point (in a copy:
    # the session's run is shared; "nothing changed, nothing reruns" is test_operations')
    project = copy_run(finished_run, tmp_path / "project")
    res = project / "results"
    spec = OracleSpec.from_config(
        {**cfg, "oracle": {"options": {}, "plugin": None, **cfg["oracle"]}}
    )
    cache = EvaluationCache(res / "cache", spec.identity_hash())
    n_cached = len(cache)
    other = write_config(tmp_path / "rechunked.yaml", analytic_config, evaluation={"chunk_size": 7})
    snakemake(project, other, "--cores", "2", "results/dataset.h5")
    again = EvaluationTable.read(res / "dataset.h5")
    assert len(cache) == n_cached
    assert again.cached.all()
    np.testing.assert_array_equal(again.chi2, ds.chi2)
    np.testing.assert_array_equal(again.theta, ds.theta)


def test_the_validation_set_never_trained_the_surrogate(finished_run):
    """The points whose true χ² decide ``validation.passed`` are fresh: none of them is in the
    dataset the final surrogate was trained on (nor in any round's batch)."""
    from globalfit.evaluation import point_key

    res = finished_run / "results"
    training = {point_key(t) for t in EvaluationTable.read(res / "dataset.h5").theta}
    validation = EvaluationTable.read(res / "inference" / "validation.h5")
    assert len(validation) > 0
    assert not training & {point_key(t) for t in validation.theta}
    split = json.loads((res / "surrogate" / "metrics.json").read_text())["counts"]
    assert sum(split[k] for k in ("train", "validation", "test")) == len(training)
