"""Scheduling overhead of the evaluation fan-out, locally and through SLURM.

An analytic oracle with an artificial cost of 1 s per point, 64 points in 16 chunks of 4 (round 0
only). Prints the wall time with --cores 1 and --cores 2 (the speed-up, ideally 2), and, when a
SLURM is up (tools/slurm-local start), the time through profiles/slurm and the overhead per job
relative to the local 2-core run.

    .venv/bin/python benchmarks/workflow_overhead.py [--no-slurm]
"""

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CONFIG = {
    "name": "overhead",
    "parameters": [
        {"name": "a", "lower": 0.0, "upper": 1.0},
        {"name": "b", "lower": 0.0, "upper": 1.0},
    ],
    "oracle": {"name": "bowl", "options": {"delay": 1.0}},
    "design": {"n_initial": 64, "seed": 1},
    "evaluation": {"chunk_size": 4, "timeout": 30, "setup_timeout": 120},
    "active_learning": {"rounds": 0},
}
TARGET = "results/rounds/0/dataset.h5"


def run(*args) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "c.yaml"
        path.write_text(yaml.safe_dump(CONFIG))
        cmd = [
            "timeout",
            "-k",
            "30",
            "900",
            str(Path(sys.executable).parent / "snakemake"),
            "-s",
            str(ROOT / "Snakefile"),
            "--directory",
            tmp,
            "--configfile",
            str(path),
            "--quiet",
            "all",
            *args,
            TARGET,
        ]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--no-slurm", action="store_true")
    a = ap.parse_args()
    n_jobs = CONFIG["design"]["n_initial"] // CONFIG["evaluation"]["chunk_size"]
    ideal = CONFIG["design"]["n_initial"] * CONFIG["oracle"]["options"]["delay"]
    t1 = run("--cores", "1")
    print(f"--cores 1: {t1:6.1f} s (oracle alone: {ideal:.0f} s)", flush=True)
    t2 = run("--cores", "2")
    print(f"--cores 2: {t2:6.1f} s; speed-up {t1 / t2:.2f}x (ideal 2)", flush=True)
    if a.no_slurm or not shutil.which("sbatch"):
        print("SLURM: skipped")
        return
    ts = run("--profile", str(ROOT / "profiles" / "slurm"))
    print(
        f"SLURM:     {ts:6.1f} s for {n_jobs} evaluation jobs (+1 design, +1 gather run locally); "
        f"overhead per job vs --cores 2: {(ts - t2) / n_jobs:.1f} s"
    )


if __name__ == "__main__":
    main()
