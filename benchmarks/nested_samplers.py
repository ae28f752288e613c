"""Benchmark: nested samplers on problems with exact answers, side by side in one run — the
evidence of a correlated Gaussian (closed form) and the masses of two separated wells (exact
0.57 / 0.43), d = 6, as in the workflow's box shape. Why the workflow uses nautilus.

    python benchmarks/nested_samplers.py [--dim 6] [--seeds 2]

nautilus runs through globalfit.inference.sample_nested (the workflow's call, vectorised);
dynesty (static, multi-ellipsoid bounds, 'unif' and 'rwalk' sampling, 500 live points, dlogz =
0.01) calls the same χ² point by point with the same unit-cube prior. Columns: ln Z minus the
exact value, the sampler's own error estimate, the heavier well's mass minus 0.57, likelihood
calls and wall seconds (one core).
"""

from __future__ import annotations

import argparse
import math
import os
import time

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

from globalfit.inference import Prior, UnitCubePrior, sample_nested  # noqa: E402
from globalfit.oracles.exact import correlated_gaussian, two_wells  # noqa: E402


def problems(d: int):
    gauss, wells = correlated_gaussian(d), two_wells(d)
    return {
        "correlated Gaussian": (gauss.chi2, gauss.log_z),
        "two wells": (wells.chi2, wells.log_z),
    }


def run_nautilus(chi2, prior, seed):
    r = sample_nested(chi2, prior, seed=seed)
    return r.log_z, r.log_z_err, r.samples, r.weights, r.n_calls


def run_dynesty(chi2, prior, seed, sample):
    import dynesty

    cube = UnitCubePrior(prior)
    calls = [0]

    def log_l(x):
        calls[0] += 1
        return float(-0.5 * chi2(x[None, :])[0])

    s = dynesty.NestedSampler(
        log_l,
        cube.transform,
        prior.space.dim,
        nlive=500,
        bound="multi",
        sample=sample,
        rstate=np.random.default_rng(seed),
    )
    s.run_nested(dlogz=0.01, print_progress=False)
    r = s.results
    w = np.exp(r.logwt - r.logz[-1])
    return r.logz[-1], r.logzerr[-1], r.samples, w / w.sum(), calls[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dim", type=int, default=6)
    ap.add_argument("--seeds", type=int, default=2)
    args = ap.parse_args()
    d = args.dim
    prior = Prior.from_config(
        [{"name": f"x{i}", "lower": -3, "upper": 3, "prior": {"type": "uniform"}} for i in range(d)]
    )
    samplers = {
        "nautilus (workflow defaults)": run_nautilus,
        "dynesty unif": lambda c, p, s: run_dynesty(c, p, s, "unif"),
        "dynesty rwalk": lambda c, p, s: run_dynesty(c, p, s, "rwalk"),
    }
    print(f"d = {d}; box [-3, 3]^d, uniform prior\n")
    header = f"{'problem':20s} {'sampler':30s} {'seed':>4s} {'lnZ-exact':>10s} {'sigma':>7s}"
    print(header + f" {'mass-0.57':>10s} {'calls':>9s} {'wall s':>7s}")
    for pname, (chi2, exact) in problems(d).items():
        for sname, run in samplers.items():
            for seed in range(args.seeds):
                t0 = time.perf_counter()
                log_z, err, x, w, calls = run(chi2, prior, seed)
                wall = time.perf_counter() - t0
                mass = float(w[x[:, 0] > 0].sum()) - 0.57 if pname == "two wells" else math.nan
                print(
                    f"{pname:20s} {sname:30s} {seed:4d} {log_z - exact:+10.3f} {err:7.3f} "
                    f"{mass:+10.3f} {calls:9d} {wall:7.1f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
