"""Adaptive stopping in real workflow runs of the analytic problem (active learning only): the
loop stops by its criterion and by the call budget, a stopped round costs next to nothing, and a
SIGKILLed --cores 1 run resumes to the --cores 2 run's rounds."""

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from test_operations import _kill_when

from conftest import ANALYTIC, copy_project, planned_jobs, snakemake
from globalfit.evaluation import EvaluationTable, read_points
from globalfit.fingerprint import run_fingerprint

pytestmark = pytest.mark.workflow

TARGET = "results/active_learning/stopping.json"
N_GP, N_POSTERIOR = 5, 3


def adaptive_config(path, **active_learning):
    cfg = yaml.safe_load(ANALYTIC.read_text())
    cfg["evaluation"].update(chunk_size=20, parallel_chunks=2)  # fewer jobs, the same points
    cfg["active_learning"].update(
        rounds=N_GP, posterior_rounds=N_POSTERIOR, stop_after=2, **active_learning
    )
    path.write_text(yaml.safe_dump(cfg))
    return path, cfg


def infos(results):
    return {
        r: json.loads((results / "rounds" / str(r) / "proposal_info.json").read_text())
        for r in range(1, N_GP + N_POSTERIOR + 1)
    }


@pytest.fixture(scope="module")
def adaptive_run(tmp_path_factory):
    """The rounds of the analytic fit with adaptive stopping, --cores 2, uninterrupted."""
    root = tmp_path_factory.mktemp("adaptive")
    config, cfg = adaptive_config(root / "config.yaml")
    project = copy_project(root / "project")
    snakemake(project, config, "--cores", "2", TARGET)
    return project, config, cfg


def test_the_loop_stops_by_its_criterion_and_a_stopped_round_costs_nothing(adaptive_run):
    project, config, cfg = adaptive_run
    res = project / "results"
    stopping = json.loads((res / "active_learning" / "stopping.json").read_text())
    # both phases stopped by the documented criterion, before their maxima
    assert "in 2 consecutive rounds" in stopping["stopped"]["gp"]
    assert "importance-sampling check" in stopping["stopped"]["posterior"]
    info = infos(res)
    methods = [info[r]["method"] if "method" in info[r] else "gp" for r in sorted(info)]
    gp, posterior = methods[:N_GP], methods[N_GP:]
    assert "stopped" in gp and "stopped" in posterior, methods
    # once stopped, a phase stays stopped; the posterior phase starts after the GP rounds
    assert gp == sorted(gp, key=lambda m: m == "stopped") and gp[0] == "gp"
    assert posterior[0] == "posterior"
    assert posterior == sorted(posterior, key=lambda m: m == "stopped")
    # the two converged rounds before each stop, as the record says
    checks = {c["round"]: c for c in stopping["checks"]}
    last_gp = max(r for r in info if r <= N_GP and methods[r - 1] == "gp")
    assert checks[last_gp]["converged"] and checks[last_gp - 1]["converged"]
    assert checks[last_gp]["kind"] == "gp" and checks[last_gp]["new_basins"] == 0
    assert checks[last_gp]["batch_mae"] <= cfg["active_learning"].get("stop_tolerance", 1.0)
    last_post = max(r for r in info if methods[r - 1] == "posterior")
    assert checks[last_post]["converged"] and checks[last_post - 1]["converged"]
    assert checks[last_post]["ess_fraction"] >= cfg["inference"].get("ess_threshold", 0.5)
    diag = pd.read_csv(res / "active_learning" / "diagnostics.csv")
    assert diag["method"].tolist() == methods
    assert diag.loc[diag["round"] == last_gp, "check_converged"].item() == 1.0
    # a stopped round: no TensorFlow, no xgboost, empty chunks, nothing evaluated, in seconds
    data = {r: EvaluationTable.read(res / "rounds" / str(r) / "dataset.h5") for r in range(9)}
    for r, m in enumerate(methods, start=1):
        if m != "stopped":
            assert (data[r].round == r).sum() == cfg["active_learning"]["batch_size"]
            continue
        assert not info[r].get("tensorflow_imported", False)
        assert not info[r].get("xgboost_imported", False)
        # the first stopped round of a phase pays the check of the round before (a posterior
        # round's imports arviz for PSIS); the ones after it nothing but reading the dataset
        assert info[r]["cpu_seconds"] < (0.5 if methods[r - 2] == "stopped" else 5.0)
        for chunk in (res / "rounds" / str(r) / "evaluated").glob("*.h5"):
            assert len(EvaluationTable.read(chunk)) == 0
        assert len(read_points(res / "rounds" / str(r) / "proposal.h5")[0]) == 0
        assert len(data[r]) == len(data[r - 1])
        log = (res / "logs" / "evaluate" / "rounds" / str(r) / "000.log").read_text()
        assert "0 points, 0 already known, 0 to evaluate" in log  # no oracle started
    # the plan is static: a dry run of a fresh directory shows every round up to the maxima
    fresh = copy_project(project.parent / "fresh")
    planned = planned_jobs(snakemake(fresh, config, "-n", "--cores", "2", TARGET))
    assert sorted(int(w.split("=")[1]) for r, w in planned if r == "propose") == [1, 2, 3, 4, 5]
    assert sorted(int(w.split("=")[1]) for r, w in planned if r == "propose_posterior") == [6, 7, 8]


def test_a_killed_one_core_run_resumes_to_the_two_core_rounds(adaptive_run, tmp_path):
    """SIGKILLed as the first stopped round is written, then resumed with --cores 1: every file
    of the rounds and of the stopping record equals the uninterrupted --cores 2 run's."""
    project, config, _ = adaptive_run
    first_stopped = next(r for r, i in sorted(infos(project / "results").items())
                         if i.get("method") == "stopped")  # fmt: skip
    other = copy_project(tmp_path / "project")
    res = other / "results"

    def stopped_round_written():
        return (res / "rounds" / str(first_stopped) / "proposal_info.json").exists()

    assert _kill_when(other, config, 1, stopped_round_written), "never reached the stopped round"
    snakemake(other, config, "--cores", "1", "--rerun-incomplete", TARGET)

    def rounds(fp):
        return {k: v for k, v in fp.items() if k.startswith(("rounds/", "active_learning/"))}

    one, two = rounds(run_fingerprint(res)), rounds(run_fingerprint(project / "results"))
    assert one and set(one) == set(two)
    assert {k for k in one if one[k] != two[k]} == set()


def test_the_call_budget_cuts_a_round_and_stops_the_loop(tmp_path):
    config, cfg = adaptive_config(tmp_path / "config.yaml", max_calls=87)
    project = copy_project(tmp_path / "project")
    snakemake(project, config, "--cores", "2", TARGET)
    res = project / "results"
    data = EvaluationTable.read(res / "rounds" / str(N_GP + N_POSTERIOR) / "dataset.h5")
    n0, q = cfg["design"]["n_initial"], cfg["active_learning"]["batch_size"]
    assert len(data) == 87 and np.bincount(data.round).tolist() == [n0, q, 87 - n0 - q]
    stopping = json.loads((res / "active_learning" / "stopping.json").read_text())
    assert "max_calls = 87" in stopping["stopped"]["gp"]
    assert "max_calls = 87" in stopping["stopped"]["posterior"]
    assert "posterior rounds: 0 of 3 run" in stopping["stop_reason"]
