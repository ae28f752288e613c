"""Surrogate stage: split, classifier calibration, regressor, compiled models, bundle, CSV, tuning.

One surrogate is fitted and compiled per module (the expensive part, ~15 s on a loaded 2-core
box) on the 'twin_wells' analytic function in 3 dimensions, which has the ALP model's shape: two
minima, an in-region share of ~40 % in the data and a steep wall (χ² up to 1e14) elsewhere.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from globalfit.oracles.analytic import AnalyticFunction
from globalfit.space import ParameterSpace
from globalfit.surrogate import (
    WALL_CHI2,
    RegionClassifier,
    Surrogate,
    calibrate_threshold,
    check_compiled_agreement,
    clopper_pearson,
    hyperparameter_grid,
    predict_csv,
    roc_auc,
    split_dataset,
)

# Small, shallow models: the accuracy targets are met and compiling stays quick.
FAST = {"max_depth": 4, "learning_rate": 0.3}


def make_space(dim: int = 3) -> ParameterSpace:
    return ParameterSpace(
        names=tuple(f"p{i}" for i in range(dim)),
        lower=np.linspace(-2.0, -1.0, dim),
        upper=np.linspace(2.0, 3.0, dim),
    )


def sample(space, f, n_uniform, n_near, seed, sd=0.15):
    """Uniform points of the box plus points scattered around the known minima (as active learning
    would concentrate them), all inside the box. Returns theta (n, d), chi2 (n,)."""
    rng = np.random.default_rng(seed)
    centres = np.array([space.to_unit(m[0][None])[0] for m in f.minima()])
    near = centres[rng.integers(0, len(centres), 4 * n_near)] + sd * rng.normal(
        size=(4 * n_near, space.dim)
    )
    near = near[np.all((near >= 0) & (near <= 1), axis=1)][:n_near]
    theta = space.from_unit(np.vstack([rng.uniform(size=(n_uniform, space.dim)), near]))
    return theta, f.chi2(theta)


@pytest.fixture(scope="module")
def problem():
    space = make_space(3)
    f = AnalyticFunction("twin_wells", space, {})
    theta, chi2 = sample(space, f, 1500, 1500, seed=1)
    return space, f, theta, chi2


@pytest.fixture(scope="module")
def fitted(problem):
    space, f, theta, chi2 = problem
    return Surrogate(space, seed=0, nthread=1, classifier_params=FAST, regressor_params=FAST).fit(
        theta, chi2
    )


@pytest.fixture(scope="module")
def bundle(fitted, tmp_path_factory):
    path = tmp_path_factory.mktemp("bundle") / "surrogate"
    fitted.save(path, compile=True, config_hash="cafe1234", provenance={"oracle": "twin_wells"})
    return path


# ------------------------------------------------------------------ statistics
def test_clopper_pearson_known_values():
    # k = n: the lower end solves p^n = alpha/2
    lo, hi = clopper_pearson(100, 100)
    assert lo == pytest.approx(0.025 ** (1 / 100), rel=1e-10)  # 0.963783
    assert lo == pytest.approx(0.963783, abs=1e-6)
    assert hi == 1.0
    lo, hi = clopper_pearson(0, 20)
    assert lo == 0.0 and hi == pytest.approx(1 - 0.025 ** (1 / 20), rel=1e-10)
    ci = stats.binomtest(37, 50).proportion_ci(confidence_level=0.95, method="exact")
    assert clopper_pearson(37, 50) == pytest.approx((ci.low, ci.high), rel=1e-10)
    with pytest.raises(ValueError):
        clopper_pearson(5, 3)


def test_calibrate_threshold_reaches_target_and_is_tight():
    rng = np.random.default_rng(3)
    p = rng.beta(5, 1, size=437)
    for target in (0.9, 0.97, 0.99, 1.0):
        t = calibrate_threshold(p, target)
        assert np.mean(p >= t) >= target
        higher = p[p > t]
        if (
            higher.size
        ):  # the next larger cut would miss the target: the threshold is the largest one
            assert np.mean(p >= higher.min()) < target
    assert calibrate_threshold(p, 1.0) == p.min()
    with pytest.raises(ValueError, match="without in-region"):
        calibrate_threshold(np.array([]), 0.99)


def test_roc_auc_matches_pair_counting():
    rng = np.random.default_rng(0)
    y = rng.uniform(size=300) < 0.3
    s = np.round(rng.normal(size=300) + y, 1)  # rounded: ties count one half
    pos, neg = s[y], s[~y]
    pairs = (pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean()
    assert roc_auc(y, s) == pytest.approx(pairs, rel=1e-12)


# ------------------------------------------------------------------ split
def test_split_is_seeded_stratified_and_strict(problem):
    space, f, theta, chi2 = problem
    ok = np.ones(chi2.size, dtype=bool)
    ok[:10] = False
    s = split_dataset(theta, chi2, ok=ok, threshold=10.0, seed=5, space=space)
    n = chi2.size - 10
    assert s.n_excluded == 10 and s.theta.shape == (n, 3)
    allidx = np.concatenate([s.train, s.validation, s.test])
    assert np.array_equal(np.sort(allidx), np.arange(n))  # disjoint and complete
    assert s.chi2_best == chi2[ok].min()
    share = [s.in_region[idx].mean() for idx in (s.train, s.validation, s.test)]
    assert max(share) - min(share) < 0.01  # stratified
    assert abs(s.test.size / n - 0.2) < 0.01
    again = split_dataset(theta, chi2, ok=ok, threshold=10.0, seed=5)
    assert np.array_equal(again.test, s.test)
    other = split_dataset(theta, chi2, ok=ok, threshold=10.0, seed=6)
    assert not np.array_equal(other.test, s.test)

    # "in region" is strict: a point exactly at Δχ² = threshold is outside
    c = np.array([1.0, 11.0, 10.999, 50.0, 1.5, 2.0, 3.0, 1e9, 4.0, 5.0])
    t = np.zeros((c.size, 3))
    s2 = split_dataset(t, c, threshold=10.0, fractions=(0.4, 0.3, 0.3), seed=0)
    assert list(s2.in_region) == [True, False, True, False, True, True, True, False, True, True]

    with pytest.raises(ValueError, match="NaN"):
        split_dataset(theta, np.where(np.arange(chi2.size) == 7, np.nan, chi2))
    with pytest.raises(ValueError, match="no in-region point"):
        split_dataset(theta[:20], np.r_[0.0, np.full(19, 100.0)], threshold=10.0)


# ------------------------------------------------------------------ quality
def test_two_stage_quality_on_held_out_and_fresh_points(fitted, problem):
    space, f, _, _ = problem
    m = fitted.metrics_
    assert m["test"]["n_in_region"] > 150
    assert m["test"]["mae_in_region"] <= 0.1 * m["test"]["chi2_range_in_region"]
    assert m["classifier"]["recall_test"] >= 0.97
    assert m["classifier"]["wall_discard_rate"] >= 0.80
    assert m["classifier"]["roc_auc"] > 0.98
    # the threshold is the recall-0.99 cut of out-of-fold probabilities over training + validation
    s = fitted.split_
    fit_part = np.concatenate([s.train, s.validation])
    y = s.in_region[fit_part]
    p_oof = fitted.classifier_._out_of_fold_proba(s.theta[fit_part], y)
    assert fitted.threshold_p_ == calibrate_threshold(p_oof[y], 0.99)
    assert np.mean(p_oof[y] >= fitted.threshold_p_) >= 0.99
    # out-of-fold means every probability came from a model that did not see that point
    assert np.mean(np.abs(p_oof - fitted.predict_proba(s.theta[fit_part]))) > 1e-3

    # fresh points never seen in fitting, labelled by the true function
    theta, chi2 = sample(space, f, 1000, 1000, seed=99)
    inr = chi2 - fitted.chi2_best_ < fitted.threshold
    p, chi2_s = fitted.predict(theta)
    keep = fitted.in_region(theta)
    assert np.array_equal(keep, p >= fitted.threshold_p_)
    assert keep[inr].mean() >= 0.97
    assert (~keep[~inr]).mean() >= 0.80
    assert np.all(chi2_s[~keep] == WALL_CHI2)  # discarded points sit on the wall
    err = np.abs(chi2_s[keep & inr] - chi2[keep & inr])
    assert np.mean(err) <= 1.0  # 0.1 × the Δχ² threshold
    # a single point (d,) is accepted and equals the batch answer; an empty batch gives empty arrays
    p1, c1 = fitted.predict(theta[3])
    assert p1.shape == (1,) and c1[0] == chi2_s[3]
    assert [a.shape for a in fitted.predict(np.zeros((0, 3)))] == [(0,), (0,)]


def test_out_of_box_points_raise_or_are_flagged(fitted):
    theta = np.array([[0.0, 0.0, 0.0], [0.0, 5.0, 0.0]])  # p1's upper bound is 2.5
    with pytest.raises(ValueError, match="'p1'.*outside"):
        fitted.predict(theta)
    p, chi2 = fitted.predict(theta, out_of_bounds="flag")
    ref_p, ref_chi2 = fitted.predict(theta[:1])
    assert p[1] == 0.0 and chi2[1] == np.inf
    assert p[0] == ref_p[0] and chi2[0] == ref_chi2[0]
    with pytest.raises(ValueError, match="non-finite"):
        fitted.predict(np.array([[0.0, np.nan, 0.0]]), out_of_bounds="flag")
    with pytest.raises(ValueError, match="shape"):
        fitted.predict(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="out_of_bounds"):
        fitted.predict(theta, out_of_bounds="clip")


def test_classifier_weighted_chi2_is_minus_two_log_expected_likelihood(fitted):
    space = fitted.space
    x = space.from_unit(np.random.default_rng(5).uniform(size=(2000, 3)))
    p, chi2 = fitted.predict(x)
    kept = p >= fitted.threshold_p_
    assert kept.any() and (~kept).any() and (p[kept] < 0.9).any()
    weighted = fitted.predict_chi2(x, classifier_weighted=True)
    # exp(-weighted/2) = p exp(-chi2/2) where kept; the wall stays the wall
    np.testing.assert_allclose(np.exp(-0.5 * (weighted[kept] - chi2[kept])), p[kept], rtol=1e-12)
    assert np.array_equal(weighted[~kept], chi2[~kept]) and (chi2[~kept] == fitted.wall_chi2).all()
    np.testing.assert_array_equal(fitted.predict_chi2_inside(x, classifier_weighted=True), weighted)
    np.testing.assert_array_equal(fitted.predict_chi2_inside(x), chi2)
    flagged = fitted.predict_chi2(
        np.array([[0.0, 5.0, 0.0]]), out_of_bounds="flag", classifier_weighted=True
    )
    assert flagged[0] == np.inf


def test_out_of_fold_calibration_averages_seeded_fold_assignments(fitted):
    split = fitted.split_
    tr, va = split.train, split.validation
    X, y = split.theta, split.in_region
    X_all, y_all = np.vstack([X[tr], X[va]]), np.concatenate([y[tr], y[va]])

    def oof(repeats, seed):
        clf = RegionClassifier(FAST, calibration_repeats=repeats, seed=seed)
        clf.best_iteration_ = 20
        return clf._out_of_fold_proba(X_all, y_all)

    singles = [oof(1, s) for s in (3, 4, 5)]
    assert not np.allclose(singles[0], singles[1])  # the fold assignment matters
    np.testing.assert_allclose(oof(3, 3), np.mean(singles, axis=0), rtol=1e-12)
    with pytest.raises(ValueError, match="calibration_repeats"):
        oof(0, 3)


def test_deterministic_given_seed(problem, fitted):
    space, f, theta, chi2 = problem
    again = Surrogate(space, seed=0, nthread=1, classifier_params=FAST, regressor_params=FAST).fit(
        theta, chi2
    )
    assert bytes(again.regressor_booster_.save_raw("ubj")) == bytes(
        fitted.regressor_booster_.save_raw("ubj")
    )
    assert bytes(again.classifier_booster_.save_raw("ubj")) == bytes(
        fitted.classifier_booster_.save_raw("ubj")
    )
    x = space.from_unit(np.random.default_rng(2).uniform(size=(500, 3)))
    assert all(
        np.array_equal(a, b) for a, b in zip(again.predict(x), fitted.predict(x), strict=True)
    )
    other = Surrogate(space, seed=1, nthread=1, classifier_params=FAST, regressor_params=FAST).fit(
        theta, chi2
    )
    assert not np.array_equal(other.split_.test, fitted.split_.test)


def test_reserved_and_invalid_settings(problem):
    space, f, theta, chi2 = problem
    with pytest.raises(ValueError, match="objective"):
        Surrogate(space, classifier_params={"objective": "reg:squarederror"}).fit(theta, chi2)
    with pytest.raises(ValueError, match="target_transform"):
        Surrogate(space, target_transform="log").fit(theta, chi2)
    with pytest.raises(RuntimeError, match="not fitted"):
        Surrogate(space).predict(theta[:2])


# ------------------------------------------------------------------ compiled models and bundle
def test_compiled_agrees_with_xgboost_on_1e4_points(bundle):
    res = check_compiled_agreement(bundle, n=10_000, seed=4, atol=1e-4, rtol=1e-5)
    for model in ("classifier", "regressor"):
        assert res[model]["n"] == 10_000
        assert res[model]["agree"], res
    assert res["classifier"]["max_abs_diff"] <= 1e-4  # probabilities


def test_bundle_layout_metadata_and_metrics(bundle, fitted):
    meta = json.loads((bundle / "metadata.json").read_text())
    assert meta["parameters"] == {
        "names": ["p0", "p1", "p2"],
        "lower": [-2.0, -1.5, -1.0],
        "upper": [2.0, 2.5, 3.0],
    }
    assert meta["threshold"] == 10.0 and meta["wall_chi2"] == WALL_CHI2
    assert meta["classifier"]["threshold"] == fitted.threshold_p_
    assert meta["classifier"]["calibration_repeats"] == fitted.calibration_repeats == 5
    assert meta["chi2_best"] == fitted.chi2_best_
    assert meta["regressor"]["target_transform"] == "delta_chi2"
    assert meta["config_hash"] == "cafe1234" and meta["provenance"] == {"oracle": "twin_wells"}
    assert {"xgboost", "treelite", "tl2cgen", "globalfit"} <= set(meta["versions"])
    assert meta["dataset"]["total"] == fitted.split_.theta.shape[0]
    for key in ("classifier_model", "regressor_model", "classifier_library", "regressor_library"):
        assert (bundle / meta["files"][key]).is_file()
    metrics = json.loads((bundle / "metrics.json").read_text())
    required = {
        "test": ["mae_in_region", "rmse_in_region"],
        "classifier": [
            "recall_test",
            "recall_test_lower95",
            "wall_discard_rate",
            "roc_auc",
            "brier_score",
            "recall_validation",
            "threshold",
        ],
        "counts": ["train", "validation", "test"],
    }
    for group, keys in required.items():
        for k in keys:
            assert isinstance(metrics[group][k], (int, float)), (group, k)
    c = metrics["counts"]
    assert c["train"] + c["validation"] + c["test"] == c["total"]
    # the recall's interval is the two-sided 95 % Clopper–Pearson one of the test counts
    from scipy.stats import beta

    n_in = metrics["test"]["n_in_region"]
    k = round(metrics["classifier"]["recall_test"] * n_in)
    lower = beta.ppf(0.025, k, n_in - k + 1) if k > 0 else 0.0
    upper = beta.ppf(0.975, k + 1, n_in - k) if k < n_in else 1.0
    assert metrics["classifier"]["recall_test_lower95"] == pytest.approx(lower, abs=1e-9)
    assert metrics["classifier"]["recall_test_upper95"] == pytest.approx(upper, abs=1e-9)
    bins = metrics["classifier"]["reliability"]
    assert sum(b["n"] for b in bins) == c["test"] and 0 <= metrics["classifier"]["brier_score"] < 1
    curves = pd.read_csv(bundle / "regressor_curves.csv")
    assert {"train_mae", "train_rmse", "validation_mae", "validation_rmse"} <= set(curves.columns)
    split = pd.read_csv(bundle / "split.csv")
    assert (split["split"] == "test").sum() == c["test"]


def test_bundle_round_trip_both_backends(bundle, fitted, problem):
    space = problem[0]
    x = space.from_unit(np.random.default_rng(7).uniform(size=(3000, 3)))
    p_ref, chi2_ref = fitted.predict(x)
    xg = Surrogate.load(bundle, backend="xgboost")
    p, chi2 = xg.predict(x)
    assert np.array_equal(p, p_ref) and np.array_equal(chi2, chi2_ref)
    comp = Surrogate.load(bundle, backend="compiled")
    assert comp.backend_ == "compiled" and comp.space.names == space.names
    p, chi2 = comp.predict(x)
    np.testing.assert_allclose(p, p_ref, atol=1e-5)
    both = (p >= comp.threshold_p_) & (p_ref >= fitted.threshold_p_)
    np.testing.assert_allclose(chi2[both], chi2_ref[both], atol=1e-4)
    # a decision flip needs p within float32 rounding of the cut
    flips = (p >= comp.threshold_p_) != (p_ref >= fitted.threshold_p_)
    assert np.all(np.abs(p_ref[flips] - fitted.threshold_p_) < 1e-5)
    assert comp.metrics_ == json.loads((bundle / "metrics.json").read_text())
    with pytest.raises(ValueError, match="backend"):
        Surrogate.load(bundle, backend="onnx")


def test_load_errors_are_clear(tmp_path, bundle):
    with pytest.raises(FileNotFoundError, match="metadata.json"):
        Surrogate.load(tmp_path)
    partial = tmp_path / "b"
    partial.mkdir()
    for name in ("metadata.json", "classifier.ubj", "regressor.ubj"):
        (partial / name).write_bytes((bundle / name).read_bytes())
    with pytest.raises(FileNotFoundError, match="compile_bundle"):
        Surrogate.load(partial, backend="compiled")
    assert Surrogate.load(partial, backend="xgboost").predict(np.zeros((1, 3)))[0].shape == (1,)


# ------------------------------------------------------------------ CSV
def test_predict_csv_adds_columns_and_keeps_extra(bundle, fitted, tmp_path, problem):
    space = problem[0]
    x = space.from_unit(np.random.default_rng(8).uniform(size=(50, 3)))
    df = pd.DataFrame(x[:, ::-1], columns=["p2", "p1", "p0"])  # column order does not matter
    df.insert(0, "label", [f"pt{i}" for i in range(50)])
    df.to_csv(tmp_path / "in.csv", index=False)
    out = predict_csv(bundle, tmp_path / "in.csv", tmp_path / "sub" / "out.csv", backend="xgboost")
    back = pd.read_csv(tmp_path / "sub" / "out.csv")
    assert list(back.columns) == [
        "label",
        "p2",
        "p1",
        "p0",
        "p_in_region",
        "in_region",
        "chi2_surrogate",
    ]
    assert list(back["label"]) == list(df["label"])
    p, chi2 = fitted.predict(x)
    np.testing.assert_allclose(back["p_in_region"], p, rtol=1e-12)
    np.testing.assert_allclose(back["chi2_surrogate"], chi2, rtol=1e-12)
    assert list(back["in_region"]) == list((p >= fitted.threshold_p_).astype(int))
    assert set(back["in_region"]) <= {0, 1}
    assert len(out) == 50
    with pytest.raises(ValueError, match="already has output column"):
        predict_csv(bundle, tmp_path / "sub" / "out.csv", tmp_path / "again.csv", backend="xgboost")


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d.drop(columns=["p1"]), r"missing parameter column\(s\) \['p1'\]"),
        (
            lambda d: d.assign(p2=[0.0, 0.5, 7.0]),
            r"column 'p2', row 2 \(line 4\): 7.0 is outside the bounds \[-1.0, 3.0\]",
        ),
        (
            lambda d: d.assign(p0=["0.1", "abc", "0.3"]),
            r"column 'p0', row 1 \(line 3\): value 'abc' is not a finite number",
        ),
        (
            lambda d: d.assign(p1=[0.1, None, 0.3]),
            r"column 'p1', row 1 \(line 3\).*not a finite number",
        ),
    ],
)
def test_predict_csv_rejects_bad_input(bundle, tmp_path, edit, message):
    good = pd.DataFrame({"p0": [0.1, 0.2, 0.3], "p1": [0.0, 0.5, 1.0], "p2": [0.0, 0.5, 1.0]})
    edit(good).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(ValueError, match=message):
        predict_csv(bundle, tmp_path / "bad.csv", tmp_path / "out.csv", backend="xgboost")
    assert not (tmp_path / "out.csv").exists()


# ------------------------------------------------------------------ tuning
def test_optuna_study_resumes_from_sqlite(tmp_path, fitted):
    from globalfit.plots.surrogate import plot_param_importances
    from globalfit.surrogate import param_importances, save_trials_csv, tune_regressor

    split = fitted.split_
    kw = dict(
        storage=tmp_path / "tuning" / "study.sqlite",
        study_name="regressor",
        n_folds=3,
        num_boost_round=60,
        early_stopping_rounds=10,
        seed=3,
        nthread=1,
    )
    first = tune_regressor(split, n_trials=3, **kw)
    assert first.n_trials_run_ == 3 and len(first.study_.trials) == 3
    resumed = tune_regressor(split, n_trials=5, **kw)
    assert resumed.n_trials_run_ == 2 and len(resumed.study_.trials) == 5
    assert tune_regressor(split, n_trials=5, **kw).n_trials_run_ == 0
    # an uninterrupted 5-trial study proposes the same parameters as the resumed one
    kw["storage"] = tmp_path / "other.sqlite"
    straight = tune_regressor(split, n_trials=5, **kw)
    assert [t.params for t in straight.study_.trials] == [t.params for t in resumed.study_.trials]
    assert straight.best_params_ == resumed.best_params_
    assert set(resumed.best_params_) == {
        "max_depth",
        "learning_rate",
        "subsample",
        "colsample_bytree",
        "min_child_weight",
        "reg_alpha",
        "reg_lambda",
    }
    assert resumed.best_value_ == min(t.value for t in resumed.study_.trials)

    # a process killed mid-trial leaves a RUNNING trial: it is closed as FAIL and re-done
    import optuna

    kw["storage"] = tmp_path / "crashed.sqlite"
    crashed = optuna.create_study(storage=f"sqlite:///{kw['storage']}", study_name="regressor")
    crashed.ask()
    after = tune_regressor(split, n_trials=2, **kw)
    states = [t.state.name for t in after.study_.trials]
    assert states == ["FAIL", "COMPLETE", "COMPLETE"] and after.n_trials_run_ == 2
    assert [t.params for t in after.study_.trials[1:]] == [
        t.params for t in straight.study_.trials[:2]
    ]

    # a process killed while optuna creates the study's tables leaves no study file behind
    real = optuna.storages.RDBStorage

    def killed_while_creating(url, *a, **k):
        open(url.removeprefix("sqlite:///"), "wb").close()  # sqlite has made the file
        raise KeyboardInterrupt

    kw["storage"] = tmp_path / "killed" / "study.sqlite"
    optuna.storages.RDBStorage = killed_while_creating
    try:
        with pytest.raises(KeyboardInterrupt):
            tune_regressor(split, n_trials=1, **kw)
    finally:
        optuna.storages.RDBStorage = real
    assert not kw["storage"].exists()
    assert tune_regressor(split, n_trials=1, **kw).n_trials_run_ == 1

    table = save_trials_csv(resumed.study_, tmp_path / "trials.csv")
    assert len(pd.read_csv(tmp_path / "trials.csv")) == 5 and "params_max_depth" in table
    imp = param_importances(resumed.study_, seed=0)
    assert imp == param_importances(resumed.study_, seed=0)  # seeded
    assert set(imp) == set(resumed.best_params_) and sum(imp.values()) == pytest.approx(1.0)
    assert plot_param_importances(imp, tmp_path / "imp.png").stat().st_size > 0


def test_tuned_classifier_params_fit(tmp_path, fitted, problem):
    from globalfit.surrogate import kfold_indices, tune_classifier

    folds = kfold_indices(103, 4, seed=0, labels=np.arange(103) % 5 == 0)
    assert sorted(np.concatenate([te for _, te in folds]).tolist()) == list(range(103))
    assert all(np.sum(np.arange(103)[te] % 5 == 0) in (5, 6) for _, te in folds)  # stratified
    tuner = tune_classifier(
        fitted.split_,
        storage=tmp_path / "c.sqlite",
        n_trials=2,
        n_folds=3,
        num_boost_round=40,
        early_stopping_rounds=10,
        seed=0,
        nthread=1,
    )
    assert 0 < tuner.best_value_ < 0.69  # logloss better than a coin
    space, f, theta, chi2 = problem
    sur = Surrogate(space, classifier_params=tuner.best_params_, n_estimators=60, seed=0).fit_split(
        fitted.split_
    )
    assert sur.classifier_.recall_out_of_fold_ >= 0.99


# ------------------------------------------------------------------ the tutorial's exercise
def test_hyperparameter_grid_shows_under_and_over_fitting(fitted, tmp_path):
    from globalfit.plots.surrogate import (
        plot_hyperparameter_grid,
        plot_learning_curves,
        plot_predicted_vs_true,
    )

    grid = hyperparameter_grid(
        fitted.split_, depths=(1, 8), learning_rates=(0.02, 0.8), n_estimators=80
    )
    last = grid[grid["iteration"] == 79].set_index(["depth", "learning_rate"])
    # shallow and slow under-fits: far higher training error than deep and fast
    assert last.loc[(1, 0.02), "train"] > 3 * last.loc[(8, 0.8), "train"]
    # deep and fast over-fits: its validation error is well above its training error
    assert last.loc[(8, 0.8), "validation"] > 2 * last.loc[(8, 0.8), "train"]
    assert plot_hyperparameter_grid(grid, tmp_path / "grid.png").stat().st_size > 0
    c = fitted.regressor_.curves_
    assert plot_learning_curves(
        c, tmp_path / "lc.png", best_iteration=fitted.regressor_.best_iteration_
    ).is_file()
    s = fitted.split_
    m = s.in_region[s.test]
    pred = fitted.predict_chi2_unmasked(s.theta[s.test][m])
    assert plot_predicted_vs_true(
        s.chi2[s.test][m], pred, tmp_path / "pvt.png", chi2_best=s.chi2_best, threshold=s.threshold
    ).is_file()


def test_train_bundle_runs_the_whole_stage(tmp_path, problem):
    from globalfit.plots.surrogate import plot_bundle
    from globalfit.surrogate import train_bundle

    space, f, theta, chi2 = problem
    ok = np.ones(chi2.size, dtype=bool)
    ok[::50] = False
    sur = train_bundle(
        theta[:1200],
        chi2[:1200],
        space,
        tmp_path / "b",
        ok=ok[:1200],
        n_trials=2,
        n_folds=3,
        tuning_rounds=40,
        tuning_early_stopping=10,
        compile=False,
        seed=0,
        nthread=1,
        n_estimators=100,
        threshold=10.0,
        study_dir=tmp_path / "studies",
    )
    assert sur.metrics_["counts"]["excluded_not_ok"] == 24
    assert set(sur.regressor_params) >= {"max_depth", "learning_rate"}  # tuned values were used
    assert (tmp_path / "studies" / "classifier.sqlite").is_file()
    for name in (
        "metadata.json",
        "metrics.json",
        "classifier.ubj",
        "regressor.ubj",
        "split.csv",
        "tuning/regressor_trials.csv",
        "tuning/classifier_importance.json",
    ):
        assert (tmp_path / "b" / name).is_file(), name
    plots = plot_bundle(tmp_path / "b", tmp_path / "plots")
    for name in ("regressor_curves.png", "classifier_importance.png", "predicted_vs_true.png"):
        assert (tmp_path / "plots" / name) in plots and (tmp_path / "plots" / name).is_file(), name
    assert Surrogate.load(tmp_path / "b", backend="xgboost").predict(theta[:5])[1].shape == (5,)


def test_the_surrogate_s_settings_are_listed_once():
    """Surrogate.SETTINGS is exactly the constructor's keyword arguments, and get_params round-trips
    through the constructor (a reduced or re-fitted surrogate is built from it)."""
    import inspect

    from globalfit.space import ParameterSpace
    from globalfit.surrogate import Surrogate

    params = set(inspect.signature(Surrogate.__init__).parameters) - {"self", "space"}
    assert set(Surrogate.SETTINGS) == params and len(Surrogate.SETTINGS) == len(params)
    space = ParameterSpace(("a", "b"), np.zeros(2), np.ones(2))
    sur = Surrogate(space, threshold=7.0, seed=3, fractions=[0.5, 0.3, 0.2], nthread=2)
    again = Surrogate(space, **sur.get_params())
    assert again.get_params() == sur.get_params() and again.threshold == 7.0
