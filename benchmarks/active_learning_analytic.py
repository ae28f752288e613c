"""Benchmark: GP active learning vs a Latin hypercube of the same size on a multimodal function.

twin_wells in d = 6 (width 0.08: the region Δχ² < 2.3 fills ~2e-5 of the box, so a hypercube
of a few hundred points rarely lands in it), shaped like the default ALP run: 300
hypercube points + 8 rounds × 32. Prints, per seed and in total, the share of evaluated points
with Δχ² < 2.3 (relative to the known minimum) and the best Δχ², active learning vs hypercube, as
ratios, and the proposal CPU seconds per round.

    python benchmarks/active_learning_analytic.py [--seeds 0 1 2] [--dim 6]
"""

from __future__ import annotations

import argparse
import os
import time

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

from globalfit.active_learning import run_active_learning  # noqa: E402
from globalfit.design import latin_hypercube  # noqa: E402
from globalfit.oracles.analytic import AnalyticFunction  # noqa: E402
from globalfit.space import ParameterSpace  # noqa: E402

ORACLE_SECONDS_PER_POINT = 3.0  # the real ALP χ², for the proposal-cost budget


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dim", type=int, default=6)
    ap.add_argument("--width", type=float, default=0.08, help="well width in unit-cube units")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--n-initial", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument(
        "--local-share",
        type=float,
        default=None,
        help="BatchProposer local_share (default: its default)",
    )
    args = ap.parse_args()
    extra = {} if args.local_share is None else {"local_share": args.local_share}

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)

    d = args.dim
    space = ParameterSpace(tuple(f"x{i}" for i in range(d)), np.full(d, -3.0), np.full(d, 3.0))
    f = AnalyticFunction("twin_wells", space, {"width": args.width})
    chi2_min = f.minima()[0][1]
    n_total = args.n_initial + args.rounds * args.batch
    mc = f.chi2(space.from_unit(np.random.default_rng(123).random((1_000_000, d))))
    print(
        f"twin_wells d={d}, options {f.opts}: known minimum χ² = {chi2_min}; {args.n_initial} LHS "
        f"+ {args.rounds} × {args.batch} = {n_total} points"
    )
    print(
        f"expected share of a uniform design with Δχ² < 2.3: {np.mean(mc - chi2_min < 2.3):.2e} "
        "(1e6-point Monte Carlo)"
    )
    print()
    header = (
        f"{'seed':>4} {'share<2.3 AL':>13} {'LHS':>8} {'ratio':>7} {'best Δχ² AL':>12} {'LHS':>8} "
        f"{'ratio':>8} {'best χ² ratio':>14} {'prop CPU-s/round':>17} {'wall s':>7}"
    )
    print(header)
    totals = {"al_low": 0, "lhs_low": 0, "n": 0}
    cpu_rounds = []
    for seed in args.seeds:
        t0 = time.perf_counter()
        res = run_active_learning(
            f.chi2,
            space,
            args.n_initial,
            args.rounds,
            args.batch,
            seed,
            chi2_min_reference=chi2_min,
            **extra,
        )
        wall = time.perf_counter() - t0
        lhs = f.chi2(latin_hypercube(space, n_total, seed + 1000))
        al_low = int(np.sum(res["chi2"] - chi2_min < 2.3))
        lhs_low = int(np.sum(lhs - chi2_min < 2.3))
        totals["al_low"] += al_low
        totals["lhs_low"] += lhs_low
        totals["n"] += n_total
        best_al, best_lhs = res["chi2"].min() - chi2_min, lhs.min() - chi2_min
        # the first round in a process also pays the TensorFlow import; report rounds 2.. apart
        cpu = [i["cpu_seconds"] for i in res["infos"]]
        cpu_rounds.extend(cpu)
        share_ratio = (al_low / max(lhs_low, 1)) if lhs_low else float("inf")
        print(
            f"{seed:>4} {al_low / n_total:>13.4f} {lhs_low / n_total:>8.4f} {share_ratio:>7.1f} "
            f"{best_al:>12.4f} {best_lhs:>8.3f} {best_al / best_lhs:>8.4f} "
            f"{(chi2_min + best_al) / (chi2_min + best_lhs):>14.4f} "
            f"{np.mean(cpu):>17.2f} {wall:>7.1f}"
        )
        print(
            f"     per-round proposal CPU-s (fit+propose): {' '.join(f'{c:.2f}' for c in cpu)}; "
            f"TF import in this process: {res['infos'][0]['cpu_seconds_import']:.2f}"
        )
        print(
            "     per-round share of the batch with Δχ² < 2.3: "
            + " ".join(f"{r['frac_dchi2_below_2_3']:.2f}" for r in res["diagnostics"])
        )
        low = res["chi2"] - chi2_min < 2.3
        u0 = space.to_unit(res["theta"])[:, 0]
        print(
            "     AL points with Δχ² < 2.3 near the global / the second minimum: "
            f"{np.sum(low & (u0 < 0.5))} / {np.sum(low & (u0 >= 0.5))}"
        )
        print(
            "     per-round GP out-of-sample RMSE (target units): "
            + " ".join(f"{r['gp_rmse']:.2f}" for r in res["diagnostics"])
        )
    print()
    n = totals["n"]
    ratio = totals["al_low"] / totals["lhs_low"] if totals["lhs_low"] else float("inf")
    print(
        f"all seeds: share Δχ² < 2.3: AL {totals['al_low'] / n:.4f}, LHS "
        f"{totals['lhs_low'] / n:.4f}, ratio {ratio:.1f}"
    )
    expected = np.mean(mc - chi2_min < 2.3)
    print(f"           AL share / expected uniform share: {totals['al_low'] / n / expected:.1f}")
    budget = 0.2 * args.batch * ORACLE_SECONDS_PER_POINT
    print(
        f"proposal CPU-s per round: mean {np.mean(cpu_rounds):.2f}, max {np.max(cpu_rounds):.2f} "
        f"(budget 20 % of {args.batch} × {ORACLE_SECONDS_PER_POINT:.0f} s = {budget:.1f} s)"
    )


if __name__ == "__main__":
    main()
