"""Benchmark: log-posterior evaluations per second inside emcee (64 walkers) for different χ²
back-ends, side by side.

    python benchmarks/sampling_speed.py [--walkers 64] [--seconds 2] [--no-compile]

Cases (d = 6, the ALP box shape; the "truth" is the analytic twin_wells function):
  numpy stand-in      the vectorised analytic χ² (upper bound: no model at all), without and
                      with the HDF5 backend that makes runs resumable (one file write per step)
  xgb per point       ``booster.predict(xgb.DMatrix([x]))`` inside a non-vectorised log-prob,
                      as in the lecture notes
  xgb batched         the same booster, one DMatrix per emcee batch (vectorize=True)
  surrogate/xgboost   ``Surrogate.predict`` (classifier + regressor), batched, through
                      globalfit.inference.sample_posterior (prior, box cut, bookkeeping included)
  surrogate/compiled  the same surrogate compiled with Treelite + TL2cgen (one ctypes call per
                      batch, see globalfit.surrogate.compilation), through ``predict`` and through
                      ``predict_chi2_inside`` (no input checks: what the workflow's sampler calls);
                      with derived inputs also with them evaluated by numpy instead of their
                      compiled library (what bundles written before it do), and the workflow's
                      call inside emcee's stock ``EnsembleSampler`` and moves (the same chain:
                      globalfit.inference.moves only makes the sampler's bookkeeping faster)
The prior is the workflow's default (soft walls, Gaussian log10 fa); the stretch move is
the workflow's: DE 0.8 + DE-snooker 0.2 (``--moves stretch`` for emcee's default), with the
accept step vectorised (globalfit.inference.moves, bit-identical chains to emcee's own moves).
Every batched case goes through :func:`emcee_rate_batched`, which takes any ``chi2_batch``
callable (n, d) -> (n,): plug in another compiled predictor there. The last two columns give the
raw prediction throughput outside emcee, on points near the posterior, for batches of 32 (what
emcee's stretch move sends with 64 walkers) and 10⁵ points, to separate per-call overhead from
per-point cost.
The surrogate comes from ``globalfit.surrogate`` (trained here on 3000 twin_wells points); if that
module is missing a tiny XGBoost regressor is trained instead.
"""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import tempfile
import time

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import emcee  # noqa: E402
import numpy as np  # noqa: E402

from globalfit.inference import (  # noqa: E402
    DEFAULT_ALP_PRIORS,
    Prior,
    sample_posterior,  # noqa: E402
)
from globalfit.oracles.analytic import AnalyticFunction  # noqa: E402
from globalfit.space import ParameterSpace  # noqa: E402


def _steps_for(rate_guess: float, n_walkers: int, seconds: float) -> int:
    return int(max(20, min(5000, seconds * rate_guess / n_walkers)))


def alp_prior(space: ParameterSpace) -> Prior:
    """The workflow's default prior (soft walls, Gaussian log10 fa), as in config/config.yaml."""
    return Prior.from_config(
        [
            {"name": n, "lower": lo, "upper": hi, "prior": DEFAULT_ALP_PRIORS[n]}
            for n, lo, hi in zip(space.names, space.lower, space.upper, strict=True)
        ],
        space,
    )


def emcee_rate_batched(
    chi2_batch,
    space: ParameterSpace,
    start: np.ndarray,
    *,
    n_walkers: int = 64,
    seconds: float = 2.0,
    seed: int = 0,
    hdf: bool = False,
    moves: str = "de",
) -> float:
    """Log-posterior evaluations per second of ``sample_posterior`` (vectorize=True) with a
    χ² batch callable (n, d) -> (n,). Calibrates the number of steps to take ~``seconds``.
    ``hdf``: store the chain in an HDFBackend (what the workflow does, for resumability)."""
    with tempfile.TemporaryDirectory() as tmp:
        kw = dict(n_walkers=n_walkers, seed=seed, progress_every=0, moves=moves)
        prior = alp_prior(space)
        probe = sample_posterior(chi2_batch, prior, start[None, :], n_steps=10, **kw)
        n_steps = _steps_for(probe.evals_per_second or 1e4, n_walkers, seconds)
        res = sample_posterior(
            chi2_batch,
            prior,
            start[None, :],
            n_steps=n_steps,
            backend_path=os.path.join(tmp, "chain.h5") if hdf else None,
            **kw,
        )
    return res.evals_per_second


def emcee_rate_stock(
    chi2_batch,
    space: ParameterSpace,
    start: np.ndarray,
    *,
    n_walkers: int = 64,
    seconds: float = 2.0,
    seed: int = 0,
    moves: str = "de",
) -> float:
    """As :func:`emcee_rate_batched` (same prior, start and moves) with emcee's own
    ``EnsembleSampler`` and moves instead of globalfit.inference.moves's (bit-identical chains)."""
    from globalfit.inference import LogPosterior, initial_ball

    log_prob = LogPosterior(chi2_batch, alp_prior(space))
    p0 = initial_ball(start[None, :], n_walkers, space, scale=0.01, seed=seed, log_prob=log_prob)
    stock = {
        "de": lambda: [(emcee.moves.DEMove(), 0.8), (emcee.moves.DESnookerMove(), 0.2)],
        "stretch": lambda: emcee.moves.StretchMove(),
    }[moves]

    def run(n):
        s = emcee.EnsembleSampler(n_walkers, space.dim, log_prob, vectorize=True, moves=stock())
        s.random_state = np.random.RandomState(seed).get_state()
        t = time.perf_counter()
        s.run_mcmc(p0, n)
        return n * n_walkers / (time.perf_counter() - t)

    return run(_steps_for(run(10), n_walkers, seconds))


