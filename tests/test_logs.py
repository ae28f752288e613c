"""Job output on a machine without a GPU: TensorFlow's CUDA probing is dropped, nothing else."""

import subprocess
import sys
import textwrap

import pytest

from globalfit.logs import has_nvidia_gpu

CHILD = textwrap.dedent(
    """
    import os, warnings
    from globalfit.logs import CUDA_PROBING, without_lines
    from globalfit.active_learning.gp import _gpflow

    os.write(2, b"before the block\\n")
    with without_lines(CUDA_PROBING):
        os.write(2, b"E0000 cuda_platform.cc:52] failed call to cuInit: UNKNOWN ERROR (303)\\n")
        os.write(2, b"W0000 injected.cc:1] an injected C++ warning\\n")
        warnings.warn("an injected Python warning")
    tf, gpflow = _gpflow()  # the real import, as a propose job does it
    warnings.warn("a warning after TensorFlow")
    print(len(tf.config.list_physical_devices("CPU")))
    """
)


@pytest.mark.skipif(has_nvidia_gpu(), reason="CUDA messages are kept where there is a GPU")
def test_cuda_probing_is_dropped_and_other_warnings_are_kept():
    proc = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    err = proc.stderr
    assert "cuInit" not in err and "cuda drivers" not in err, err
    for kept in (
        "before the block",
        "an injected C++ warning",
        "an injected Python warning",
        "a warning after TensorFlow",
    ):
        assert kept in err, err
    assert err.index("before the block") < err.index("an injected C++ warning")
    assert proc.stdout.strip() == "1"


@pytest.mark.workflow
@pytest.mark.skipif(has_nvidia_gpu(), reason="CUDA messages are kept where there is a GPU")
def test_the_analytic_runs_job_output_has_no_cuda_probing(finished_run):
    output = (finished_run / "snakemake_output.txt").read_text()
    assert "rule propose" in output  # jobs that import TensorFlow ran
    assert "cuInit" not in output and "Could not find cuda drivers" not in output
