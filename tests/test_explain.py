"""Explain stage: SHAP per Δχ² band, shapiq pairwise interactions, ablation, importance.json, plots.

The reference function (module fixture ``analytic``) has known Shapley answers. On the box
[−1, 1]^6 with independent uniform inputs (0-based indices)

    f(x) = x0² + 0.5·x1 + 3·x2·x4 + 0.3·x3 + 4,       x5 (index 5) is irrelevant,

so the exact mean |SHAP| are: x0 E|x² − 1/3| = 4/(9√3) = 0.257, x1 0.5·E|x| = 0.25,
x3 0.15, x2 and x4 1.5·E|x2·x4| = 0.375 each (the product is shared equally), x5 0; and the exact
k-SII pair term of (x2, x4) is the whole product 3·x2·x4 (its first-order terms vanish because
E[x] = 0), whose mean |value| is 3/4. A tree model reproduces these to ~10 %.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from globalfit import explain as E
from globalfit.explain.interactions import _kSII  # the shapiq wrapper, tested on purpose
from globalfit.space import ParameterSpace
from globalfit.surrogate import Chi2Regressor, Surrogate

NAMES = tuple(f"x{i}" for i in range(6))
IRRELEVANT = "x5"  # index 5
FAST = {"max_depth": 4, "learning_rate": 0.2}


def f_ref(X):
    return X[:, 0] ** 2 + 0.5 * X[:, 1] + 3 * X[:, 2] * X[:, 4] + 0.3 * X[:, 3] + 4.0


@pytest.fixture(scope="module")
def analytic():
    """A Chi2Regressor (package defaults: reg:absoluteerror, target Δχ²) fitted to f_ref."""
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(3000, 6))
    y = f_ref(X)
    reg = Chi2Regressor(FAST, n_estimators=300, early_stopping_rounds=20, seed=0, nthread=1).fit(
        X[:2200], y[:2200], X[2200:], y[2200:]
    )
    delta = y - y.min()  # true Δχ² of every point, for the bands
    return reg, X, delta


@pytest.fixture(scope="module")
def shap_result(analytic):
    reg, X, delta = analytic
    return E.explain_points(reg.booster_, X, delta, NAMES, edges=(2.0, 5.0), scale="delta_chi2")


@pytest.fixture(scope="module")
def interactions(analytic):
    reg, X, delta = analytic
    return E.pairwise_interactions(
        reg.booster_, X, delta, NAMES, n_points=200, edges=(2.0, 5.0), seed=0
    )


# --------------------------------------------------------------------------------------------
# SHAP values


@pytest.mark.parametrize("backend", ["shap", "shapiq"])
def test_shap_values_sum_to_prediction_minus_base(analytic, backend):
    reg, X, _ = analytic
    pts = X[:50]
    values, base = E.shap_values(reg.booster_, pts, backend=backend)
    pred = reg.predict_delta(pts)  # the regressor's own output scale (Δχ² here)
    assert values.shape == (50, 6)
    np.testing.assert_allclose(values.sum(axis=1), pred - base, atol=1e-4)
    assert np.ptp(pred) > 1.0  # a non-trivial check: the predictions do vary


def test_kSII_values_add_up_for_the_absolute_error_objective(analytic):
    """shapiq 1.8.0 read stale base_weights of reg:absoluteerror trees; the fixed copy is exact."""
    reg, X, _ = analytic
    first, pairs, base = _kSII(reg.booster_, X[:20], 6, 1)
    total = base + first.sum(axis=1) + np.triu(pairs, 1).sum(axis=(1, 2))
    np.testing.assert_allclose(total, reg.predict_delta(X[:20]), atol=1e-4)
    np.testing.assert_array_equal(pairs, np.transpose(pairs, (0, 2, 1)))


def test_importance_matches_exact_shapley_values(shap_result):
    imp = shap_result.table()[E.ALL]
    expected = {"x0": 4 / (9 * math.sqrt(3)), "x1": 0.25, "x2": 0.375, "x3": 0.15, "x4": 0.375}
    for name, value in expected.items():
        assert imp[name] == pytest.approx(value, rel=0.15), name
    assert imp[IRRELEVANT] < 0.05
    assert shap_result.ranking()[-1] == IRRELEVANT


def test_pipeline_finds_the_interacting_pair(interactions, analytic):
    top = interactions.top_pairs(3)
    assert top[0]["pair"] == ["x2", "x4"]
    assert top[0]["value"] > 0.1
    assert top[0]["value"] == pytest.approx(0.75, rel=0.15)  # exact: E|3 x2 x4| = 3/4
    assert top[1]["value"] < 0.2 * top[0]["value"]
    # at the best fit (the lowest-Δχ² point, x2·x4 ≈ −1) the pair term is close to 3·x2·x4
    best = interactions.top_pairs(1, which="best_fit")[0]
    assert best["pair"] == ["x2", "x4"] and abs(best["value"]) > 0.1
    tb = interactions.theta_best
    assert best["value"] == pytest.approx(3 * tb[2] * tb[4], abs=0.6)
    assert interactions.sample_theta.shape == (200, 6)
    # seeded: the same seed gives the same sample, another seed another one
    reg, X, delta = analytic
    again = E.pairwise_interactions(
        reg.booster_, X, delta, NAMES, n_points=200, edges=(2.0, 5.0), seed=0
    )
    np.testing.assert_array_equal(again.pairs, interactions.pairs)
    assert not np.array_equal(E.sample_rows(3000, 200, 1), E.sample_rows(3000, 200, 0))


# --------------------------------------------------------------------------------------------
# bands


def test_band_assignment_edges_are_lower_inclusive():
    delta = np.array([0.0, 2.29, 2.30, 5.0, 9.999, 10.0, 25.0, np.inf])
    np.testing.assert_array_equal(E.band_index(delta, (2.30, 10.0)), [0, 0, 1, 1, 1, -1, -1, -1])
    assert E.band_labels((2.30, 10.0)) == ["delta_chi2 < 2.3", "2.3 <= delta_chi2 < 10"]
    assert E.band_labels((1, 4, 9))[2] == "4 <= delta_chi2 < 9"
    for bad in ([], [2.3, 2.3], [10, 2.3], [-1, 2], [2, np.inf]):
        with pytest.raises(ValueError, match="band edges"):
            E.band_index(delta, bad)


def test_points_land_in_their_band_and_table_is_per_band(shap_result):
    r = shap_result
    t = r.table()
    assert list(t.columns) == ["delta_chi2 < 2", "2 <= delta_chi2 < 5", E.ALL]
    assert list(t.index) == list(NAMES)
    low, mid = r.band == 0, r.band == 1
    assert np.all(r.delta[low] < 2) and np.all((r.delta[mid] >= 2) & (r.delta[mid] < 5))
    assert np.all(r.delta[r.band == -1] >= 5)
    assert t.attrs["counts"] == {
        "delta_chi2 < 2": int(low.sum()),
        "2 <= delta_chi2 < 5": int(mid.sum()),
        E.ALL: r.delta.size,
    }
    np.testing.assert_allclose(t["delta_chi2 < 2"], np.abs(r.values[low]).mean(axis=0))
    # the bands answer a physics question: near the minimum (x2·x4 ≈ −1) the pair dominates more
    assert t.loc["x2", "delta_chi2 < 2"] > 2 * t.loc["x2", "2 <= delta_chi2 < 5"]


def test_in_region_points_is_strict_and_validated():
    theta = np.arange(12.0).reshape(6, 2)
    chi2 = np.array([13.0, 15.0, 23.0, 22.99, np.nan, 100.0])
    th, d = E.in_region_points(theta, chi2, threshold=10.0)
    np.testing.assert_array_equal(th, theta[[0, 1, 3]])
    np.testing.assert_allclose(d, [0.0, 2.0, 9.99])
    with pytest.raises(ValueError, match="chi2"):
        E.in_region_points(theta, chi2[:3])


def test_clear_errors_name_the_culprit(analytic):
    reg, X, delta = analytic
    with pytest.raises(ValueError, match="6 features but 5"):
        E.explain_points(reg.booster_, X[:, :5], delta, NAMES[:5])
    with pytest.raises(ValueError, match="delta: 3 values for 10 points"):
        E.explain_points(reg.booster_, X[:10], delta[:3], NAMES)
    bad = X[:4].copy()
    bad[2, 3] = np.nan
    with pytest.raises(ValueError, match="row 2 .*'x3'"):
        E.explain_points(reg.booster_, bad, delta[:4], NAMES)
    with pytest.raises(ValueError, match="backend"):
        E.shap_values(reg.booster_, X[:2], backend="lime")


# --------------------------------------------------------------------------------------------
# ablation with the package's Surrogate and a stand-in sampler


def chi2_sep(theta):
    """χ² = 13 + Σ_{i<5} (θ_i − c_i)²: separable, parameter 5 (0-based) irrelevant."""
    c = np.array([0.5, -1.0, 0.0, 1.0, -0.5])
    return 13.0 + np.sum((theta[:, :5] - c) ** 2, axis=1)


def sir_sampler(space, *, n_proposals=30_000, n_draws=4000, seed=0):
    """Stand-in posterior sampler (sampling-importance-resampling from the uniform prior). The same
    seed and FULL-dimensional draws for every call: the full and reduced models see the same random
    numbers, so their posteriors differ only where the models do."""

    def sample(model, cols):
        rng = np.random.default_rng(seed)
        theta = space.from_unit(rng.uniform(size=(n_proposals, space.dim)))[:, list(cols)]
        chi2 = model.predict_chi2(theta)
        w = np.exp(-0.5 * (chi2 - chi2.min()))
        return theta[rng.choice(n_proposals, size=n_draws, p=w / w.sum())]

    return sample


@pytest.fixture(scope="module")
def ablation_setup():
    space = ParameterSpace(tuple(f"p{i}" for i in range(6)), -3 * np.ones(6), 3 * np.ones(6))
    theta = space.from_unit(np.random.default_rng(3).uniform(size=(1500, 6)))
    chi2 = chi2_sep(theta)
    settings = dict(
        classifier_params={"max_depth": 4, "learning_rate": 0.3},
        regressor_params={"max_depth": 4, "learning_rate": 0.2},
        n_estimators=400,
        early_stopping_rounds=20,
        seed=0,
        nthread=1,
    )
    fit = E.surrogate_fitter(
        theta, chi2, space, reference=dict.fromkeys(space.names, 0.0), **settings
    )
    full = fit(list(range(6)))
    th_in, d_in = E.in_region_points(theta, chi2, threshold=10.0)
    res = E.explain_points(full[0].regressor_booster_, th_in, d_in, space.names)
    imp = E.parameter_importance(full[0], th_in, space.names, n_points=128, n_background=32)
    return space, fit, full, imp, res


def test_ablation_drops_the_irrelevant_parameter(ablation_setup):
    space, fit, full, imp, _ = ablation_setup
    assert E.least_important(imp) == "p5"
    abl = E.run_ablation(imp, space.names, fit=fit, sample=sir_sampler(space), full=full)
    assert abl.dropped == "p5" and abl.remaining == ("p0", "p1", "p2", "p3", "p4")
    assert abl.samples_full.shape[1] == abl.samples_reduced.shape[1] == 5
    assert abl.can_drop, abl.verdict
    assert "p5 can be dropped" in abl.verdict
    assert max(abl.ks.values()) <= E.KS_TOL
    assert abl.mae_reduced <= abl.mae_full + max(0.1 * abl.mae_full, 0.05)
    d = abl.as_dict()
    json.dumps(d, allow_nan=False)
    assert set(d["ks"]) == set(abl.remaining) and set(d["quantiles_full"]["p0"]) == {
        "q2.5",
        "q16",
        "q50",
        "q84",
        "q97.5",
    }


def test_ablation_keeps_a_relevant_parameter(ablation_setup):
    space, fit, full, imp, _ = ablation_setup
    abl = E.run_ablation(imp, space.names, fit=fit, sample=sir_sampler(space), full=full, drop="p1")
    assert not abl.can_drop
    assert "p1 should be kept" in abl.verdict and "MAE" in abl.verdict
    assert abl.mae_reduced > 1.3 * abl.mae_full
    with pytest.raises(ValueError, match="cannot drop 'q9'"):
        E.run_ablation(imp, space.names, fit=fit, sample=sir_sampler(space), full=full, drop="q9")


def test_emcee_sampler_plumbing(ablation_setup):
    from globalfit.inference import Prior

    space, _, (model, _), _, _ = ablation_setup
    sample = E.emcee_sampler(
        Prior(space), np.array([[0.5, -1.0, 0.0, 1.0, -0.5, 0.0]]), n_walkers=12, n_steps=60, seed=1
    )
    chain = sample(model, range(6))  # the full model: all six columns
    s = chain.samples
    assert s.ndim == 2 and s.shape[1] == 6 and s.shape[0] > 0
    assert np.all(np.abs(s) <= 3)
    np.testing.assert_array_equal(s, sample(model, range(6)).samples)  # seeded
    # 60 steps are far below 50 tau: the chain was continued, within 1 + MAX_EXTENSIONS times
    assert 60 < chain.n_steps <= 60 * (1 + E.MAX_EXTENSIONS)
    assert chain.converged or chain.n_steps == 60 * (1 + E.MAX_EXTENSIONS)
    reduced, _ = E.surrogate_fitter(
        model.split_.theta[:, :5],
        model.split_.chi2,
        ParameterSpace(space.names[:5], space.lower[:5], space.upper[:5]),
        reference={},
        **E.surrogate_settings(model),
    )(range(5))
    with pytest.raises(ValueError, match=r"\(n, 5\)"):
        sample(reduced, range(6))  # a model of 5 parameters cannot take 6 columns
    assert sample(reduced, range(5)).samples.shape[1] == 5


def shapley_by_definition(f, X, background):
    """Interventional Shapley values from the definition: every coalition, every weight."""
    from itertools import combinations

    n, d = X.shape
    value = {}
    for r in range(d + 1):
        for S in combinations(range(d), r):
            Z = np.repeat(background[None], n, axis=0)
            Z[:, :, list(S)] = X[:, None, list(S)]
            value[S] = f(Z.reshape(-1, d)).reshape(n, -1).mean(axis=1)
    phi = np.zeros((n, d))
    for S, v in value.items():
        for j in set(range(d)) - set(S):
            w = math.factorial(len(S)) * math.factorial(d - len(S) - 1) / math.factorial(d)
            phi[:, j] += w * (value[tuple(sorted((*S, j)))] - v)
    return phi


@pytest.mark.parametrize("d", [6, 12])  # exact coalitions, then antithetic permutations
def test_parameter_shapley_is_the_definition(d):
    rng = np.random.default_rng(4)
    X, B = rng.uniform(-1, 1, (40, d)), rng.uniform(-1, 1, (16, d))
    phi, base = E.parameter_shapley(f_ref, X, B, seed=0)
    np.testing.assert_allclose(base + phi.sum(axis=1), f_ref(X), atol=1e-9)
    # f_ref has interactions of order <= 2, for which antithetic permutations are exact too
    expected = shapley_by_definition(f_ref, X[:, :6], B[:, :6])
    np.testing.assert_allclose(phi[:, :6], expected, atol=1e-8)
    assert np.all(phi[:, 5:] == 0)  # x5 and the padding are not used
    with pytest.raises(ValueError, match="must be"):
        E.parameter_shapley(f_ref, X, B[:, :3])


def test_importance_reaches_parameters_through_their_features():
    """χ² = 10 + 3 (a + 2c)² + 0.2 b learned through the feature u = a + 2c: the trees split on
    u, so a and c look unimportant as raw columns, but the function of the parameters is the
    one above, whose Shapley values the importance must reproduce."""
    space = ParameterSpace(("a", "b", "c"), -np.ones(3), np.ones(3))
    rng = np.random.default_rng(5)
    theta = rng.uniform(-1, 1, (2500, 3))

    def chi2(t):
        return 10 + 3 * (t[:, 0] + 2 * t[:, 2]) ** 2 + 0.2 * t[:, 1]

    u = [{"name": "u", "expression": "a + 2 * c"}]
    sur = Surrogate(space, features=u, n_estimators=400, seed=0).fit(theta, chi2(theta))
    inside = theta[chi2(theta) - chi2(theta).min() < 10.0]
    imp = E.parameter_importance(sur, inside, space.names, n_points=200, n_background=50)
    order = np.random.default_rng(0).permutation(len(inside))
    X, B = inside[order[:200]], inside[order[::-1][:50]]
    # on the regressor's own scale (Δχ²), the exact answer for the true function
    truth = np.abs(shapley_by_definition(lambda t: chi2(t) - 10, X, B)).mean(axis=0)
    np.testing.assert_allclose([imp[n] for n in space.names], truth, rtol=0.15, atol=0.05)
    assert imp["c"] > imp["a"] > 10 * imp["b"] and E.least_important(imp) == "b"
    raw = E.explain_points(
        sur.regressor_booster_, sur.features_of(X), np.zeros(len(X)), sur.feature_names
    )
    assert raw.table()[E.ALL]["c"] < 0.2 * imp["c"]  # the confounding the importance removes


def test_ablation_reports_fixed_parameter_recomputed_features_and_short_chains():
    from types import SimpleNamespace

    names = ("a", "b", "c")
    features = [
        {"name": "u", "expression": "a + 2 * c"},
        {"name": "cc", "expression": "c**2"},
        {"name": "w", "expression": "cc * b"},
    ]

    def chain(cols, converged):
        samples = np.random.default_rng(0).normal(size=(400, len(cols)))
        return SimpleNamespace(
            samples=samples, converged=converged, n_steps=300, tau=np.full(3, 9.0)
        )

    abl = E.run_ablation(
        {"a": 1.0, "b": 0.5, "c": 0.1},
        names,
        fit=lambda cols: (None, 0.1),
        sample=lambda m, cols: chain(cols, converged=True),
        reference={"c": -0.5},
        features=features,
    )
    assert abl.dropped == "c" and abl.fixed_at == -0.5
    assert abl.recomputed == ["u", "w"] and abl.constant == ["cc"]
    assert "fixes it at -0.5 and recomputes the derived inputs u, w there" in abl.verdict
    assert "leaving out cc (constant there)" in abl.verdict and abl.can_drop
    assert abl.chains["reduced"] == {"converged": True, "n_steps": 300, "max_tau": 9.0}
    short = E.run_ablation(
        {"a": 1.0, "b": 0.5, "c": 0.1},
        names,
        fit=lambda cols: (None, 0.1),
        sample=lambda m, cols: chain(cols, converged=len(cols) == 3),
        reference={"c": -0.5},
        features=features,
    )
    assert not short.can_drop
    assert "the reduced chain (300 steps < 50 x tau 9) is too short" in short.verdict


# --------------------------------------------------------------------------------------------
# importance.json and plots


def test_importance_json_structure(tmp_path, shap_result, interactions, ablation_setup):
    space, fit, full, imp, _ = ablation_setup
    abl = E.run_ablation(
        imp,
        space.names,
        fit=fit,
        sample=sir_sampler(space, n_proposals=5000, n_draws=1000),
        full=full,
    )
    summary = E.importance_summary(shap_result, interactions, abl, top_k=5, provenance={"seed": 0})
    path = E.write_importance_json(summary, tmp_path / "importance.json")
    data = json.loads(path.read_text())
    assert {"bands", "interactions", "ablation"} <= set(data)
    assert list(data["bands"]) == ["delta_chi2 < 2", "2 <= delta_chi2 < 5", E.ALL]
    assert all(set(v) == set(NAMES) for v in data["bands"].values())
    assert data["ranking"][-1] == IRRELEVANT and data["band_edges"] == [2.0, 5.0]
    for which in ("best_fit", "mean_abs"):
        pairs = data["interactions"][which]
        assert len(pairs) == 5 and all(
            set(p) == {"pair", "value"} and len(p["pair"]) == 2 for p in pairs
        )
        mags = [abs(p["value"]) for p in pairs]
        assert mags == sorted(mags, reverse=True)
    assert data["interactions"]["mean_abs"][0]["pair"] == ["x2", "x4"]
    a = data["ablation"]
    assert {"dropped", "mae_full", "mae_reduced", "ks", "verdict", "can_drop", "thresholds"} <= set(
        a
    )
    assert a["dropped"] == "p5" and isinstance(a["verdict"], str)
    # no interactions / ablation yet: the keys are there, as null
    bare = E.importance_summary(shap_result)
    assert bare["interactions"] is None and bare["ablation"] is None


def test_explain_surrogate_and_plots_write_pngs(tmp_path, ablation_setup):
    from globalfit.plots import explain as P

    space, _, (model, _), _, _ = ablation_setup
    theta = model.split_.theta
    th, d = E.in_region_points(theta, model.split_.chi2)
    ex = E.explain_surrogate(model, th, d, n_interaction_points=60, seed=0)
    assert ex.classifier.scale.startswith("log-odds") and ex.best_fit.values.shape == (1, 6)
    assert ex.best_fit.delta[0] == 0.0
    abl = E.run_ablation(
        ex.regressor.table()[E.ALL].to_dict(),
        space.names,
        fit=lambda cols: (model, 0.1),
        sample=lambda m, cols: np.random.default_rng(0).normal(size=(500, len(cols))),
    )
    paths = [
        P.plot_importance_bars(ex.regressor, tmp_path / "bars.png"),
        P.plot_beeswarm(ex.regressor, tmp_path / "beeswarm.png"),
        P.plot_beeswarm(ex.classifier, tmp_path / "beeswarm_low.png", band="delta_chi2 < 2.3"),
        P.plot_dependence(ex.regressor, tmp_path / "dependence.png"),
        P.plot_waterfall(ex.best_fit, tmp_path / "waterfall.png"),
        P.plot_interaction_network(ex.interactions, tmp_path / "network.png"),
        P.plot_interaction_network(
            ex.interactions, tmp_path / "network_shapiq.png", which="best_fit", style="shapiq"
        ),
        P.plot_interaction_matrix(ex.interactions, tmp_path / "matrix.png"),
        P.plot_ablation(abl, tmp_path / "ablation.png"),
    ]
    for p in paths:
        assert p.is_file() and p.read_bytes()[:4] == b"\x89PNG" and p.stat().st_size > 5000, p
    with pytest.raises(ValueError, match="unknown band"):
        P.plot_beeswarm(ex.regressor, tmp_path / "x.png", band=7)


def test_points_from_a_saved_bundle(tmp_path, ablation_setup):
    space, _, (model, _), _, _ = ablation_setup
    model.save(tmp_path / "bundle", compile=False)
    theta, delta, names = E.points_from_bundle(tmp_path / "bundle")
    loaded = Surrogate.load(tmp_path / "bundle", backend="xgboost")
    s = model.split_
    assert names == space.names
    np.testing.assert_allclose(theta, s.theta[s.in_region])
    np.testing.assert_allclose(delta, s.delta[s.in_region])
    a = E.explain_points(loaded.regressor_booster_, theta, delta, names)
    b = E.explain_points(model.regressor_booster_, theta, delta, names)
    np.testing.assert_allclose(a.values, b.values, atol=1e-6)


def _same(a, b, where="result"):
    """Field-by-field, bit-for-bit equality of explanation results (arrays, dicts, nested)."""
    import dataclasses

    assert type(a) is type(b), where
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if dataclasses.is_dataclass(x):
            _same(x, y, f"{where}.{f.name}")
        elif isinstance(x, np.ndarray):
            assert x.dtype.kind == y.dtype.kind and x.shape == y.shape, f"{where}.{f.name}"
            assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), f"{where}.{f.name}"
        else:
            assert type(x) is type(y) and x == y, f"{where}.{f.name}"


def test_results_pass_between_rules_as_hdf5_bit_for_bit(tmp_path, ablation_setup):
    from globalfit.explain.storage import load_result, save_result

    space, _, (model, _), _, _ = ablation_setup
    th, d = E.in_region_points(model.split_.theta, model.split_.chi2)
    ex = E.explain_surrogate(model, th, d, n_interaction_points=40, seed=0)
    abl = E.run_ablation(
        ex.regressor.table()[E.ALL].to_dict(),
        space.names,
        fit=lambda cols: (model, 0.1),
        sample=lambda m, cols: np.random.default_rng(0).normal(size=(300, len(cols))),
    )
    for name, result in (("explanation", ex), ("ablation", abl)):
        path = save_result(tmp_path / f"{name}.h5", result)
        _same(result, load_result(path), name)
    assert ex.classifier is not None
    ex.classifier = None  # an absent classifier explanation survives as None
    assert load_result(save_result(tmp_path / "bare.h5", ex)).classifier is None
    with pytest.raises(TypeError, match="not an explanation result"):
        save_result(tmp_path / "x.h5", {"a": 1})