def emcee_rate_per_point(
    log_prob_point,
    space: ParameterSpace,
    start: np.ndarray,
    *,
    n_walkers: int = 64,
    seconds: float = 2.0,
    seed: int = 0,
) -> float:
    """Evaluations per second of a plain, non-vectorised emcee run (one call per walker)."""
    rng = np.random.default_rng(seed)
    p0 = start + 1e-3 * space.width * rng.normal(size=(n_walkers, space.dim))

    def run(n):
        s = emcee.EnsembleSampler(n_walkers, space.dim, log_prob_point)
        t = time.perf_counter()
        s.run_mcmc(p0, n)
        return n * n_walkers / (time.perf_counter() - t)

    return run(_steps_for(run(5), n_walkers, seconds))


def raw_throughput(
    chi2_batch, space: ParameterSpace, center: np.ndarray, n: int, seconds: float = 0.5
) -> float:
    """Points per second of repeated calls on batches of n points near ``center`` (where the
    posterior is: a two-stage surrogate runs its regressor only there)."""
    X = center + 0.02 * space.width * np.random.default_rng(1).normal(size=(n, space.dim))
    X = np.clip(X, space.lower, space.upper)  # benchmark inputs only
    chi2_batch(X)
    calls, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        chi2_batch(X)
        calls += 1
    return calls * n / (time.perf_counter() - t0)


def numpy_features(bundle: str):
    """The compiled surrogate of ``bundle`` with its derived inputs evaluated by numpy: a copy of
    the bundle whose metadata lists no features library (as bundles written before it)."""
    import json

    from globalfit.surrogate import Surrogate

    copy = tempfile.mkdtemp(prefix="gf-bench-numpy-features-")
    atexit.register(shutil.rmtree, copy, True)
    shutil.copytree(bundle, copy, dirs_exist_ok=True)
    meta = json.loads(open(os.path.join(copy, "metadata.json")).read())
    meta["files"].pop("features_library", None)
    with open(os.path.join(copy, "metadata.json"), "w") as f:
        json.dump(meta, f)
    return Surrogate.load(copy, backend="compiled", nthread=1)


