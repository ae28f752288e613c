"""The two XGBoost models of the surrogate: :class:`RegionClassifier` (in region or not, its
decision threshold calibrated for recall on out-of-fold probabilities over training +
validation, averaged over several seeded fold assignments) and :class:`Chi2Regressor` (Δχ² on the
in-region points plus a margin, through a target transform), both with early stopping on the
validation part and learning curves.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from globalfit.surrogate.metrics import calibrate_threshold
from globalfit.surrogate.split import kfold_indices

__all__ = [
    "Chi2Regressor",
    "DEFAULT_CLASSIFIER_PARAMS",
    "DEFAULT_REGRESSOR_PARAMS",
    "RegionClassifier",
    "TARGET_TRANSFORMS",
]

DEFAULT_CLASSIFIER_PARAMS = {
    "max_depth": 6,
    "learning_rate": 0.1,
    "subsample": 0.8,
    "colsample_bytree": 1.0,
    "min_child_weight": 1.0,
    "reg_alpha": 0.0,
    "reg_lambda": 1.0,
}


DEFAULT_REGRESSOR_PARAMS = dict(DEFAULT_CLASSIFIER_PARAMS)


# Parameters the package sets itself; a user or tuner must not override them through params.
_RESERVED = {
    "objective",
    "eval_metric",
    "seed",
    "random_state",
    "nthread",
    "n_jobs",
    "tree_method",
    "base_score",
}


# Target transforms of Δχ² for the regressor: name -> (forward, inverse).
TARGET_TRANSFORMS = {
    "delta_chi2": (
        lambda d: np.asarray(d, dtype=np.float64),
        lambda t: np.asarray(t, dtype=np.float64),
    ),
    "log1p_delta_chi2": (np.log1p, np.expm1),
}


def _xgb_params(params: Mapping | None, defaults: Mapping, *, what: str) -> dict:
    params = dict(params or {})
    reserved = _RESERVED & set(params)
    if reserved:
        raise ValueError(
            f"{what}: parameters {sorted(reserved)} are set by globalfit and cannot be overridden"
        )
    return {**defaults, **params}


def _curves(evals_result: dict) -> pd.DataFrame:
    """{'train': {metric: [...]}, 'validation': {...}} -> DataFrame iteration, train_<m>,
    validation_<m>."""
    cols = {}
    for part, metrics in evals_result.items():
        for metric, values in metrics.items():
            cols[f"{part}_{metric}"] = np.asarray(values, dtype=np.float64)
    n = len(next(iter(cols.values())))
    return pd.DataFrame({"iteration": np.arange(n), **cols})


def _train_booster(
    params, X_tr, y_tr, X_val, y_val, *, n_estimators, early_stopping_rounds, nthread
):
    """xgb.train with early stopping on the validation set; returns (booster sliced to best,
    curves, best)."""
    import xgboost as xgb

    dtrain = xgb.DMatrix(np.asarray(X_tr, dtype=np.float32), label=y_tr, nthread=nthread)
    dval = xgb.DMatrix(np.asarray(X_val, dtype=np.float32), label=y_val, nthread=nthread)
    evals_result: dict = {}
    booster = xgb.train(
        params,
        dtrain,
        num_boost_round=int(n_estimators),
        evals=[(dtrain, "train"), (dval, "validation")],
        early_stopping_rounds=int(early_stopping_rounds) if early_stopping_rounds else None,
        evals_result=evals_result,
        verbose_eval=False,
    )
    best = (
        int(booster.best_iteration) if early_stopping_rounds else booster.num_boosted_rounds() - 1
    )
    # Keep only the trees up to the best iteration: the saved, compiled and predicted model are
    # then the same object, with no iteration_range to remember.
    sliced = booster[: best + 1]
    sliced.set_param({"nthread": nthread})
    return sliced, _curves(evals_result), best


class RegionClassifier:
    """XGBoost classifier of "in region", with a decision threshold calibrated for recall.

    params : XGBoost tree parameters (max_depth, learning_rate, subsample, colsample_bytree,
        min_child_weight, reg_alpha, reg_lambda, ...); objective binary:logistic, metric logloss.
    recall_target : recall of in-region validation points the threshold must reach.
    """

    def __init__(
        self,
        params: Mapping | None = None,
        *,
        recall_target: float = 0.99,
        n_estimators: int = 2000,
        early_stopping_rounds: int = 50,
        calibration_folds: int = 5,
        calibration_repeats: int = 5,
        seed: int = 0,
        nthread: int = 1,
    ):
        self.params = dict(params or {})
        self.recall_target = recall_target
        self.calibration_folds = calibration_folds
        self.calibration_repeats = calibration_repeats
        self.n_estimators = n_estimators
        self.early_stopping_rounds = early_stopping_rounds
        self.seed = seed
        self.nthread = nthread

    def xgb_params(self) -> dict:
        p = _xgb_params(self.params, DEFAULT_CLASSIFIER_PARAMS, what="classifier")
        return {
            **p,
            "objective": "binary:logistic",
            "eval_metric": "logloss",
            "tree_method": "hist",
            "seed": int(self.seed),
            "nthread": int(self.nthread),
        }

    def fit(self, X_train, y_train, X_val, y_val) -> RegionClassifier:
        """X_* : (n, d) float; y_* : (n,) bool in region. Learns booster_, curves_,
        best_iteration_, threshold_ (probability cut) and recall_validation_."""
        y_train = np.asarray(y_train, dtype=bool)
        y_val = np.asarray(y_val, dtype=bool)
        for name, y in (("training", y_train), ("validation", y_val)):
            if y.all() or not y.any():
                raise ValueError(f"classifier: the {name} labels contain a single class")
        self.booster_, self.curves_, self.best_iteration_ = _train_booster(
            self.xgb_params(),
            X_train,
            y_train.astype(np.float32),
            X_val,
            y_val.astype(np.float32),
            n_estimators=self.n_estimators,
            early_stopping_rounds=self.early_stopping_rounds,
            nthread=self.nthread,
        )
        p_val = self.predict_proba(X_val)
        if self.calibration_folds >= 2:
            X_all = np.vstack([X_train, X_val])
            y_all = np.concatenate([y_train, y_val])
            p_oof = self._out_of_fold_proba(X_all, y_all)
            self.threshold_ = calibrate_threshold(p_oof[y_all], self.recall_target)
            self.recall_out_of_fold_ = float(np.mean(p_oof[y_all] >= self.threshold_))
        else:
            self.threshold_ = calibrate_threshold(p_val[y_val], self.recall_target)
        self.recall_validation_ = float(np.mean(p_val[y_val] >= self.threshold_))
        self.validation_discard_rate_ = float(np.mean(p_val[~y_val] < self.threshold_))
        return self

    def _out_of_fold_proba(self, X, y) -> np.ndarray:
        """(n,) probabilities, each from a model (final params and tree count) fitted without its
        fold, averaged over ``calibration_repeats`` fold assignments (repeat r: folds and model
        seeded with seed + r); stratified folds, so every fold has in-region points."""
        import xgboost as xgb

        k = int(min(self.calibration_folds, y.sum(), (~y).sum()))
        if k < 2:
            raise ValueError(
                "classifier calibration: need at least two in-region and two other points"
            )
        if self.calibration_repeats < 1:
            raise ValueError(f"calibration_repeats must be >= 1, got {self.calibration_repeats}")
        out = np.zeros(len(y))
        X = np.asarray(X, dtype=np.float32)
        for r in range(self.calibration_repeats):
            params = {**self.xgb_params(), "seed": int(self.seed) + r}
            for train, held_out in kfold_indices(len(y), k, seed=self.seed + r, labels=y):
                dtrain = xgb.DMatrix(
                    X[train], label=y[train].astype(np.float32), nthread=self.nthread
                )
                booster = xgb.train(params, dtrain, num_boost_round=self.best_iteration_ + 1)
                out[held_out] += booster.inplace_predict(X[held_out])
        return out / self.calibration_repeats

    def predict_proba(self, X) -> np.ndarray:
        """X : (n, d) -> (n,) probability of being in the region."""
        from globalfit.surrogate.compilation import XGBoostModel

        return XGBoostModel(self.booster_, nthread=self.nthread).predict(X)


class Chi2Regressor:
    """XGBoost regressor of Δχ² (through a target transform) on the region (+ margin).

    objective / eval_metric : XGBoost names; the notes use reg:absoluteerror / mae. Early
        stopping watches ``eval_metric``; mae and rmse are recorded every iteration as well.
    target_transform : 'delta_chi2' (the model predicts Δχ²) or 'log1p_delta_chi2'
        (it predicts log(1 + Δχ²)); curves and the model output are on this transformed scale.
    """

    def __init__(
        self,
        params: Mapping | None = None,
        *,
        objective: str = "reg:absoluteerror",
        eval_metric: str = "mae",
        target_transform: str = "delta_chi2",
        n_estimators: int = 2000,
        early_stopping_rounds: int = 50,
        seed: int = 0,
        nthread: int = 1,
    ):
        self.params = dict(params or {})
        self.objective = objective
        self.eval_metric = eval_metric
        self.target_transform = target_transform
        self.n_estimators = n_estimators
        self.early_stopping_rounds = early_stopping_rounds
        self.seed = seed
        self.nthread = nthread

    def xgb_params(self) -> dict:
        if self.target_transform not in TARGET_TRANSFORMS:
            raise ValueError(
                f"unknown target_transform {self.target_transform!r}; known: "
                f"{sorted(TARGET_TRANSFORMS)}"
            )
        p = _xgb_params(self.params, DEFAULT_REGRESSOR_PARAMS, what="regressor")
        # The last metric drives early stopping; mae and rmse are always recorded for the curves.
        metrics = [m for m in ("rmse", "mae") if m != self.eval_metric] + [self.eval_metric]
        return {
            **p,
            "objective": self.objective,
            "eval_metric": metrics,
            "tree_method": "hist",
            "seed": int(self.seed),
            "nthread": int(self.nthread),
        }

    def fit(self, X_train, delta_train, X_val, delta_val) -> Chi2Regressor:
        """X_* : (n, d); delta_* : (n,) Δχ² >= 0. Learns booster_, curves_, best_iteration_."""
        params = self.xgb_params()
        fwd, _ = TARGET_TRANSFORMS[self.target_transform]
        if len(delta_train) < 2 or len(delta_val) < 1:
            raise ValueError(
                f"regressor: too few points ({len(delta_train)} train, {len(delta_val)} validation)"
            )
        self.booster_, self.curves_, self.best_iteration_ = _train_booster(
            params,
            X_train,
            fwd(delta_train),
            X_val,
            fwd(delta_val),
            n_estimators=self.n_estimators,
            early_stopping_rounds=self.early_stopping_rounds,
            nthread=self.nthread,
        )
        return self

    def predict_delta(self, X) -> np.ndarray:
        """X : (n, d) -> (n,) predicted Δχ² (inverse-transformed)."""
        from globalfit.surrogate.compilation import XGBoostModel

        _, inv = TARGET_TRANSFORMS[self.target_transform]
        return inv(XGBoostModel(self.booster_, nthread=self.nthread).predict(X))
