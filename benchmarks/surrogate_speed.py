"""Points per second of the surrogate: XGBoost per point (the lecture notes' emcee usage), XGBoost
in batches, the compiled library in batches, and 32-point calls (emcee's half-ensemble with 64
walkers and ``vectorize=True``), side by side with ratios to the notes' usage.

    python benchmarks/surrogate_speed.py                       # trains a bundle on twin_wells (6-D)
    python benchmarks/surrogate_speed.py --bundle results/surrogate
    python benchmarks/surrogate_speed.py --oracle              # adds the analytic oracle, per point

The real ALP oracle is not wired here: call :func:`run` with ``oracle=`` any callable
θ (d,) -> χ² (e.g. the ALP oracle's per-point function) to add its rate to the table.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

# OpenMP thread pools must be sized before xgboost is imported: XGBoost calls spin up
# omp_get_max_threads() threads for small steps even with nthread=1, and on a busy 2-core machine
# that contention alone made per-point calls ~10x slower. The thread count is explicit (--nthread).
if __name__ == "__main__":
    _n = next((a.split("=", 1)[1] for a in sys.argv if a.startswith("--nthread=")), None)
    if _n is None and "--nthread" in sys.argv:
        _n = sys.argv[sys.argv.index("--nthread") + 1]
    os.environ["OMP_NUM_THREADS"] = _n or "1"

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))  # runnable from a checkout without installation

from globalfit.surrogate import Surrogate  # noqa: E402


def _rate(fn: Callable[[], int], min_time: float) -> float:
    """Points per second of fn (which returns how many points it handled), repeated for at least
    min_time s."""
    fn()  # warm-up: first-call allocations, lazy imports
    n, t0 = 0, time.perf_counter()
    while True:
        n += fn()
        dt = time.perf_counter() - t0
        if dt >= min_time:
            return n / dt


def train_demo_bundle(
    path: Path, *, dim: int = 6, n_points: int = 4000, seed: int = 0, nthread: int = 1
) -> Path:
    """Fit and compile a surrogate of the 'twin_wells' function (default XGBoost settings)."""
    from globalfit.oracles.analytic import AnalyticFunction
    from globalfit.space import ParameterSpace

    space = ParameterSpace(
        names=tuple(f"p{i}" for i in range(dim)), lower=-np.ones(dim), upper=np.ones(dim)
    )
    f = AnalyticFunction("twin_wells", space, {})
    rng = np.random.default_rng(seed)
    centres = np.array([space.to_unit(m[0][None])[0] for m in f.minima()])
    near = centres[rng.integers(0, 2, 4 * n_points)] + 0.15 * rng.normal(size=(4 * n_points, dim))
    near = near[np.all((near >= 0) & (near <= 1), axis=1)][: n_points // 2]
    theta = space.from_unit(np.vstack([rng.uniform(size=(n_points - near.shape[0], dim)), near]))
    sur = Surrogate(space, seed=seed, nthread=nthread).fit(theta, f.chi2(theta))
    sur.save(path, compile=True, compile_nthread=nthread)
    return path


def _points(bundle: Path, space, n: int, points: str, seed: int) -> np.ndarray:
    """(n, d) benchmark inputs: 'uniform' in the box, or 'region' = the bundle's in-region fitted
    points resampled (what MCMC walkers mostly see; the regressor then runs on nearly all)."""
    rng = np.random.default_rng(seed)
    if points == "region":
        split = bundle / "split.csv"
        if split.is_file():
            import pandas as pd

            table = pd.read_csv(split)
            region = table.loc[table["in_region"] == 1, list(space.names)].to_numpy()
            if len(region):
                return region[rng.integers(0, len(region), n)]
        print(f"note: {split} has no in-region points; using uniform points")
    elif points != "uniform":
        raise ValueError(f"points must be 'region' or 'uniform', got {points!r}")
    return space.from_unit(rng.uniform(size=(n, space.dim)))


def run(
    bundle: Path | str,
    *,
    oracle: Callable[[np.ndarray], float] | None = None,
    points: str = "region",
    n_batch: int = 100_000,
    chunk: int = 32,
    nthread: int = 1,
    min_time: float = 2.0,
    seed: int = 0,
) -> list[tuple[str, float]]:
    """Measure and print; returns [(label, points per second)]."""
    import xgboost as xgb

    xg = Surrogate.load(bundle, backend="xgboost", nthread=nthread)
    comp = Surrogate.load(bundle, backend="compiled", nthread=nthread)
    space = xg.space
    X = _points(Path(bundle), space, n_batch, points, seed)
    F = xg.features_of(X)  # the models' inputs (θ, then any derived features)
    F32 = F.astype(np.float32)
    reg = xg.regressor_booster_
    reg.set_param({"nthread": nthread})
    state = {"i": 0}

    def next_rows(k):
        i = state["i"]
        state["i"] = (i + k) % (n_batch - k)
        return i

    def per_point_notes():  # model.predict(xgb.DMatrix([x])) inside the log-probability
        i = next_rows(1)
        reg.predict(xgb.DMatrix([F[i]]))
        return 1

    def per_point_surrogate(s):
        def fn():
            i = next_rows(1)
            s.predict(X[i])
            return 1

        return fn

    def chunks(s):
        def fn():
            for _ in range(100):
                i = next_rows(chunk)
                s.predict(X[i : i + chunk])
            return 100 * chunk

        return fn

    rows = [
        ("xgboost regressor, per point DMatrix([x]) (notes)", _rate(per_point_notes, min_time)),
        (
            "xgboost regressor, batch",
            _rate(lambda: reg.predict(xgb.DMatrix(F32, nthread=nthread)).size, min_time),
        ),
        ("compiled regressor, batch", _rate(lambda: comp._reg.predict(F32).size, min_time)),
        ("Surrogate(xgboost) per point", _rate(per_point_surrogate(xg), min_time)),
        ("Surrogate(compiled) per point", _rate(per_point_surrogate(comp), min_time)),
        (f"Surrogate(xgboost) {chunk}-point calls", _rate(chunks(xg), min_time)),
        (f"Surrogate(compiled) {chunk}-point calls", _rate(chunks(comp), min_time)),
        ("Surrogate(xgboost) batch", _rate(lambda: xg.predict(X)[0].size, min_time)),
        ("Surrogate(compiled) batch", _rate(lambda: comp.predict(X)[0].size, min_time)),
    ]
    if oracle is not None:

        def one_oracle():
            oracle(X[next_rows(1)])
            return 1

        rows.append(("oracle, per point", _rate(one_oracle, min_time)))

    base = rows[0][1]
    n_trees = (xg.classifier_booster_.num_boosted_rounds(), reg.num_boosted_rounds())
    print(
        f"bundle {bundle}: d = {space.dim}, trees classifier/regressor = "
        f"{n_trees[0]}/{n_trees[1]}, "
        f"nthread = {nthread}, OMP_NUM_THREADS = {os.environ.get('OMP_NUM_THREADS', 'unset')}, "
        f"batch = {n_batch}, "
        f"points = {points}, share kept by the classifier = {np.mean(comp.in_region(X)):.2f}"
    )
    print(f"{'method':<52} {'points/s':>12} {'× notes':>9}")
    for label, r in rows:
        print(f"{label:<52} {r:>12.4g} {r / base:>9.3g}")
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--bundle", type=Path, help="an existing surrogate bundle (default: train a demo one)"
    )
    ap.add_argument(
        "--oracle",
        action="store_true",
        help="also time the analytic twin_wells oracle (demo bundle only)",
    )
    ap.add_argument(
        "--points",
        choices=("region", "uniform"),
        default="region",
        help="in-region fitted points (as MCMC sees) or uniform in the box",
    )
    ap.add_argument("--n-batch", type=int, default=100_000)
    ap.add_argument("--chunk", type=int, default=32)
    ap.add_argument("--nthread", type=int, default=1)
    ap.add_argument("--min-time", type=float, default=2.0, help="seconds per measurement")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        bundle = args.bundle
        if bundle is None:
            t0 = time.perf_counter()
            bundle = train_demo_bundle(Path(tmp) / "surrogate", nthread=args.nthread)
            print(f"trained and compiled a demo bundle in {time.perf_counter() - t0:.1f} s")
        oracle = None
        if args.oracle:
            from globalfit.oracles.analytic import AnalyticFunction

            oracle = AnalyticFunction(
                "twin_wells", Surrogate.load(bundle, backend="xgboost").space, {}
            )
        run(
            bundle,
            oracle=oracle,
            points=args.points,
            n_batch=args.n_batch,
            chunk=args.chunk,
            nthread=args.nthread,
            min_time=args.min_time,
        )


if __name__ == "__main__":
    main()