def training_data(f: AnalyticFunction, space: ParameterSpace, n: int, seed: int = 0):
    """Half uniform in the box, half in Gaussian clouds around the known minima (inside the box)."""
    rng = np.random.default_rng(seed)
    uni = space.from_unit(rng.random((n // 2, space.dim)))
    centers = np.array([m for m, _ in f.minima()])
    near = centers[rng.integers(len(centers), size=n - n // 2)] + 0.06 * space.width * rng.normal(
        size=(n - n // 2, space.dim)
    )
    near = near[space.contains(near)]
    theta = np.vstack([uni, near])
    return theta, f.chi2(theta)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--walkers", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=2.0, help="target wall time per emcee case")
    ap.add_argument("--n-train", type=int, default=3000)
    ap.add_argument("--no-compile", action="store_true", help="skip the TL2cgen case")
    ap.add_argument(
        "--moves",
        default="de",
        choices=["de", "stretch"],
        help="emcee moves (the workflow's default: de)",
    )
    ap.add_argument(
        "--bundle",
        default=None,
        help="use a trained bundle (e.g. results/surrogate of the ALP run)",
    )
    args = ap.parse_args()

    import logging

    import xgboost as xgb

    logging.getLogger("globalfit.inference").setLevel(
        logging.ERROR
    )  # short runs are not converged: expected

    d = 6
    space = ParameterSpace(
        ("cqL33", "cuR", "cdR", "clL33", "ceR", "log10_fa"),
        np.array([-3.0] * 5 + [6.0]),
        np.array([3.0] * 5 + [8.0]),
    )
    f = AnalyticFunction("twin_wells", space)
    start = f.minima()[0][0]
    theta, chi2 = training_data(f, space, args.n_train)

    surrogate = None
    try:
        from globalfit.surrogate import Surrogate
    except ImportError:
        Surrogate = None
    t0 = time.perf_counter()
    if args.bundle:
        import pandas as pd

        surrogate = Surrogate.load(args.bundle, backend="xgboost", nthread=1)
        split = pd.read_csv(f"{args.bundle}/split.csv")
        start = split.loc[split["chi2"].idxmin(), list(space.names)].to_numpy(dtype=np.float64)
        booster = surrogate.regressor_booster_
        what = f"bundle {args.bundle}: regressor {booster.num_boosted_rounds()} trees"
    elif Surrogate is not None:
        surrogate = Surrogate(
            space, n_estimators=300, early_stopping_rounds=30, seed=0, nthread=1
        ).fit(theta, chi2)
        booster = surrogate.regressor_booster_
        what = (
            "globalfit.surrogate.Surrogate: classifier "
            f"{surrogate.classifier_booster_.num_boosted_rounds()} trees, "
            f"regressor {booster.num_boosted_rounds()} trees"
        )
    else:
        booster = xgb.train(
            {"max_depth": 6, "eta": 0.1, "nthread": 1, "seed": 0},
            xgb.DMatrix(theta, label=np.log10(chi2)),
            num_boost_round=200,
        )
        what = "tiny xgboost regressor on log10 chi2 (globalfit.surrogate not found), 200 trees"
    booster.set_param({"nthread": 1})
    print(f"model: {what}; trained on {theta.shape[0]} points in {time.perf_counter() - t0:.1f} s")

    def inputs(X):  # the models' inputs: θ, then the surrogate's derived features if any
        X = np.atleast_2d(X)
        return X if surrogate is None else surrogate.features_of(X)

    def xgb_point(x):
        return -0.5 * float(booster.predict(xgb.DMatrix(inputs(x)))[0])

    def xgb_batch(X):
        return booster.predict(xgb.DMatrix(np.asarray(inputs(X), dtype=np.float32)))

    cases = [
        ("numpy stand-in (vectorised)", "batched", f.chi2),
        ("numpy stand-in + HDF5 backend", "hdf", f.chi2),
    ]
    cases.append(("xgb booster, per point (notes)", "point", xgb_point))
    cases.append(("xgb booster, batched", "batched", xgb_batch))
    if surrogate is not None:
        cases.append(
            ("surrogate, xgboost backend, batched", "batched", lambda X: surrogate.predict(X)[1])
        )
        if not args.no_compile:
            bundle = tempfile.mkdtemp(prefix="gf-bench-")
            atexit.register(shutil.rmtree, bundle, True)
            t0 = time.perf_counter()
            try:
                if args.bundle:
                    bundle = args.bundle
                else:
                    surrogate.save(bundle, compile=True, compile_nthread=1)
                compiled = Surrogate.load(bundle, backend="compiled", nthread=1)
                print(f"compiled with TL2cgen in {time.perf_counter() - t0:.1f} s")
                cases.append(
                    (
                        "surrogate, TL2cgen compiled, batched",
                        "batched",
                        lambda X: compiled.predict(X)[1],
                    )
                )
                # what workflow/scripts/sample.py calls: the prior has cut to the box already
                cases.append(
                    (
                        "  the same, as the workflow calls it",
                        "batched",
                        compiled.predict_chi2_inside,
                    )
                )
                if compiled.features:
                    cases.append(
                        (
                            "  the same, derived inputs by numpy",
                            "batched",
                            numpy_features(bundle).predict_chi2_inside,
                        )
                    )
                cases.append(
                    ("  the same, emcee's stock sampler", "stock", compiled.predict_chi2_inside)
                )
            except Exception as exc:  # report, do not hide
                print(f"compilation failed, compiled case skipped: {type(exc).__name__}: {exc}")

    print()
    print(
        f"emcee, {args.walkers} walkers, d = {d}, moves {args.moves} (vectorize=True sends "
        f"{args.walkers // 2} points per call)"
    )
    hdr = (
        f"{'case':40s} {'log-post evals/s':>17s} {'vs per point':>13s} {'raw pts/s @32':>14s} "
        f"{'raw pts/s @1e5':>15s}"
    )
    print(hdr)
    print("-" * len(hdr))
    rows = []
    for name, kind, fn in cases:
        if kind == "point":
            rate = emcee_rate_per_point(
                fn, space, start, n_walkers=args.walkers, seconds=args.seconds
            )
            raw32 = raw1e5 = float("nan")
        elif kind == "stock":
            rate = emcee_rate_stock(
                fn, space, start, n_walkers=args.walkers, seconds=args.seconds, moves=args.moves
            )
            raw32 = raw1e5 = float("nan")
        else:
            rate = emcee_rate_batched(
                fn,
                space,
                start,
                n_walkers=args.walkers,
                seconds=args.seconds,
                hdf=kind == "hdf",
                moves=args.moves,
            )
            raw32 = raw_throughput(fn, space, start, 32)
            raw1e5 = raw_throughput(fn, space, start, 100_000)
        rows.append((name, kind, rate, raw32, raw1e5))
    ref = next((r[2] for r in rows if r[1] == "point"), None)
    for name, _, rate, raw32, raw1e5 in rows:
        ratio = f"{rate / ref:12.1f}x" if ref else ""
        print(f"{name:40s} {rate:17,.0f} {ratio:>13s} {raw32:14,.0f} {raw1e5:15,.0f}")
    print()
    print(
        "emcee's own overhead (stretch move, bookkeeping) caps the batched rate; the raw columns "
        "show "
        "what the model alone delivers per call of 32 and per large batch."
    )


if __name__ == "__main__":
    main()
