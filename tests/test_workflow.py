"""Real Snakemake runs of small configs."""

import json

import numpy as np
import pytest

from conftest import ROOT, run_snakemake, write_config
from globalfit.oracles import OracleSpec
from globalfit.oracles.analytic import AnalyticFunction
from globalfit.space import ParameterSpace
from globalfit.store import EvaluationCache, EvaluationTable

pytestmark = pytest.mark.workflow


def test_default_config_dry_run_lists_the_dag(tmp_path):
    proc = run_snakemake(ROOT, ROOT / "config" / "config.yaml", "-n", "--cores", "2", timeout=300)
    out = proc.stdout
    assert "evaluate_chunk" in out and "design" in out and "gather_round" in out
    # 288 hypercube points in chunks of 16
    assert any(line.split()[:2] == ["evaluate_chunk", "18"] for line in out.splitlines())


def test_analytic_design_and_evaluation_end_to_end(tmp_path, analytic_config):
    import yaml

    run_snakemake(tmp_path, analytic_config, "--cores", "2")
    cfg = yaml.safe_load(open(analytic_config))
    res = tmp_path / "results"
    chunks = sorted((res / "rounds" / "0" / "evaluated").glob("*.h5"))
    assert len(chunks) >= 4
    ds = EvaluationTable.read(res / "dataset.h5")
    n = cfg["design"]["n_initial"]
    assert len(ds) == n and ds.theta.dtype == np.float64 and (ds.round == 0).all()
    space = ParameterSpace.from_config(cfg["parameters"])
    truth = AnalyticFunction(cfg["oracle"]["name"], space, cfg["oracle"]["options"]).chi2(ds.theta)
    np.testing.assert_array_equal(ds.chi2, truth)
    assert len({tuple(r) for r in ds.theta}) == n
    for key in ("config_hash", "seeds", "oracle", "oracle_hash", "package_version"):
        assert key in ds.attrs, key
    assert json.loads(ds.attrs["oracle"])["name"] == "twin_wells"
    import pandas as pd

    csv = pd.read_csv(res / "dataset.csv", float_precision="round_trip")
    assert list(csv.columns) == [*space.names, "chi2", "status", "round"]
    np.testing.assert_array_equal(csv[list(space.names)].to_numpy(), ds.theta)

    # nothing changed: nothing reruns
    proc = run_snakemake(tmp_path, analytic_config, "-n", "--cores", "1")
    assert "Nothing to be done" in proc.stdout + proc.stderr

    # another chunking reruns the evaluation jobs, but the cache answers every point
    spec = OracleSpec.from_config({**cfg, "oracle": {"options": {}, "plugin": None, **cfg["oracle"]}})
    cache = EvaluationCache(res / "cache", spec.identity_hash())
    assert len(cache) == n
    other = write_config(tmp_path / "rechunked.yaml", analytic_config, evaluation={"chunk_size": 7})
    run_snakemake(tmp_path, other, "--cores", "2")
    again = EvaluationTable.read(res / "dataset.h5")
    assert len(cache) == n
    assert sum(EvaluationTable.read(p).cached.sum() for p in (res / "rounds" / "0" / "evaluated").glob("*.h5")) == n
    np.testing.assert_array_equal(again.chi2, ds.chi2)
