"""Benchmark: independent posterior samples per second per core on a compiled bundle, side by
side in one run: emcee (DE and stretch moves at 64, 256 and 1024 walkers), the nested sampler
(nautilus, at the workflow's n_eff and at the n_eff that gives σ(ln Z) = 0.1), and the lecture
notes' per-point call.

    python benchmarks/posterior_throughput.py [--bundle results/surrogate] [--steps 3000]

Figure of merit: the worst parameter's bulk ESS (arviz ``ess_bulk`` over the walkers, after
the workflow's burn-in) per second of wall time, start-up included; for nautilus, its effective
sample size (Kish) per second. One core: BLAS and OpenMP are pinned to one thread. The prior and
the likelihood are the workflow's (config/config.yaml's priors, classifier-weighted χ², zero
likelihood outside the classifier's region for the nested sampler).
"""

from __future__ import annotations

import argparse
import os
import time
from functools import partial

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import arviz  # noqa: E402
import numpy as np  # noqa: E402

from globalfit import config as C  # noqa: E402
from globalfit.inference import Posterior, Prior, run_emcee, sample_nested  # noqa: E402
from globalfit.inference.priors import LogPosterior  # noqa: E402
from globalfit.space import ParameterSpace  # noqa: E402
from globalfit.surrogate import Surrogate  # noqa: E402


def worst_bulk_ess(result) -> float:
    chain = result.chain[result.burn :]  # (steps, walkers, d)
    return float(
        min(
            arviz.ess(np.ascontiguousarray(chain[:, :, j].T), method="bulk")
            for j in range(chain.shape[2])
        )
    )


def emcee_row(log_post, space, starts, walkers, moves, steps, seed):
    t0 = time.perf_counter()
    r = run_emcee(
        log_post,
        space,
        starts,
        n_walkers=walkers,
        n_steps=steps,
        seed=seed,
        moves=moves,
        on_unconverged="warn",
        progress_every=2.0,
    )
    wall = time.perf_counter() - t0
    ess = worst_bulk_ess(r)
    return {
        "wall_s": wall,
        "evals_per_s": walkers * steps / wall,
        "ess": ess,
        "ess_per_s": ess / wall,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bundle", default="results/surrogate")
    ap.add_argument("--config", default="config/config.yaml")
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    cfg = C.validate_schema(C.load(args.config))
    space = ParameterSpace.from_config(cfg["parameters"])
    prior = Prior.from_config(cfg["parameters"], space)
    sur = Surrogate.load(args.bundle, backend="compiled")
    weighted = cfg["inference"]["classifier_weighted"]
    chi2 = partial(sur.predict_chi2_inside, classifier_weighted=weighted)
    rows = {}

    def nested_row(n_eff):
        t0 = time.perf_counter()
        r = sample_nested(
            partial(chi2, outside=np.inf),
            prior,
            seed=args.seed,
            **{**cfg["inference"]["nested"], "n_eff": n_eff},
        )
        wall = time.perf_counter() - t0
        row = {
            "wall_s": wall,
            "evals_per_s": r.n_calls / wall,
            "ess": r.n_eff,
            "ess_per_s": r.n_eff / wall,
            "log_z": f"{r.log_z:.3f} ± {r.log_z_err:.3f}",
        }
        return r, row

    nested, rows["nautilus (workflow n_eff)"] = nested_row(cfg["inference"]["nested"]["n_eff"])
    _, rows["nautilus (σ ln Z = 0.1)"] = nested_row(100)

    post = Posterior(space.names, nested.samples, nested.weights, "nautilus")
    log_post = LogPosterior(chi2, prior)
    for moves in ("de", "stretch"):
        for walkers in (64, 256, 1024):
            starts = post.equal_weight(walkers, seed=args.seed)
            steps = max(200, args.steps * 64 // walkers)
            rows[f"emcee {moves} {walkers} walkers"] = emcee_row(
                log_post, space, starts, walkers, moves, steps, args.seed
            )

    # the notes' call: one DMatrix per point, emcee not vectorised (a short run: its rate only)
    import emcee
    import xgboost as xgb

    reference = Surrogate.load(args.bundle, backend="xgboost", nthread=1)
    booster = reference.regressor_booster_
    booster.set_param({"nthread": 1})

    def per_point(x):
        lp = prior.log_prior(x[None, :])[0]
        if not np.isfinite(lp):
            return -np.inf
        return -0.5 * float(booster.predict(xgb.DMatrix(reference.features_of(x[None, :])))[0]) + lp

    starts = post.equal_weight(64, seed=args.seed)
    sampler = emcee.EnsembleSampler(64, space.dim, per_point)
    t0 = time.perf_counter()
    sampler.run_mcmc(starts, 30)
    wall = time.perf_counter() - t0
    rows["notes: xgboost per point (rate only)"] = {"wall_s": wall, "evals_per_s": 64 * 30 / wall}

    print(f"bundle {args.bundle}; one core; worst-parameter bulk ESS per second of wall time\n")
    print(f"{'sampler':40s} {'wall s':>8s} {'evals/s':>10s} {'ESS':>9s} {'ESS/s':>9s}  ln Z")
    for name, r in rows.items():
        print(
            f"{name:40s} {r['wall_s']:8.1f} {r['evals_per_s']:10.3g} "
            f"{r.get('ess', float('nan')):9.0f} {r.get('ess_per_s', float('nan')):9.1f}  "
            f"{r.get('log_z', '')}"
        )


if __name__ == "__main__":
    main()
