"""Does active learning find every well, mirror image or not? Exploration on (the defaults)
against off (exploration_share 0, trust regions opened only within trust_region_delta, as before
exploration existed) and a Latin hypercube of the same number of calls, in one run.

Problems (globalfit.oracles.exact): ``mirror`` = two_wells(d, share 0.5) (equal wells at ±1.5 e0),
``unequal`` = unequal_wells(d) (a narrow deep well and a wide shallow one, unrelated). Design
10 d points, then ``--rounds`` × ``--batch``. Per seed and setting it prints the points within
Δχ² < 10 of the true minimum in each well (A = the first centre), the best Δχ² in each, and
whether each well had an in-region design point; then per cell the number of seeds whose both
wells got ≥ 5 in-region points.

    .venv/bin/python benchmarks/exploration.py [--dims 2,4,6] [--seeds 0,1,2] [--rounds 8]
"""

import argparse
import time

import numpy as np

from globalfit.active_learning import run_active_learning
from globalfit.design import latin_hypercube
from globalfit.levels import HIT, REGION
from globalfit.oracles.exact import two_wells, unequal_wells
from globalfit.space import ParameterSpace

SETTINGS = {
    "on": {},
    "off": {"exploration_share": 0.0, "trust_region_open": HIT},
}


def _wells(theta, chi2, problem, floor):
    near = np.argmin(np.linalg.norm(theta[:, None] - problem.centres, axis=2), axis=1)
    good = chi2 - floor < REGION
    counts = [int(np.sum(good & (near == k))) for k in (0, 1)]
    best = [float(chi2[near == k].min() - floor) if np.any(near == k) else np.inf for k in (0, 1)]
    return counts, best, good, near


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dims", default="2,4,6")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--problems", default="mirror,unequal")
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--batch", type=int, default=16)
    a = ap.parse_args()
    seeds = [int(s) for s in a.seeds.split(",")]
    summary = []
    print(
        f"{'problem':8} {'d':>2} {'seed':>4} {'setting':7} {'in A':>5} {'in B':>5} "
        f"{'best dA':>8} {'best dB':>8} {'design A/B':>10} {'calls':>5} {'s':>5}"
    )
    for name in a.problems.split(","):
        for d in (int(v) for v in a.dims.split(",")):
            problem = two_wells(d, share=0.5) if name == "mirror" else unequal_wells(d)
            h = problem.half_width
            space = ParameterSpace(tuple(f"x{i}" for i in range(d)), np.full(d, -h), np.full(d, h))
            floor = float(problem.chi2(problem.centres).min())
            n0 = 10 * d
            cells = {s: 0 for s in [*SETTINGS, "hypercube"]}
            for seed in seeds:
                for setting, kw in SETTINGS.items():
                    t = time.perf_counter()
                    r = run_active_learning(problem.chi2, space, n0, a.rounds, a.batch, seed, **kw)
                    counts, best, good, near = _wells(r["theta"], r["chi2"], problem, floor)
                    design = [bool(np.any(good[:n0] & (near[:n0] == k))) for k in (0, 1)]
                    cells[setting] += min(counts) >= 5
                    print(
                        f"{name:8} {d:2d} {seed:4d} {setting:7} {counts[0]:5d} {counts[1]:5d} "
                        f"{best[0]:8.2f} {best[1]:8.2f} {design[0]!s:>5}/{design[1]!s:5} "
                        f"{len(r['chi2']):5d} {time.perf_counter() - t:5.0f}",
                        flush=True,
                    )
                n = n0 + a.rounds * a.batch
                theta = latin_hypercube(space, n, seed + 1000)
                counts, best, _, _ = _wells(theta, problem.chi2(theta), problem, floor)
                cells["hypercube"] += min(counts) >= 5
                print(
                    f"{name:8} {d:2d} {seed:4d} {'lhs':7} {counts[0]:5d} {counts[1]:5d} "
                    f"{best[0]:8.2f} {best[1]:8.2f} {'':>10} {n:5d}",
                    flush=True,
                )
            summary.append((name, d, cells))
    print(f"\nseeds (of {len(seeds)}) with >= 5 points within dchi2 < 10 in both wells")
    print(f"{'problem':8} {'d':>2} " + " ".join(f"{k:>9}" for k in [*SETTINGS, "hypercube"]))
    for name, d, cells in summary:
        print(f"{name:8} {d:2d} " + " ".join(f"{v:9d}" for v in cells.values()))


if __name__ == "__main__":
    main()
