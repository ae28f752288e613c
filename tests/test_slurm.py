"""A real SLURM run of a small analytic config through profiles/slurm.

Needs a running local SLURM (`tools/slurm-local start`, as root). Skipped when there is none,
unless GLOBALFIT_REQUIRE_SLURM=1 (as .ci/run sets), where a missing SLURM is a failure.
"""

import os
import re
import shutil
import subprocess

import numpy as np
import pytest
import yaml

from conftest import ROOT, run_snakemake, tiny_analytic
from globalfit.evaluation import EvaluationTable

pytestmark = [pytest.mark.slurm, pytest.mark.workflow]
ARRAY = re.compile(r"Submitted array job with Snakemake IDs ([\d,]+) and SLURM job ID")


def slurm_idle() -> bool:
    if not shutil.which("sinfo"):
        return False
    proc = subprocess.run(
        ["sinfo", "-h", "-N", "-o", "%T"], capture_output=True, text=True, timeout=30
    )
    return proc.returncode == 0 and "idle" in proc.stdout


def squeue_rows(fmt: str) -> list[str]:
    """Every job SLURM still remembers (MinJobAge keeps finished ones), in squeue's format."""
    proc = subprocess.run(
        ["squeue", "-h", "-t", "all", "-o", fmt], capture_output=True, text=True, timeout=30
    )
    return proc.stdout.split()


@pytest.fixture
def slurm():
    if not slurm_idle():
        if os.environ.get("GLOBALFIT_REQUIRE_SLURM") == "1":
            pytest.fail(
                "GLOBALFIT_REQUIRE_SLURM=1 but no idle local SLURM node (run tools/slurm-local "
                "start)"
            )
        pytest.skip("no local SLURM (tools/slurm-local start)")


def test_analytic_fit_through_slurm_in_arrays_with_a_killed_chunk_retried(slurm, tmp_path):
    """Chunks go to SLURM as job arrays; one chunk job is cancelled mid-chunk (scancel, as a node
    failure would) and resubmitted, and no point is evaluated twice."""
    calls, marker = tmp_path / "calls.log", tmp_path / "killed"
    cfg = tiny_analytic(
        name="plugin",
        plugin="counting:chi2",
        options={"log": str(calls), "kill_after": 4, "marker": str(marker)},
    )
    cfg["name"] = "slurm_counting"
    config = tmp_path / "slurm.yaml"
    config.write_text(yaml.safe_dump(cfg))
    # `timeout -k` because a Snakemake waiting on a broken status command ignores SIGTERM. A short
    # latency wait: when the killed chunk is an array's first task, the array's other tasks wait
    # that long for its outputs before they fail and are resubmitted (profiles/slurm/config.yaml)
    profile = str(ROOT / "profiles" / "slurm")
    proc = run_snakemake(
        tmp_path, config, "--profile", profile, "--latency-wait", "10", timeout=1200
    )
    log = proc.stdout + proc.stderr
    assert marker.exists(), "no chunk job was killed"

    arrays = [m.group(1).split(",") for m in ARRAY.finditer(log)]
    single = [line for line in log.splitlines() if "has been submitted with SLURM jobid" in line]
    n_chunks = len(list((tmp_path / "results").glob("*/**/evaluated/*.h5")))
    assert arrays and max(map(len, arrays)) >= 4, log[-3000:]  # the design's chunks, one sbatch
    restarts = log.count("Trying to restart job")
    assert "CANCELLED" in log and restarts >= 1, log[-3000:]
    single_chunks = sum("rule_evaluate_chunk" in line for line in single)
    assert sum(map(len, arrays)) + single_chunks == n_chunks + restarts, log[-3000:]
    assert any("rule_propose" in line for line in single) and any(
        "rule_sample" in line for line in single
    )
    # a resubmitted chunk gets twice the time limit: setup + chunk_size x timeout, + 1 minute
    e = cfg["evaluation"]
    first = -(-(e["setup_timeout"] + e["chunk_size"] * e["timeout"]) // 60) + 1
    limits = {
        limit
        for comment, limit in (row.split("|") for row in squeue_rows("%k|%l"))
        if comment.startswith("rule_evaluate_chunk")
    }
    assert {f"{first}:00", f"{2 * first}:00"} <= limits, limits

    # every point evaluated once, the killed chunk's finished points never again
    lines = calls.read_text().split()
    assert len(lines) == len(set(lines))
    ds = EvaluationTable.read(tmp_path / "results" / "dataset.h5")
    assert {r.tobytes().hex() for r in np.asarray(ds.theta, dtype="<f8")} <= set(lines)

    # the same fit as an uninterrupted local run (the marker is there: nothing is killed)
    cfg["oracle"]["options"]["log"] = str(tmp_path / "local_calls.log")
    local_config = tmp_path / "local.yaml"
    local_config.write_text(yaml.safe_dump(cfg))
    local = tmp_path / "local"
    run_snakemake(local, local_config, "--cores", "2")
    same = EvaluationTable.read(local / "results" / "dataset.h5")
    np.testing.assert_array_equal(ds.theta, same.theta)
    np.testing.assert_array_equal(ds.chi2, same.chi2)
