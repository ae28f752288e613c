"""The two-stage surrogate of χ²(θ), :class:`Surrogate`: the classifier decides "in region", the
regressor predicts Δχ² there, and outside the surrogate returns the wall value.

Points are in parameter units, ``theta : (n, d) float`` in the order of ``space.names``; the
models' inputs are θ itself (trees need no scaling; explanations stay in physical units) as
float32, then the derived features (:mod:`globalfit.features`). Every random choice comes from
``seed`` and thread counts are explicit, so the same inputs give identical models.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from globalfit.features import FeatureMap
from globalfit.space import ParameterSpace
from globalfit.surrogate.bundle import bundle_metadata, load_bundle, save_bundle
from globalfit.surrogate.metrics import evaluate
from globalfit.surrogate.models import TARGET_TRANSFORMS, Chi2Regressor, RegionClassifier
from globalfit.surrogate.split import DEFAULT_THRESHOLD, WALL_CHI2, DataSplit, split_dataset

__all__ = ["Surrogate"]


class Surrogate:
    """Classifier + regressor surrogate of χ²(θ) on a parameter box.

    ``predict(theta (n, d)) -> (p_in_region (n,), chi2 (n,))``: where the classifier keeps a
    point (p >= the calibrated ``threshold_p_``), chi2 = chi2_best_ + predicted Δχ²; elsewhere
    chi2 = ``wall_chi2`` (default :data:`WALL_CHI2` = 1e6). Points outside the box raise a
    ValueError, or with ``out_of_bounds="flag"`` get p = 0 and chi2 = +inf (a sampler's −inf
    log-likelihood). Predicted Δχ² is not clipped at 0.

    ``predict_chi2(..., classifier_weighted=True)`` returns χ² − 2 ln p where the classifier keeps
    a point: −2 ln of the expected likelihood p·e^(−χ²/2) + (1 − p)·0, reading p as the chance
    that the point lies in the region at all. A posterior on it fades out towards the classifier's
    edge instead of ending at a cliff, where it otherwise piles up: on the default ALP run 62 % of
    the posterior samples were wall points (true χ² > 30) with p between 0.03 and 0.6, the
    in-region ones had a median p of 0.98.

    Settings (stored by ``__init__``): threshold on Δχ² (region = Δχ² < threshold), recall
    target, regressor margin (the regressor trains on Δχ² < threshold + margin), split
    fractions, target transform, regressor objective/metric, XGBoost params of both models,
    boosting limits, wall value, seed, nthread.
    Learned (after ``fit`` or ``load``): split_ (fit only), chi2_best_, threshold_p_,
    recall_validation_, classifier_ / regressor_ (fit only), metrics_, backend_.
    """

    #: the constructor's settings (besides ``space``), in order: :meth:`get_params` returns them,
    #: and a reduced or re-fitted surrogate is built from them exactly like this one
    SETTINGS = (
        "threshold",
        "recall_target",
        "calibration_folds",
        "calibration_repeats",
        "regressor_margin",
        "fractions",
        "target_transform",
        "regressor_objective",
        "regressor_eval_metric",
        "classifier_params",
        "regressor_params",
        "n_estimators",
        "early_stopping_rounds",
        "wall_chi2",
        "features",
        "seed",
        "nthread",
    )

    def __init__(
        self,
        space: ParameterSpace,
        *,
        threshold: float = DEFAULT_THRESHOLD,
        recall_target: float = 0.99,
        calibration_folds: int = 5,
        calibration_repeats: int = 5,
        regressor_margin: float = 5.0,
        fractions: Sequence[float] = (0.6, 0.2, 0.2),
        target_transform: str = "delta_chi2",
        regressor_objective: str = "reg:absoluteerror",
        regressor_eval_metric: str = "mae",
        classifier_params: Mapping | None = None,
        regressor_params: Mapping | None = None,
        n_estimators: int = 2000,
        early_stopping_rounds: int = 50,
        wall_chi2: float = WALL_CHI2,
        features: Sequence[Mapping] = (),
        seed: int = 0,
        nthread: int = 1,
    ):
        self.space = space
        self.threshold = threshold
        self.recall_target = recall_target
        self.calibration_folds = calibration_folds
        self.calibration_repeats = calibration_repeats
        self.regressor_margin = regressor_margin
        self.fractions = tuple(fractions)
        self.target_transform = target_transform
        self.regressor_objective = regressor_objective
        self.regressor_eval_metric = regressor_eval_metric
        self.classifier_params = dict(classifier_params or {})
        self.regressor_params = dict(regressor_params or {})
        self.n_estimators = n_estimators
        self.early_stopping_rounds = early_stopping_rounds
        self.wall_chi2 = wall_chi2
        self.features = [dict(f) for f in features]
        self.seed = seed
        self.nthread = nthread

    def get_params(self) -> dict:
        """{setting: value} of :data:`SETTINGS` (as scikit-learn's ``get_params``)."""
        return {k: getattr(self, k) for k in self.SETTINGS}

    # ---------------------------------------------------------------- fitting
    def fit(self, theta: np.ndarray, chi2: np.ndarray, ok: np.ndarray | None = None) -> Surrogate:
        """theta : (N, d), chi2 : (N,), ok : (N,) bool or None. Splits with ``seed`` and fits."""
        split = split_dataset(
            theta,
            chi2,
            ok=ok,
            threshold=self.threshold,
            fractions=self.fractions,
            seed=self.seed,
            space=self.space,
        )
        return self.fit_split(split)

    def fit_split(self, split: DataSplit) -> Surrogate:
        """Fit on a :class:`DataSplit` (e.g. the one the tuner used); its test part is only
        evaluated."""
        if split.threshold != self.threshold:
            raise ValueError(
                f"split threshold {split.threshold} differs from the surrogate's {self.threshold}"
            )
        if split.theta.shape[1] != self.space.dim:
            raise ValueError(
                f"split has {split.theta.shape[1]} parameters, the space {self.space.dim}"
            )
        if not self.regressor_margin >= 0:
            raise ValueError(f"regressor_margin must be >= 0, got {self.regressor_margin}")
        if not np.isfinite(self.wall_chi2):
            raise ValueError("wall_chi2 must be finite")
        tr, va = split.train, split.validation
        self.feature_map_ = FeatureMap(self.space.names, self.features)
        X = self.feature_map_.check_finite(split.theta, "training point")
        self.classifier_ = RegionClassifier(
            self.classifier_params,
            recall_target=self.recall_target,
            n_estimators=self.n_estimators,
            early_stopping_rounds=self.early_stopping_rounds,
            calibration_folds=self.calibration_folds,
            calibration_repeats=self.calibration_repeats,
            seed=self.seed,
            nthread=self.nthread,
        ).fit(X[tr], split.in_region[tr], X[va], split.in_region[va])
        reg = split.region_mask(self.regressor_margin)
        tr_r, va_r = tr[reg[tr]], va[reg[va]]
        self.regressor_ = Chi2Regressor(
            self.regressor_params,
            objective=self.regressor_objective,
            eval_metric=self.regressor_eval_metric,
            target_transform=self.target_transform,
            n_estimators=self.n_estimators,
            early_stopping_rounds=self.early_stopping_rounds,
            seed=self.seed,
            nthread=self.nthread,
        ).fit(X[tr_r], split.delta[tr_r], X[va_r], split.delta[va_r])
        self.split_ = split
        self.chi2_best_ = split.chi2_best
        self.threshold_p_ = self.classifier_.threshold_
        self.recall_validation_ = self.classifier_.recall_validation_
        self._set_backend("xgboost", self.classifier_.booster_, self.regressor_.booster_)
        self.metrics_ = evaluate(self, split)
        return self

    def _set_backend(
        self, backend, clf_booster, reg_booster, clf_lib=None, reg_lib=None, features_lib=None
    ):
        from globalfit.surrogate.compilation import CompiledFeatures, CompiledModel, XGBoostModel

        for b in (clf_booster, reg_booster):  # a loaded booster would otherwise use every core
            b.set_param({"nthread": int(self.nthread)})
        self.classifier_booster_ = clf_booster
        self.regressor_booster_ = reg_booster
        if backend == "xgboost":
            self._clf = XGBoostModel(clf_booster, nthread=self.nthread)
            self._reg = XGBoostModel(reg_booster, nthread=self.nthread)
        elif backend == "compiled":
            self._clf = CompiledModel(clf_lib, nthread=self.nthread)
            self._reg = CompiledModel(reg_lib, nthread=self.nthread)
        else:
            raise ValueError(f"backend must be 'compiled' or 'xgboost', got {backend!r}")
        # the models' inputs: the compiled derived features where the bundle has them (bundles
        # written before them, and the xgboost backend, evaluate the expressions with numpy)
        self._model_inputs = self.feature_map_
        if backend == "compiled" and features_lib is not None:
            self._model_inputs = CompiledFeatures(
                features_lib, self.space.dim, len(self.feature_map_.names)
            )
        self.backend_ = backend
        self._inverse = TARGET_TRANSFORMS[self.target_transform][1]

    # ---------------------------------------------------------------- prediction
    def _check_fitted(self):
        if not hasattr(self, "backend_"):
            raise RuntimeError("this Surrogate is not fitted: call fit() or Surrogate.load()")

    def _inputs(self, theta, out_of_bounds: str):
        self._check_fitted()
        if out_of_bounds == "raise":
            return self.space.check(theta, what="surrogate input"), None
        if out_of_bounds == "flag":
            X = self.space.check(theta, what="surrogate input", require_inside=False)
            inside = self.space.contains(X)
            return X, (None if inside.all() else inside)
        raise ValueError(f"out_of_bounds must be 'raise' or 'flag', got {out_of_bounds!r}")

    def predict(
        self, theta: np.ndarray, *, out_of_bounds: str = "raise"
    ) -> tuple[np.ndarray, np.ndarray]:
        """theta : (n, d) (or (d,)) -> (p_in_region (n,), chi2 (n,)). See the class docstring."""
        X, inside = self._inputs(theta, out_of_bounds)
        if inside is not None:
            p = np.zeros(X.shape[0])
            chi2 = np.full(X.shape[0], np.inf)
            if inside.any():
                p[inside], chi2[inside] = self._predict_inside(X[inside])
            return p, chi2
        return self._predict_inside(X)

    def features_of(self, theta: np.ndarray) -> np.ndarray:
        """theta (n, d) -> (n, d + k) model inputs: θ, then the derived features (θ itself if
        none)."""
        self._check_fitted()
        return self.feature_map_(theta)

    @property
    def feature_names(self) -> tuple[str, ...]:
        """Names of the model inputs: the parameters, then the derived features."""
        return FeatureMap(self.space.names, self.features).names

    def _predict_inside(self, X):
        if X.shape[0] == 0:
            return np.zeros(0), np.zeros(0)
        X = self._model_inputs(X)
        p = self._clf.predict(X)
        keep = p >= self.threshold_p_
        chi2 = np.full(X.shape[0], float(self.wall_chi2))
        if keep.all():
            chi2 = self.chi2_best_ + self._inverse(self._reg.predict(X))
        elif keep.any():
            # the regressor only runs where its answer is used
            chi2[keep] = self.chi2_best_ + self._inverse(self._reg.predict(X[keep]))
        return p, chi2

    def predict_proba(self, theta: np.ndarray, *, out_of_bounds: str = "raise") -> np.ndarray:
        """theta : (n, d) -> (n,) classifier probability of Δχ² < threshold (0 if flagged out of
        box)."""
        X, inside = self._inputs(theta, out_of_bounds)
        if inside is None:
            return self._clf.predict(self._model_inputs(X)) if X.shape[0] else np.zeros(0)
        p = np.zeros(X.shape[0])
        if inside.any():
            p[inside] = self._clf.predict(self._model_inputs(X[inside]))
        return p

    def in_region(self, theta: np.ndarray, *, out_of_bounds: str = "raise") -> np.ndarray:
        """theta : (n, d) -> (n,) bool, the calibrated decision p_in_region >= threshold_p_."""
        return self.predict_proba(theta, out_of_bounds=out_of_bounds) >= self.threshold_p_

    def predict_chi2(
        self,
        theta: np.ndarray,
        *,
        out_of_bounds: str = "raise",
        classifier_weighted: bool = False,
        outside: float | None = None,
    ) -> np.ndarray:
        """theta : (n, d) -> (n,) two-stage χ² (``wall_chi2`` where discarded, or ``outside``
        if given, e.g. +inf for a likelihood that is zero there); with ``classifier_weighted``,
        χ² − 2 ln p_in_region where kept (see the class docstring)."""
        p, chi2 = self.predict(theta, out_of_bounds=out_of_bounds)
        return self._finish(p, chi2, classifier_weighted, outside)

    def predict_chi2_inside(
        self, X: np.ndarray, *, classifier_weighted: bool = False, outside: float | None = None
    ) -> np.ndarray:
        """X : (n, d) float64 points already known to be finite and inside the box -> (n,) χ², as
        :meth:`predict_chi2` but without its input checks (~20 µs of a 32-point call): for
        :class:`~globalfit.inference.priors.LogPosterior`, which cuts to the box before calling."""
        self._check_fitted()
        p, chi2 = self._predict_inside(X)
        return self._finish(p, chi2, classifier_weighted, outside)

    def _finish(self, p, chi2, classifier_weighted, outside):
        kept = (p >= self.threshold_p_) & (p > 0)
        out = np.array(chi2, dtype=np.float64)
        if classifier_weighted:
            out[kept] -= 2.0 * np.log(p[kept])
        if outside is not None:
            out[~kept] = outside
        return out

    def predict_chi2_unmasked(self, theta: np.ndarray) -> np.ndarray:
        """theta : (n, d) inside the box -> (n,) regressor χ² ignoring the classifier (diagnostics
        only:
        far from the region this is an extrapolation, not a χ²)."""
        X, _ = self._inputs(theta, "raise")
        return self.chi2_best_ + self._inverse(self._reg.predict(self._model_inputs(X)))

    # ---------------------------------------------------------------- persistence
    def metadata(
        self, *, config_hash: str | None = None, provenance: Mapping | None = None, files=None
    ) -> dict:
        """Everything needed to use the models without the training code (metadata.json)."""
        return bundle_metadata(self, config_hash=config_hash, provenance=provenance, files=files)

    def save(self, bundle_dir: Path | str, **kwargs) -> Path:
        """Write the bundle to ``bundle_dir`` (:func:`globalfit.surrogate.bundle.save_bundle`)."""
        return save_bundle(self, bundle_dir, **kwargs)

    @classmethod
    def load(
        cls, bundle_dir: Path | str, *, backend: str = "compiled", nthread: int = 1
    ) -> Surrogate:
        """Load a bundle. backend 'compiled' (fast; needs the .so files, see
        :func:`~globalfit.surrogate.stage.compile_bundle`) or 'xgboost' (the reference)."""
        return load_bundle(cls, bundle_dir, backend=backend, nthread=nthread)

    def __repr__(self) -> str:
        state = f"backend={self.backend_!r}" if hasattr(self, "backend_") else "unfitted"
        return f"Surrogate({list(self.space.names)}, threshold={self.threshold}, {state})"
