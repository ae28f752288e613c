"""Parallel efficiency of the evaluation fan-out with the real ALP oracle.

Runs the design + evaluation part of the workflow on 32 ALP points in chunks of 16 (two jobs),
once with --cores 1 and once with --cores 2, each in a fresh directory with an empty cache, and
prints the wall times and the efficiency T1 / (2 T2) (target >= 0.9 for chunks of >= 16 points).

    .venv/bin/python benchmarks/evaluation_parallel.py [--points 32] [--chunk 16]
"""

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def run(cores: int, points: int, chunk: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        cfg = yaml.safe_load(open(ROOT / "config" / "config.yaml"))
        cfg["design"] = {"n_initial": points, "seed": 11}
        cfg["evaluation"]["chunk_size"] = chunk
        cfg["active_learning"] = {"rounds": 0}
        path = Path(tmp) / "bench.yaml"
        path.write_text(yaml.safe_dump(cfg))
        target = f"{cfg.get('results', 'results')}/rounds/0/dataset.h5"
        cmd = [
            str(Path(sys.executable).parent / "snakemake"),
            "-s",
            str(ROOT / "Snakefile"),
            "--directory",
            tmp,
            "--configfile",
            str(path),
            "--cores",
            str(cores),
            "--quiet",
            "all",
            "--",
            target,
        ]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--points", type=int, default=32)
    ap.add_argument("--chunk", type=int, default=16)
    a = ap.parse_args()
    t1 = run(1, a.points, a.chunk)
    print(
        f"--cores 1: {t1:7.1f} s  ({t1 / a.points:.2f} s per point, start-up included)", flush=True
    )
    t2 = run(2, a.points, a.chunk)
    print(f"--cores 2: {t2:7.1f} s", flush=True)
    print(
        f"speed-up {t1 / t2:.2f}x, parallel efficiency T1/(2 T2) = {t1 / (2 * t2):.1%} (target >= "
        "90%)"
    )


if __name__ == "__main__":
    main()
