"""Speed of the explanation stage on one core: SHAP (shap.TreeExplainer) on 10⁴ points and shapiq
pairwise k-SII interactions per point, for a surrogate regressor of realistic size and a large one.

    python benchmarks/shap_speed.py                    # realistic + large model, 10⁴ points
    python benchmarks/shap_speed.py --n-points 2000 --skip-large

Models (6 parameters, the tutorial's ALP box):
* "default": ``Surrogate`` with the package's default hyperparameters (depth 6, rate 0.1, early
  stopping 50) trained on the 6-D 'twin_wells' analytic χ² (N points, uniform + near the minima),
  the shape of the ALP landscape; its regressor is what the explain stage sees.
* "large": 1000 trees of depth 6 without early stopping on 10⁴ points (nearly full trees), an
  upper bound for a long-tuned regressor.
Targets: SHAP of 10⁴ points < 60 s on one core. Reported times are process CPU seconds (one thread:
OMP_NUM_THREADS=1, nthread=1); wall times are printed alongside.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

# XGBoost's OpenMP pool must be sized before it is imported (see surrogate_speed.py).
os.environ.setdefault("OMP_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import numpy as np  # noqa: E402

from globalfit import explain  # noqa: E402
from globalfit.explain.boosters import _with_nthread  # noqa: E402
from globalfit.explain.interactions import _kSII  # noqa: E402
from globalfit.space import ParameterSpace  # noqa: E402

NAMES = ("cqL33", "cuR", "cdR", "clL33", "ceR", "log10_fa")
SPACE = ParameterSpace(NAMES, np.array([-3.0] * 5 + [6.0]), np.array([3.0] * 5 + [8.0]))


def tree_stats(booster) -> str:
    df = booster.trees_to_dataframe()
    leaves = int((df["Feature"] == "Leaf").sum())
    n_trees = booster.num_boosted_rounds()
    return f"{n_trees} trees, {leaves} leaves ({leaves / n_trees:.1f} per tree)"


def default_model(n_points: int, seed: int):
    from globalfit.oracles.analytic import AnalyticFunction
    from globalfit.surrogate import Surrogate

    f = AnalyticFunction("twin_wells", SPACE, {})
    rng = np.random.default_rng(seed)
    centres = np.array([SPACE.to_unit(m[0][None])[0] for m in f.minima()])
    near = centres[rng.integers(0, 2, 4 * n_points)] + 0.1 * rng.normal(size=(4 * n_points, 6))
    near = near[np.all((near >= 0) & (near <= 1), axis=1)][: n_points // 2]
    theta = SPACE.from_unit(np.vstack([rng.uniform(size=(n_points - near.shape[0], 6)), near]))
    chi2 = f.chi2(theta)
    t0 = time.perf_counter()
    sur = Surrogate(SPACE, seed=seed, nthread=1).fit(theta, chi2)
    print(
        f"  trained in {time.perf_counter() - t0:.1f} s on {n_points} points "
        f"({int((chi2 - chi2.min() < 10).sum())} in region); regressor: "
        f"{tree_stats(sur.regressor_booster_)}"
    )
    return sur, theta, chi2


def large_model(seed: int):
    from globalfit.surrogate import Chi2Regressor

    rng = np.random.default_rng(seed)
    X = SPACE.from_unit(rng.uniform(size=(10_000, 6)))
    u = SPACE.to_unit(X)
    y = 10 * np.sum((u - 0.5) ** 2, axis=1) + 3 * u[:, 2] * u[:, 4] + np.sin(6 * u[:, 0])
    t0 = time.perf_counter()
    reg = Chi2Regressor(
        {"max_depth": 6},
        n_estimators=1000,
        early_stopping_rounds=0,
        seed=seed,
        objective="reg:squarederror",
        eval_metric="rmse",
    ).fit(X[:8000], y[:8000], X[8000:], y[8000:])
    print(f"  trained in {time.perf_counter() - t0:.1f} s; {tree_stats(reg.booster_)}")
    return reg.booster_


def time_it(fn, *args, **kwargs):
    """(result, seconds). Seconds are the process CPU time: on a machine shared with other jobs the
    wall time of a single-threaded computation varies by 2x with the load, its CPU time does not
    (the wall time is printed too)."""
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn(*args, **kwargs)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    print(f"    [{getattr(fn, '__name__', fn)}: cpu {cpu:.2f} s, wall {wall:.2f} s]")
    return out, cpu


def bench_booster(label: str, booster, X: np.ndarray, n_pairs: int, seed: int) -> dict:
    import shap
    import xgboost as xgb

    n = X.shape[0]
    delta = np.zeros(n)
    b = _with_nthread(booster, 1)
    # shap.TreeExplainer: construction (parses the trees) and values (XGBoost's TreeSHAP)
    ex, t_init = time_it(
        shap.TreeExplainer, b, feature_perturbation="tree_path_dependent", model_output="raw"
    )
    _, t_sv = time_it(
        ex.shap_values, xgb.DMatrix(X.astype(np.float32), nthread=1), check_additivity=False
    )
    # the package's function (adds the additivity check and banding), both backends
    _, t_pkg = time_it(explain.explain_points, booster, X, delta, NAMES, nthread=1)
    _, t_shapiq = time_it(
        explain.explain_points, booster, X, delta, NAMES, nthread=1, backend="shapiq"
    )
    # shapiq pairwise (k-SII, order 2) on a smaller sample
    rows = explain.sample_rows(n, n_pairs, seed)
    _, t_pairs = time_it(_kSII, booster, X[rows], 6, 1)
    res = {
        "model": label,
        "n": n,
        "shap_init_s": t_init,
        "shap_values_s": t_sv,
        "explain_points_s": t_pkg,
        "explain_points_shapiq_s": t_shapiq,
        "per_point_ms": 1e3 * t_sv / n,
        "kSII_points": rows.size,
        "kSII_s": t_pairs,
        "kSII_per_point_ms": 1e3 * t_pairs / rows.size,
    }
    print(
        f"  shap.TreeExplainer init {t_init:.2f} s; shap_values on {n} points {t_sv:.2f} s "
        f"({res['per_point_ms']:.3f} ms/point); explain_points (incl. checks) {t_pkg:.2f} s; "
        f"with backend='shapiq' {t_shapiq:.2f} s"
    )
    print(
        f"  shapiq k-SII order 2 on {rows.size} points {t_pairs:.2f} s "
        f"({res['kSII_per_point_ms']:.2f} ms/point)"
    )
    return res


def main(argv=None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n-points", type=int, default=10_000, help="points explained by SHAP")
    ap.add_argument("--n-pairs", type=int, default=256, help="points explained by shapiq k-SII")
    ap.add_argument(
        "--n-train", type=int, default=2000, help="training points of the default model"
    )
    ap.add_argument("--skip-large", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    rng = np.random.default_rng(args.seed + 1)
    X = SPACE.from_unit(rng.uniform(size=(args.n_points, 6)))
    results = []
    print(f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, nthread=1")
    print("model 'default' (Surrogate defaults on twin_wells):")
    sur, theta, chi2 = default_model(args.n_train, args.seed)
    results.append(bench_booster("default", sur.regressor_booster_, X, args.n_pairs, args.seed))
    theta_in, delta_in = explain.in_region_points(theta, chi2)
    _, t_all = time_it(
        explain.explain_surrogate,
        sur,
        theta_in,
        delta_in,
        n_interaction_points=args.n_pairs,
        seed=args.seed,
    )
    print(
        f"  explain_surrogate (regressor + classifier SHAP on {theta_in.shape[0]} in-region "
        "points, best fit, "
        f"k-SII on {min(args.n_pairs, theta_in.shape[0])}): {t_all:.2f} s"
    )
    if not args.skip_large:
        print("model 'large' (1000 trees, depth 6):")
        results.append(bench_booster("large", large_model(args.seed), X, args.n_pairs, args.seed))
    print("\nsummary (target: SHAP of 1e4 points < 60 s on one core)")
    print(
        f"{'model':8s} {'n':>6s} {'shap s':>8s} {'ms/pt':>7s} {'shapiq-SV s':>12s} "
        f"{'kSII ms/pt':>11s}"
    )
    for r in results:
        print(
            f"{r['model']:8s} {r['n']:6d} {r['shap_init_s'] + r['shap_values_s']:8.2f} "
            f"{r['per_point_ms']:7.3f} "
            f"{r['explain_points_shapiq_s']:12.2f} {r['kSII_per_point_ms']:11.2f}"
        )
    return results


if __name__ == "__main__":
    main()
