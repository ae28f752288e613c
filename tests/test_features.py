"""Derived surrogate inputs (surrogate.features): parsing, values, and that the models use them."""

from __future__ import annotations

import numpy as np
import pytest

from globalfit.explain import (
    explain_surrogate,
    retuning_fitter,
    surrogate_fitter,
    surrogate_settings,
)
from globalfit.features import FeatureMap
from globalfit.space import ParameterSpace
from globalfit.surrogate import Surrogate, check_compiled_agreement, roc_auc

SPACE = ParameterSpace(
    names=("a", "b", "c"), lower=np.array([-1.0, -1.0, 0.0]), upper=np.array([1.0, 1.0, 1.0])
)
DIAGONAL = [{"name": "a_plus_b", "expression": "a + b"}]


def test_feature_values_follow_the_expressions():
    fm = FeatureMap(
        ("a", "b", "c"),
        [
            {"name": "g", "expression": "(b + 0.5 * a) * 10**(1 - c)"},
            {"name": "h", "expression": "log10(abs(a) + 1e-3)"},
        ],
    )
    theta = np.array([[0.2, -0.4, 0.5], [-1.0, 1.0, 0.0]])
    X = fm(theta)
    assert fm.names == ("a", "b", "c", "g", "h")
    np.testing.assert_array_equal(X[:, :3], theta)
    np.testing.assert_allclose(X[:, 3], (theta[:, 1] + 0.5 * theta[:, 0]) * 10 ** (1 - theta[:, 2]))
    np.testing.assert_allclose(X[:, 4], np.log10(np.abs(theta[:, 0]) + 1e-3))
    assert FeatureMap(("a",))(theta[:, :1]).shape == (2, 1)
    # 10**501 overflows, 10**41 is beyond float32 (the models' type): both passed on as missing
    far = fm(np.array([[0.2, -0.4, -500.0], [0.2, -0.4, -40.0]]))
    assert np.isnan(far[:, 3]).all() and np.isfinite(far[:, 4]).all()


def test_compiled_features_equal_numpy_ones_to_a_float32_ulp(tmp_path):
    from pathlib import Path

    import yaml

    from globalfit.surrogate import CompiledFeatures, compile_features

    every_function = [
        {"name": "g", "expression": "(b + 0.5 * a) * 10**(1 - c)"},
        {
            "name": "h",
            "expression": "log10(abs(a) + 1e-3) - g**2 / (1 + sqrt(c)) + exp(-a) * sinh(b)",
        },
        {"name": "k", "expression": "arcsinh(h) * tanh(-b) + log(c) + +a"},
    ]
    alp = yaml.safe_load((Path(__file__).parents[1] / "config" / "config.yaml").read_text())
    alp_space = ParameterSpace.from_config(alp["parameters"])
    # the shape of the features the ALP oracle derives (globalfit.oracles.alp_features)
    x = "(log10_fa - 7)"
    alp_features = [
        {
            "name": "c_mumu_over_fa",
            "expression": f"(ceR + (0.2292 + 0.0216 * {x} - 0.0013 * {x}**2) * (cuR - cqL33)"
            " - 0.0021 * cdR) * 10**(7 - log10_fa)",
        },
        {
            "name": "c_bs_over_fa",
            "expression": "(-0.0398 * cqL33 - 0.0016 * cuR) * 10**(7 - log10_fa)",
        },
        {
            "name": "c_gg_over_fa",
            "expression": "(-0.1296 * cqL33 + 0.4687 * cuR + 0.9916 * cdR) * 10**(7 - log10_fa)",
        },
        {"name": "width", "expression": "c_mumu_over_fa**2 + 10.1508 * c_gg_over_fa**2"},
        {"name": "br_a_mumu", "expression": "c_mumu_over_fa**2 / width"},
        {"name": "b_to_k_mumu", "expression": "c_bs_over_fa**2 * br_a_mumu"},
        {"name": "b_to_k_invisible", "expression": "c_bs_over_fa**2 * exp(-0.0380951 * width)"},
    ]
    cases = [(SPACE, every_function), (alp_space, alp_features)]
    for i, (space, features) in enumerate(cases):
        fm = FeatureMap(space.names, features)
        compiled = CompiledFeatures(
            compile_features(fm, tmp_path / f"f{i}.so"), space.dim, len(fm.names)
        )
        theta = space.from_unit(np.random.default_rng(i).uniform(size=(20_000, space.dim)))
        theta[:3] = space.lower  # log(0) = -inf and friends: missing in both
        got, expected = compiled(theta), fm(theta).astype(np.float32)
        # libm and numpy's SIMD loops (AVX-512 / SVML on some CPUs) may round a double's last bit
        # differently (measured: 15 % of these doubles differ between numpy's AVX-512 and SSE
        # paths, no float32); that may move a float32 by one ulp, rarely, but never more
        np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
        finite = np.isfinite(expected)
        np.testing.assert_array_equal(got[~finite], expected[~finite])  # ±inf where numpy has them
        np.testing.assert_array_max_ulp(got[finite], expected[finite], maxulp=1)
        assert np.mean(got[finite] == expected[finite]) >= 0.999
    with pytest.raises(ValueError, match=r"shape \(n, 3\)"):
        compiled_every = CompiledFeatures(tmp_path / "f0.so", 3, 6)
        compiled_every(np.zeros((2, 4)))


