"""A real SLURM run of a small analytic config through profiles/slurm.

Needs a running local SLURM (`tools/slurm-local start`, as root). Skipped when there is none,
unless GLOBALFIT_REQUIRE_SLURM=1 (as .ci/run sets), where a missing SLURM is a failure.
"""

import os
import shutil
import subprocess

import numpy as np
import pytest

from conftest import ROOT, run_snakemake
from globalfit.evaluation import EvaluationTable

pytestmark = [pytest.mark.slurm, pytest.mark.workflow]


def slurm_idle() -> bool:
    if not shutil.which("sinfo"):
        return False
    proc = subprocess.run(
        ["sinfo", "-h", "-N", "-o", "%T"], capture_output=True, text=True, timeout=30
    )
    return proc.returncode == 0 and "idle" in proc.stdout


@pytest.fixture
def slurm():
    if not slurm_idle():
        if os.environ.get("GLOBALFIT_REQUIRE_SLURM") == "1":
            pytest.fail(
                "GLOBALFIT_REQUIRE_SLURM=1 but no idle local SLURM node (run tools/slurm-local "
                "start)"
            )
        pytest.skip("no local SLURM (tools/slurm-local start)")


def test_analytic_fit_through_slurm(slurm, tmp_path, analytic_config):
    # `timeout -k` because a Snakemake waiting on a broken status command ignores SIGTERM
    proc = run_snakemake(
        tmp_path, analytic_config, "--profile", str(ROOT / "profiles" / "slurm"), timeout=900
    )
    log = proc.stdout + proc.stderr
    submitted = [line for line in log.splitlines() if "has been submitted with SLURM jobid" in line]
    n_chunks = len(list((tmp_path / "results").glob("*/**/evaluated/*.h5")))
    assert n_chunks >= 4
    assert sum("rule_evaluate_chunk" in line for line in submitted) == n_chunks, log[-3000:]
    assert any("rule_propose" in line for line in submitted) and any(
        "rule_sample" in line for line in submitted
    )
    ds = EvaluationTable.read(tmp_path / "results" / "dataset.h5")
    local = tmp_path / "local"
    run_snakemake(local, analytic_config, "--cores", "2")
    same = EvaluationTable.read(local / "results" / "dataset.h5")
    np.testing.assert_array_equal(ds.theta, same.theta)
    np.testing.assert_array_equal(ds.chi2, same.chi2)
