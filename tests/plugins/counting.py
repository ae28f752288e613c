"""A plug-in oracle that records every call, to count oracle evaluations across processes.

χ² = 10 + 20 |θ - 0.3|²; each finished call appends one line (the θ bytes in hex) to ``log``
with O_APPEND, so concurrent jobs never interleave lines.

``kill_after`` > 0 with a ``marker`` path kills the job once, as a node failure or SLURM's time
limit would: the first process to start its (kill_after + 1)-th call creates the marker and
cancels its SLURM job (``scancel``; outside SLURM it SIGKILLs the chunk process). Every later
process finds the marker and runs normally.
"""

import os
import signal
import subprocess
import time

import numpy as np

_calls = 0


def _kill_job_once(marker):
    try:
        os.close(os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
    except FileExistsError:
        return
    env = os.environ
    # an array task is named <array id>_<task id>; its SLURM_JOB_ID may not cancel it
    task = "_".join(env[k] for k in ("SLURM_ARRAY_JOB_ID", "SLURM_ARRAY_TASK_ID") if k in env)
    if job := (task if "_" in task else env.get("SLURM_JOB_ID")):
        subprocess.run(["scancel", job], check=False)
        time.sleep(30)  # SLURM kills the job meanwhile
    os.kill(os.getppid(), signal.SIGKILL)
    os._exit(1)


def chi2(theta, log, delay=0.0, kill_after=0, marker=None):
    global _calls
    if kill_after and marker and _calls >= kill_after:
        _kill_job_once(marker)
    _calls += 1
    theta = np.asarray(theta, dtype="<f8")
    if delay:
        time.sleep(delay)
    value = 10.0 + 20.0 * float(np.sum((theta - 0.3) ** 2))
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (theta.tobytes().hex() + "\n").encode())
    finally:
        os.close(fd)
    return value