@pytest.mark.parametrize(
    "expression, message",
    [
        ("a + q", "unknown name 'q'"),
        ("a.real", "Attribute"),
        ("__import__('os')", "one-argument calls"),
        ("exp(a, b)", "one-argument calls"),
        ("abs + a", "must be called"),
        ("1 + 2", "uses no parameter"),
        ("a if b else c", "IfExp"),
        ("(a", "cannot parse"),
        ("a + 'x'", "numeric constants"),
    ],
)
def test_bad_expressions_are_rejected_naming_the_feature(expression, message):
    with pytest.raises(ValueError, match=message) as err:
        FeatureMap(("a", "b", "c"), [{"name": "g", "expression": expression}])
    assert "surrogate.features[0] ('g')" in str(err.value)


def test_feature_names_must_be_new_identifiers():
    with pytest.raises(ValueError, match="identifier"):
        FeatureMap(("a", "b"), [{"name": "a", "expression": "a + b"}])


def test_features_may_use_earlier_features_only():
    chained = [
        {"name": "g", "expression": "a * b"},
        {"name": "h", "expression": "g**2 / (g**2 + c)"},
        {"name": "k", "expression": "exp(-h) * a"},
    ]
    fm = FeatureMap(("a", "b", "c"), chained)
    theta = np.array([[0.2, -0.4, 0.5], [-1.0, 1.0, 0.25]])
    g = theta[:, 0] * theta[:, 1]
    h = g**2 / (g**2 + theta[:, 2])
    np.testing.assert_allclose(fm(theta)[:, 3:], np.column_stack([g, h, np.exp(-h) * theta[:, 0]]))
    # dependencies are followed through the chain: without b, neither g nor h nor k can be built
    assert fm.uses == [{"a", "b"}, {"a", "b", "c"}, {"a", "b", "c"}]
    # b fixed at 0.5: every feature is rebuilt on a and c alone, and gives the full map's values
    kept, constant = fm.fixed({"b": 0.5})
    assert [f["name"] for f in kept] == ["g", "h", "k"] and constant == []
    reduced = FeatureMap(("a", "c"), kept)
    at_half = np.column_stack([theta[:, 0], np.full(2, 0.5), theta[:, 2]])
    np.testing.assert_array_equal(reduced(theta[:, [0, 2]])[:, 2:], fm(at_half)[:, 3:])
    # a negative value keeps its precedence ((-2) ** 2, not -(2 ** 2)); a feature of fixed
    # parameters only is a constant, left out, and its value enters the features built on it
    sq = FeatureMap(
        ("a", "b"), [{"name": "s", "expression": "b**2"}, {"name": "t", "expression": "s * a"}]
    )
    kept, constant = sq.fixed({"b": -2.0})
    assert constant == ["s"] and kept == [{"name": "t", "expression": "4.0 * a"}]
    with pytest.raises(ValueError, match=r"cannot fix \['z'\]"):
        fm.fixed({"z": 1.0})
    with pytest.raises(ValueError, match=r"surrogate.features\[0\] \('g'\).*unknown name 'h'"):
        FeatureMap(
            ("a", "b"), [{"name": "g", "expression": "h + a"}, {"name": "h", "expression": "a * b"}]
        )
    with pytest.raises(ValueError, match="identifier"):
        FeatureMap(("a", "b"), [{"name": "exp", "expression": "a + b"}])


def test_non_finite_feature_on_training_points_names_it():
    theta = uniform(60, 0)
    theta[5, 0] = 0.0
    chi2 = 10 + 50 * theta[:, 0] ** 2
    with pytest.raises(ValueError, match="'inv_a' = 1 / a is not finite at training point row 5"):
        Surrogate(SPACE, features=[{"name": "inv_a", "expression": "1 / a"}], seed=0).fit(
            theta, chi2
        )


def valley_chi2(theta):
    """χ² low only in a thin slab |a + b| < 0.1: a boundary oblique to every axis."""
    s = np.abs(theta[:, 0] + theta[:, 1])
    return 10 + 2 * theta[:, 2] + np.where(s < 0.1, 0.0, 1e3 * (s - 0.1) + 20)


