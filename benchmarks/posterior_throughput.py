"""Benchmark: independent posterior samples per second per core on a compiled bundle, side by
side in one run: emcee (DE and stretch moves at 64, 256 and 1024 walkers), the nested sampler
(nautilus, at the workflow's n_eff and at the n_eff that gives σ(ln Z) = 0.1), nautilus followed
by importance sampling from a mixture fitted to its posterior (the workflow's default, and a
long run), and the lecture notes' per-point call.

    python benchmarks/posterior_throughput.py [--bundle results/surrogate] [--steps 3000]
        [--draws 6000000] [--nested-only]

Figure of merit: the worst parameter's bulk ESS (arviz ``ess_bulk`` over the walkers, after
the workflow's burn-in) per second of wall time, start-up included; for nautilus, its effective
sample size (Kish) per second; for importance sampling, Kish's ESS of its independent draws per
second of nautilus plus importance sampling. One core: BLAS and OpenMP are pinned to one
thread. The prior and the likelihood are the workflow's (config/config.yaml's priors,
classifier-weighted χ², zero likelihood outside the classifier's region for the nested sampler).
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
from globalfit.inference import (  # noqa: E402
    MixtureProposal,
    Posterior,
    Prior,
    importance_sample,
    run_emcee,
    sample_nested,
)
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


class TimedChi2:
    """A χ² that counts the points reaching it and the seconds spent in it (the trees)."""

    def __init__(self, chi2):
        self.chi2, self.points, self.seconds = chi2, 0, 0.0

    def __call__(self, x):
        t0 = time.perf_counter()
        out = self.chi2(x)
        self.seconds += time.perf_counter() - t0
        self.points += len(x)
        return out


def emcee_row(chi2, prior, space, starts, walkers, moves, steps, seed):
    timed = TimedChi2(chi2)
    log_post = LogPosterior(timed, prior)
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
        # proposals outside the box are rejected by the prior without calling the trees
        "in_box": timed.points / (walkers * steps),
        "trees_share": timed.seconds / wall,
        "us_per_tree_point": 1e6 * timed.seconds / max(timed.points, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bundle", default="results/surrogate")
    ap.add_argument("--config", default="config/config.yaml")
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--draws", type=int, default=6_000_000, help="the long importance run")
    ap.add_argument("--nested-only", action="store_true", help="skip the emcee rows")
    args = ap.parse_args()

    cfg = C.validate_schema(C.load(args.config))
    space = ParameterSpace.from_config(cfg["parameters"])
    prior = Prior.from_config(cfg["parameters"], space)
    sur = Surrogate.load(args.bundle, backend="compiled")
    weighted = cfg["inference"]["classifier_weighted"]
    chi2 = partial(sur.predict_chi2_inside, classifier_weighted=weighted)
    rows = {}

    def nested_row(**settings):
        t0 = time.perf_counter()
        r = sample_nested(
            partial(chi2, outside=np.inf),
            prior,
            seed=args.seed,
            **{**cfg["inference"]["nested"], **settings},
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

    nested, rows["nautilus (workflow settings)"] = nested_row()
    _, rows["nautilus (n_eff 100: σ ln Z = 0.1)"] = nested_row(n_eff=100)
    quick, rows["nautilus (300 live, n_eff 2000)"] = nested_row(n_live=300, n_eff=2000)

    def importance_row(first, n_draws):
        t0 = time.perf_counter()
        settings = C.section_kwargs(cfg["inference"]["importance_sampling"], MixtureProposal.fit)
        proposal = MixtureProposal.fit(first.posterior(), space, seed=args.seed, **settings)
        r = importance_sample(
            lambda x: -0.5 * chi2(x, outside=np.inf), prior, proposal, n_draws=n_draws, seed=0
        )
        wall = first.seconds + time.perf_counter() - t0
        return {
            "wall_s": wall,
            "evals_per_s": (first.n_calls + r.n_calls) / wall,
            "ess": r.n_eff,
            "ess_per_s": r.n_eff / wall,
            "log_z": f"{r.log_z:.3f} ± {r.log_z_err:.3f} (k̂ {r.pareto_k:.2f})",
        }

    workflow_draws = cfg["inference"]["importance_sampling"]["n_draws"]
    rows[f"nautilus + importance ({workflow_draws:.0e} draws)"] = importance_row(
        nested, workflow_draws
    )
    rows[f"nautilus 300/2000 + importance ({args.draws:.0e})"] = importance_row(quick, args.draws)

    post = Posterior(space.names, nested.samples, nested.weights, "nautilus")
    for moves in () if args.nested_only else ("de", "stretch"):
        for walkers in (64, 256, 1024):
            starts = post.equal_weight(walkers, seed=args.seed)
            steps = max(200, args.steps * 64 // walkers)
            rows[f"emcee {moves} {walkers} walkers"] = emcee_row(
                chi2, prior, space, starts, walkers, moves, steps, args.seed
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
    if args.nested_only:
        return
    print(
        "\nwhere emcee's time goes (per walker-step, all proposals; the trees see only those "
        "inside the box)"
    )
    print(f"{'sampler':40s} {'µs/step':>8s} {'in box':>7s} {'trees':>6s} {'µs/tree pt':>10s}")
    for name, r in rows.items():
        if "in_box" in r:
            print(
                f"{name:40s} {1e6 / r['evals_per_s']:8.2f} {r['in_box']:7.1%} "
                f"{r['trees_share']:6.1%} {r['us_per_tree_point']:10.2f}"
            )


if __name__ == "__main__":
    main()