def uniform(n, seed):
    return SPACE.from_unit(np.random.default_rng(seed).uniform(size=(n, 3)))


@pytest.fixture(scope="module")
def valley_models():
    theta = uniform(600, 1)
    near = np.random.default_rng(2).uniform(-0.15, 0.15, 150)
    theta[:150, 1] = np.clip(near - theta[:150, 0], -1, 1)  # a quarter of the points near the slab
    chi2 = valley_chi2(theta)
    kw = dict(n_estimators=300, early_stopping_rounds=30, seed=0)
    return Surrogate(SPACE, **kw).fit(theta, chi2), Surrogate(SPACE, features=DIAGONAL, **kw).fit(
        theta, chi2
    )


def test_a_feature_along_the_wall_sharpens_the_classifier(valley_models):
    plain, derived = valley_models
    fresh = uniform(4000, 9)
    chi2 = valley_chi2(fresh)
    inside = chi2 - min(plain.chi2_best_, derived.chi2_best_) < plain.threshold
    auc = {
        name: roc_auc(inside, s.predict_proba(fresh))
        for name, s in (("plain", plain), ("derived", derived))
    }
    assert auc["derived"] > 0.99 > auc["plain"], auc
    assert derived.features_of(fresh).shape == (4000, 4)
    np.testing.assert_allclose(derived.features_of(fresh)[:, 3], fresh[:, 0] + fresh[:, 1])


def test_bundle_with_features_round_trips_and_compiles(valley_models, tmp_path):
    _, derived = valley_models
    derived.save(tmp_path / "b", compile=True)
    fresh = uniform(500, 4)
    for backend in ("xgboost", "compiled"):
        loaded = Surrogate.load(tmp_path / "b", backend=backend)
        assert loaded.features == DIAGONAL and loaded.feature_names == ("a", "b", "c", "a_plus_b")
        p0, c0 = derived.predict(fresh)
        p1, c1 = loaded.predict(fresh)
        np.testing.assert_allclose(p1, p0, atol=1e-5)
        np.testing.assert_allclose(
            c1[p1 >= loaded.threshold_p_], c0[p1 >= loaded.threshold_p_], atol=1e-3
        )
    agreement = check_compiled_agreement(tmp_path / "b", n=2000)
    assert all(v["agree"] for v in agreement.values()), agreement
    # the compiled surrogate computes its inputs with the bundle's compiled features
    assert "CompiledFeatures" in repr(
        Surrogate.load(tmp_path / "b", backend="compiled")._model_inputs
    )
    (lib,) = (tmp_path / "b").glob("features-*.so")
    lib.unlink()
    with pytest.raises(
        FileNotFoundError,
        match=r"no compiled features library \(features-\w+\.so is missing\): "
        r"run globalfit.surrogate.compile_bundle",
    ):
        Surrogate.load(tmp_path / "b", backend="compiled")
    from globalfit.surrogate import compile_bundle

    assert compile_bundle(tmp_path / "b")["features_library"] == lib.name and lib.is_file()


def test_explanations_name_the_features_and_ablation_fixes_the_dropped_parameter(
    valley_models, tmp_path
):
    _, derived = valley_models
    split = derived.split_
    m = split.in_region
    ex = explain_surrogate(
        derived, split.theta[m], split.delta[m], n_interaction_points=32, classifier=False
    )
    assert ex.regressor.names == ("a", "b", "c", "a_plus_b")
    theta, chi2 = split.theta, split.chi2
    reference = {"a": 0.5, "b": -0.25, "c": 0.0}
    fit = surrogate_fitter(
        theta,
        chi2,
        SPACE,
        reference=reference,
        **{**surrogate_settings(derived), "n_estimators": 50},
    )
    reduced, _ = fit([1, 2])  # without a: a + b is rebuilt with a = 0.5
    assert reduced.feature_names == ("b", "c", "a_plus_b")
    bc = theta[:5, 1:]
    np.testing.assert_array_equal(reduced.features_of(bc)[:, 2], np.float64(0.5) + bc[:, 0])
    kept, _ = fit([0, 1])
    assert kept.features == DIAGONAL
    retuned, _ = retuning_fitter(
        theta,
        chi2,
        SPACE,
        tmp_path,
        reference=reference,
        n_trials=1,
        n_folds=2,
        tuning_rounds=30,
        seed=0,
        features=DIAGONAL,
        n_estimators=50,
    )([1, 2])
    assert retuned.feature_names == ("b", "c", "a_plus_b")
    with pytest.raises(ValueError, match=r"no reference value.*\['a'\]"):
        surrogate_fitter(theta, chi2, SPACE, reference={"b": 0.0}, features=DIAGONAL)([1, 2])
