"""The two-stage surrogate of χ²(θ): a classifier for the low-χ² region, a regressor inside it.

Why two stages: χ² spans 13–19 in the interesting region and 10³–10¹⁴ on the wall that fills
most of the box. A single regressor would spend its capacity on the wall. The classifier decides
"in region" (Δχ² < threshold, strictly, with Δχ² = χ² − min χ² of the dataset); the regressor
is trained on in-region points only (plus an optional margin beyond the threshold) and predicts
Δχ² there. Outside, the surrogate returns the constant :data:`WALL_CHI2`.

Conventions
-----------
* Points are in parameter units, ``theta : (n, d) float`` in the order of ``space.names``.
  The models' inputs are θ itself (trees do not care about scaling; explanations stay in
  physical units), as float32 like XGBoost, followed by the optional derived features of
  ``features`` (:mod:`globalfit.features`): named expressions such as c_μμ/fa, along which the
  ALP wall runs.
* Every random choice comes from a ``seed`` argument and thread counts are explicit
  ``nthread`` arguments, so that the same inputs and seed give identical models and predictions.
* The classifier's decision threshold on p(in region) is calibrated for a target recall
  (default 0.99), because wrongly discarding a low-χ² point costs more than keeping a wall point,
  on out-of-fold probabilities over training + validation (``calibration_folds`` models with the
  final hyperparameters and tree count, each predicting the fold it did not see): the validation
  part alone held ~35 in-region points on the ALP run and also served early stopping: its
  threshold promised a recall of 1.0 and gave 0.853 on the test part (80 % of the wall
  discarded), the out-of-fold threshold 0.971 (65 % discarded). Each point's out-of-fold
  probability is the mean over ``calibration_repeats`` fold assignments (seeds seed + r): with
  one assignment the ALP threshold hung on which 3 hard in-region points shared a fold (0.028,
  59 % of the test wall discarded); averaged over 5 it was 0.047 (72 %), test recall still 1.0.
  The test part is used only for the final report.

Bundle directory written by :meth:`Surrogate.save` (read by :meth:`Surrogate.load`)::

    classifier.ubj, regressor.ubj        XGBoost models (UBJSON)
    classifier-<hash>.so, regressor-<hash>.so
                                         compiled models; <hash> = SHA-256 of the .ubj content
                                         (content-addressed because dlopen caches by path)
    features-<hash>.so                   the derived inputs compiled from their expressions
                                         (only with ``features``; <hash> of the C source), which
                                         the compiled backend uses instead of numpy
    metadata.json                        how to use the models (see :meth:`Surrogate.metadata`)
    metrics.json                         nested {"test": {...}, "classifier": {...}, "regressor":
                                         {...}, "counts": {...}} (see :func:`evaluate`)
    classifier_curves.csv, regressor_curves.csv
                                         train/validation metric per boosting iteration
    split.csv                            the fitted points with their role (train/validation/test)
"""

from __future__ import annotations

import json
import math
import platform
import sys
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from globalfit.features import FeatureMap
from globalfit.space import ParameterSpace, read_points_csv

#: χ² returned where the classifier says "not in region": large enough that any sampler sees a
#: wall (exp(−χ²/2) underflows to 0), finite so that arithmetic on it stays well defined.
WALL_CHI2 = 1.0e6

#: Default threshold on Δχ² defining the region (strict: Δχ² < threshold).
DEFAULT_THRESHOLD = 10.0

#: Output columns added by :func:`predict_csv`.
CSV_COLUMNS = ("p_in_region", "in_region", "chi2_surrogate")

BUNDLE_FORMAT = 1

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
_RESERVED = {"objective", "eval_metric", "seed", "random_state", "nthread", "n_jobs", "tree_method", "base_score"}

# Target transforms of Δχ² for the regressor: name -> (forward, inverse).
TARGET_TRANSFORMS = {
    "delta_chi2": (lambda d: np.asarray(d, dtype=np.float64), lambda t: np.asarray(t, dtype=np.float64)),
    "log1p_delta_chi2": (np.log1p, np.expm1),
}


# --------------------------------------------------------------------------------------------
# data split
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DataSplit:
    """Fitted points split into train / validation / test (index arrays into ``theta``).

    theta : (n, d) parameter values of the usable (status ok) points
    chi2 : (n,) their χ²;  delta : (n,) χ² − chi2_best;  in_region : (n,) bool, delta < threshold
    train, validation, test : sorted int index arrays, disjoint, covering 0..n−1
    n_excluded : points of the input not used (status not ok)
    """

    theta: np.ndarray
    chi2: np.ndarray
    chi2_best: float
    threshold: float
    delta: np.ndarray
    in_region: np.ndarray
    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray
    n_excluded: int
    seed: int
    fractions: tuple

    def part(self, name: str) -> np.ndarray:
        if name not in ("train", "validation", "test"):
            raise ValueError(f"unknown part {name!r}; expected train, validation or test")
        return getattr(self, name)

    def region_mask(self, margin: float = 0.0) -> np.ndarray:
        """(n,) bool: delta < threshold + margin (the regressor's training domain)."""
        return self.delta < self.threshold + margin

    def roles(self) -> np.ndarray:
        """(n,) str: 'train', 'validation' or 'test' for every point."""
        out = np.empty(self.delta.size, dtype=object)
        for name in ("train", "validation", "test"):
            out[self.part(name)] = name
        return out

    def counts(self) -> dict:
        c = {name: int(self.part(name).size) for name in ("train", "validation", "test")}
        c["total"] = int(self.delta.size)
        c["excluded_not_ok"] = int(self.n_excluded)
        for name in ("train", "validation", "test"):
            c[f"in_region_{name}"] = int(self.in_region[self.part(name)].sum())
        return c


def split_dataset(
    theta: np.ndarray,
    chi2: np.ndarray,
    *,
    ok: np.ndarray | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    fractions: Sequence[float] = (0.6, 0.2, 0.2),
    seed: int = 0,
    space: ParameterSpace | None = None,
) -> DataSplit:
    """Split the usable points into train / validation / test, stratified by "in region".

    theta : (N, d) float; chi2 : (N,) float; ok : (N,) bool or None (all usable) — points with
    ok False are excluded (counted in ``n_excluded``), never silently. χ² may be +inf (a wall
    point) but not NaN or −inf for an ok point. Stratifying keeps the in-region share equal in
    the three parts, so calibration and test see in-region points even when they are rare.
    The split depends only on (chi2 ordering, fractions, seed).
    """
    theta = np.asarray(theta, dtype=np.float64)
    chi2 = np.asarray(chi2, dtype=np.float64).reshape(-1)
    if theta.ndim != 2 or theta.shape[0] != chi2.size:
        raise ValueError(f"theta must be (n, d) and chi2 (n,); got {theta.shape} and {chi2.shape}")
    if ok is None:
        ok = np.ones(chi2.size, dtype=bool)
    ok = np.asarray(ok, dtype=bool).reshape(-1)
    if ok.size != chi2.size:
        raise ValueError(f"ok has {ok.size} entries for {chi2.size} points")
    if space is not None:
        space.check(theta[ok], what="training points")
    elif not np.all(np.isfinite(theta[ok])):
        raise ValueError("training points: theta has non-finite values")
    bad = ok & (np.isnan(chi2) | (chi2 == -np.inf))
    if bad.any():
        raise ValueError(f"chi2 is NaN or -inf for {int(bad.sum())} points with status ok (first: row {int(np.argmax(bad))})")
    fr = np.asarray(fractions, dtype=np.float64)
    if fr.shape != (3,) or np.any(fr <= 0) or not math.isclose(fr.sum(), 1.0, abs_tol=1e-9):
        raise ValueError(f"fractions must be three positive numbers summing to 1, got {list(fractions)}")
    if not threshold > 0:
        raise ValueError(f"threshold must be > 0, got {threshold}")

    theta, chi2 = theta[ok], chi2[ok]
    if chi2.size == 0:
        raise ValueError("no usable points (status ok)")
    chi2_best = float(np.min(chi2))
    if not np.isfinite(chi2_best):
        raise ValueError("all usable points have chi2 = +inf")
    delta = chi2 - chi2_best
    in_region = delta < threshold
    rng = np.random.default_rng(seed)
    parts = ([], [], [])
    for label in (False, True):
        idx = rng.permutation(np.flatnonzero(in_region == label))
        n_val = int(round(fr[1] * idx.size))
        n_test = int(round(fr[2] * idx.size))
        parts[1].append(idx[:n_val])
        parts[2].append(idx[n_val : n_val + n_test])
        parts[0].append(idx[n_val + n_test :])
    train, validation, test = (np.sort(np.concatenate(p)).astype(np.int64) for p in parts)
    for name, idx in (("train", train), ("validation", validation), ("test", test)):
        if not in_region[idx].any():
            raise ValueError(
                f"the {name} part has no in-region point (Δχ² < {threshold}); "
                f"only {int(in_region.sum())} of {chi2.size} points are in the region: add points near the minimum"
            )
    return DataSplit(
        theta=theta,
        chi2=chi2,
        chi2_best=chi2_best,
        threshold=float(threshold),
        delta=delta,
        in_region=in_region,
        train=train,
        validation=validation,
        test=test,
        n_excluded=int((~ok).sum()),
        seed=int(seed),
        fractions=tuple(float(f) for f in fr),
    )


# --------------------------------------------------------------------------------------------
# statistics
# --------------------------------------------------------------------------------------------
def clopper_pearson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Two-sided Clopper–Pearson (exact) interval for a binomial proportion k/n.

    The lower end is ``beta.ppf((1 − confidence)/2, k, n − k + 1)``; e.g. k = n = 100 gives
    0.025^(1/100) = 0.96378. Returns (lower, upper); (0, 1) when n = 0.
    """
    if n < 0 or not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    if n == 0:
        return 0.0, 1.0
    alpha = 1.0 - confidence
    lo = 0.0 if k == 0 else float(stats.beta.ppf(alpha / 2, k, n - k + 1))
    hi = 1.0 if k == n else float(stats.beta.ppf(1 - alpha / 2, k + 1, n - k))
    return lo, hi


def calibrate_threshold(p_positive: np.ndarray, recall_target: float) -> float:
    """Largest probability cut t with recall(p >= t) >= recall_target on the given positives.

    p_positive : (m,) classifier probabilities of the truly in-region points. Keeping
    ceil(target·m) of them is the least needed; t is the score of the last one kept (ties at t
    are kept too, so the achieved recall can only be higher).
    """
    p = np.sort(np.asarray(p_positive, dtype=np.float64).reshape(-1))[::-1]
    if p.size == 0:
        raise ValueError("cannot calibrate the classifier threshold without in-region validation points")
    if not 0 < recall_target <= 1:
        raise ValueError(f"recall_target must be in (0, 1], got {recall_target}")
    k = max(1, math.ceil(recall_target * p.size - 1e-9))
    return float(p[k - 1])


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (Mann–Whitney U with mid-ranks for ties); NaN if one class."""
    labels = np.asarray(labels, dtype=bool)
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = stats.rankdata(np.asarray(scores, dtype=np.float64))
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


# --------------------------------------------------------------------------------------------
# the two models
# --------------------------------------------------------------------------------------------
def _xgb_params(params: Mapping | None, defaults: Mapping, *, what: str) -> dict:
    params = dict(params or {})
    reserved = _RESERVED & set(params)
    if reserved:
        raise ValueError(f"{what}: parameters {sorted(reserved)} are set by globalfit and cannot be overridden")
    return {**defaults, **params}


def _curves(evals_result: dict) -> pd.DataFrame:
    """{'train': {metric: [...]}, 'validation': {...}} -> DataFrame iteration, train_<m>, validation_<m>."""
    cols = {}
    for part, metrics in evals_result.items():
        for metric, values in metrics.items():
            cols[f"{part}_{metric}"] = np.asarray(values, dtype=np.float64)
    n = len(next(iter(cols.values())))
    return pd.DataFrame({"iteration": np.arange(n), **cols})


def _train_booster(params, X_tr, y_tr, X_val, y_val, *, n_estimators, early_stopping_rounds, nthread):
    """xgb.train with early stopping on the validation set; returns (booster sliced to best, curves, best)."""
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
    best = int(booster.best_iteration) if early_stopping_rounds else booster.num_boosted_rounds() - 1
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
        return {**p, "objective": "binary:logistic", "eval_metric": "logloss", "tree_method": "hist",
                "seed": int(self.seed), "nthread": int(self.nthread)}

    def fit(self, X_train, y_train, X_val, y_val) -> "RegionClassifier":
        """X_* : (n, d) float; y_* : (n,) bool in region. Learns booster_, curves_,
        best_iteration_, threshold_ (probability cut) and recall_validation_."""
        y_train = np.asarray(y_train, dtype=bool)
        y_val = np.asarray(y_val, dtype=bool)
        for name, y in (("training", y_train), ("validation", y_val)):
            if y.all() or not y.any():
                raise ValueError(f"classifier: the {name} labels contain a single class")
        self.booster_, self.curves_, self.best_iteration_ = _train_booster(
            self.xgb_params(), X_train, y_train.astype(np.float32), X_val, y_val.astype(np.float32),
            n_estimators=self.n_estimators, early_stopping_rounds=self.early_stopping_rounds, nthread=self.nthread,
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

        from globalfit.tuning import kfold_indices

        k = int(min(self.calibration_folds, y.sum(), (~y).sum()))
        if k < 2:
            raise ValueError("classifier calibration: need at least two in-region and two other points")
        if self.calibration_repeats < 1:
            raise ValueError(f"calibration_repeats must be >= 1, got {self.calibration_repeats}")
        out = np.zeros(len(y))
        X = np.asarray(X, dtype=np.float32)
        for r in range(self.calibration_repeats):
            params = {**self.xgb_params(), "seed": int(self.seed) + r}
            for train, held_out in kfold_indices(len(y), k, seed=self.seed + r, labels=y):
                dtrain = xgb.DMatrix(X[train], label=y[train].astype(np.float32), nthread=self.nthread)
                booster = xgb.train(params, dtrain, num_boost_round=self.best_iteration_ + 1)
                out[held_out] += booster.inplace_predict(X[held_out])
        return out / self.calibration_repeats

    def predict_proba(self, X) -> np.ndarray:
        """X : (n, d) -> (n,) probability of being in the region."""
        from globalfit.compilation import XGBoostModel

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
            raise ValueError(f"unknown target_transform {self.target_transform!r}; known: {sorted(TARGET_TRANSFORMS)}")
        p = _xgb_params(self.params, DEFAULT_REGRESSOR_PARAMS, what="regressor")
        # The last metric drives early stopping; mae and rmse are always recorded for the curves.
        metrics = [m for m in ("rmse", "mae") if m != self.eval_metric] + [self.eval_metric]
        return {**p, "objective": self.objective, "eval_metric": metrics, "tree_method": "hist",
                "seed": int(self.seed), "nthread": int(self.nthread)}

    def fit(self, X_train, delta_train, X_val, delta_val) -> "Chi2Regressor":
        """X_* : (n, d); delta_* : (n,) Δχ² >= 0. Learns booster_, curves_, best_iteration_."""
        params = self.xgb_params()
        fwd, _ = TARGET_TRANSFORMS[self.target_transform]
        if len(delta_train) < 2 or len(delta_val) < 1:
            raise ValueError(f"regressor: too few points ({len(delta_train)} train, {len(delta_val)} validation)")
        self.booster_, self.curves_, self.best_iteration_ = _train_booster(
            params, X_train, fwd(delta_train), X_val, fwd(delta_val),
            n_estimators=self.n_estimators, early_stopping_rounds=self.early_stopping_rounds, nthread=self.nthread,
        )
        return self

    def predict_delta(self, X) -> np.ndarray:
        """X : (n, d) -> (n,) predicted Δχ² (inverse-transformed)."""
        from globalfit.compilation import XGBoostModel

        _, inv = TARGET_TRANSFORMS[self.target_transform]
        return inv(XGBoostModel(self.booster_, nthread=self.nthread).predict(X))


# --------------------------------------------------------------------------------------------
# evaluation
# --------------------------------------------------------------------------------------------
def evaluate(surrogate: "Surrogate", split: DataSplit) -> dict:
    """Metrics of a fitted surrogate on the split's test part (never used for fitting).

    Returns nested dicts (this is the layout of ``metrics.json``):
    test: mae_in_region, rmse_in_region, max_abs_error_in_region (χ² units, regressor on the
          truly in-region test points, whatever the classifier says), n_in_region,
          chi2_range_in_region, mae_in_region_validation
    classifier: threshold (probability cut), recall_target, recall_validation, recall_test,
          recall_test_lower95 (two-sided 95 % Clopper–Pearson lower end), recall_test_upper95,
          wall_discard_rate (share of test points with Δχ² >= threshold that are discarded),
          discard_rate_beyond_margin (same for Δχ² >= threshold + regressor margin),
          kept_fraction_test, roc_auc (test), best_iteration
    regressor: best_iteration, objective, eval_metric, target_transform, margin, n_train,
          n_validation
    counts: train, validation, test, total, excluded_not_ok, in_region_{train,validation,test}
    """
    test, val = split.test, split.validation
    X_test = split.theta[test]
    p_test = surrogate.predict_proba(X_test)
    keep = p_test >= surrogate.threshold_p_
    inr = split.in_region[test]
    wall = ~inr
    far = split.delta[test] >= split.threshold + surrogate.regressor_margin

    def reg_errors(idx):
        m = split.in_region[idx]
        pred = surrogate.predict_chi2_unmasked(split.theta[idx][m])
        return pred - split.chi2[idx][m]

    err = reg_errors(test)
    err_val = reg_errors(val)
    k = int(keep[inr].sum())
    lo, hi = clopper_pearson(k, int(inr.sum()))
    chi2_in = split.chi2[test][inr]
    reg_mask = split.region_mask(surrogate.regressor_margin)
    return {
        "test": {
            "mae_in_region": float(np.mean(np.abs(err))),
            "rmse_in_region": float(np.sqrt(np.mean(err**2))),
            "max_abs_error_in_region": float(np.max(np.abs(err))),
            "n_in_region": int(inr.sum()),
            "chi2_range_in_region": float(chi2_in.max() - chi2_in.min()),
            "mae_in_region_validation": float(np.mean(np.abs(err_val))),
        },
        "classifier": {
            "threshold": float(surrogate.threshold_p_),
            "recall_target": float(surrogate.recall_target),
            "recall_validation": float(surrogate.recall_validation_),
            "recall_test": float(k / inr.sum()),
            "recall_test_lower95": lo,
            "recall_test_upper95": hi,
            "wall_discard_rate": float(np.mean(~keep[wall])) if wall.any() else float("nan"),
            "discard_rate_beyond_margin": float(np.mean(~keep[far])) if far.any() else float("nan"),
            "kept_fraction_test": float(np.mean(keep)),
            "roc_auc": roc_auc(inr, p_test),
            "best_iteration": int(surrogate.classifier_.best_iteration_),
        },
        "regressor": {
            "best_iteration": int(surrogate.regressor_.best_iteration_),
            "objective": surrogate.regressor_objective,
            "eval_metric": surrogate.regressor_eval_metric,
            "target_transform": surrogate.target_transform,
            "margin": float(surrogate.regressor_margin),
            "n_train": int(reg_mask[split.train].sum()),
            "n_validation": int(reg_mask[split.validation].sum()),
        },
        "counts": split.counts(),
    }


# --------------------------------------------------------------------------------------------
# the surrogate
# --------------------------------------------------------------------------------------------
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

    # ---------------------------------------------------------------- fitting
    def fit(self, theta: np.ndarray, chi2: np.ndarray, ok: np.ndarray | None = None) -> "Surrogate":
        """theta : (N, d), chi2 : (N,), ok : (N,) bool or None. Splits with ``seed`` and fits."""
        split = split_dataset(
            theta, chi2, ok=ok, threshold=self.threshold, fractions=self.fractions, seed=self.seed, space=self.space
        )
        return self.fit_split(split)

    def fit_split(self, split: DataSplit) -> "Surrogate":
        """Fit on a :class:`DataSplit` (e.g. the one the tuner used); its test part is only evaluated."""
        if split.threshold != self.threshold:
            raise ValueError(f"split threshold {split.threshold} differs from the surrogate's {self.threshold}")
        if split.theta.shape[1] != self.space.dim:
            raise ValueError(f"split has {split.theta.shape[1]} parameters, the space {self.space.dim}")
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

    def _set_backend(self, backend, clf_booster, reg_booster, clf_lib=None, reg_lib=None, features_lib=None):
        from globalfit.compilation import CompiledFeatures, CompiledModel, XGBoostModel

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
            self._model_inputs = CompiledFeatures(features_lib, self.space.dim, len(self.feature_map_.names))
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

    def predict(self, theta: np.ndarray, *, out_of_bounds: str = "raise") -> tuple[np.ndarray, np.ndarray]:
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
        """theta (n, d) -> (n, d + k) model inputs: θ, then the derived features (θ itself if none)."""
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
        """theta : (n, d) -> (n,) classifier probability of Δχ² < threshold (0 if flagged out of box)."""
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

    def predict_chi2(self, theta: np.ndarray, *, out_of_bounds: str = "raise", classifier_weighted: bool = False) -> np.ndarray:
        """theta : (n, d) -> (n,) two-stage χ² (``wall_chi2`` where discarded); with
        ``classifier_weighted``, χ² − 2 ln p_in_region where kept (see the class docstring)."""
        p, chi2 = self.predict(theta, out_of_bounds=out_of_bounds)
        return self._classifier_weighted(p, chi2) if classifier_weighted else chi2

    def predict_chi2_inside(self, X: np.ndarray, *, classifier_weighted: bool = False) -> np.ndarray:
        """X : (n, d) float64 points already known to be finite and inside the box -> (n,) χ², as
        :meth:`predict_chi2` but without its input checks (~20 µs of a 32-point call): for
        :class:`~globalfit.priors.LogPosterior`, which cuts to the box before calling."""
        self._check_fitted()
        p, chi2 = self._predict_inside(X)
        return self._classifier_weighted(p, chi2) if classifier_weighted else chi2

    def _classifier_weighted(self, p, chi2):
        kept = (p >= self.threshold_p_) & (p > 0)
        out = np.array(chi2, dtype=np.float64)
        out[kept] -= 2.0 * np.log(p[kept])
        return out

    def predict_chi2_unmasked(self, theta: np.ndarray) -> np.ndarray:
        """theta : (n, d) inside the box -> (n,) regressor χ² ignoring the classifier (diagnostics only:
        far from the region this is an extrapolation, not a χ²)."""
        X, _ = self._inputs(theta, "raise")
        return self.chi2_best_ + self._inverse(self._reg.predict(self._model_inputs(X)))

    # ---------------------------------------------------------------- persistence
    def metadata(self, *, config_hash: str | None = None, provenance: Mapping | None = None, files=None) -> dict:
        """Everything needed to use the models without the training code."""
        from globalfit.provenance import versions

        self._check_fitted()
        return {
            "format": BUNDLE_FORMAT,
            "parameters": {
                "names": list(self.space.names),
                "lower": [float(x) for x in self.space.lower],
                "upper": [float(x) for x in self.space.upper],
            },
            "features": "model inputs: theta in parameter units, columns in the order of parameters.names, "
            "then derived_features in their order, as float32",
            "derived_features": [dict(f) for f in self.features],
            "chi2_best": float(self.chi2_best_),
            "threshold": float(self.threshold),
            "region": "delta_chi2 = chi2 - chi2_best < threshold (strict)",
            "classifier": {
                "output": "probability of being in the region (binary:logistic)",
                "threshold": float(self.threshold_p_),
                "decision": "in region iff p_in_region >= threshold",
                "recall_target": float(self.recall_target),
                "calibration_folds": int(self.calibration_folds),
                "calibration_repeats": int(self.calibration_repeats),
                "calibration": (
                    f"out-of-fold probabilities over training + validation, {self.calibration_folds} folds, "
                    f"mean over {self.calibration_repeats} fold assignment(s)"
                    if self.calibration_folds >= 2 else "validation part"
                ),
                "recall_validation": float(self.recall_validation_),
                "params": dict(self.classifier_params),
            },
            "regressor": {
                "objective": self.regressor_objective,
                "eval_metric": self.regressor_eval_metric,
                "target_transform": self.target_transform,
                "target_inverse": {"delta_chi2": "chi2 = chi2_best + output",
                                   "log1p_delta_chi2": "chi2 = chi2_best + expm1(output)"}[self.target_transform],
                "margin": float(self.regressor_margin),
                "params": dict(self.regressor_params),
            },
            "wall_chi2": float(self.wall_chi2),
            "training": {
                "seed": int(self.seed),
                "fractions": list(self.fractions),
                "n_estimators": int(self.n_estimators),
                "early_stopping_rounds": int(self.early_stopping_rounds),
            },
            "dataset": self.split_.counts() if hasattr(self, "split_") else getattr(self, "_dataset", {}),
            "files": files or {},
            "config_hash": config_hash,
            "provenance": dict(provenance or {}),
            "versions": {**versions("xgboost", "treelite", "tl2cgen", "numpy"), "python": sys.version.split()[0]},
            "platform": {"system": platform.system(), "machine": platform.machine()},
        }

    def save(
        self,
        bundle_dir: Path | str,
        *,
        compile: bool = True,
        config_hash: str | None = None,
        provenance: Mapping | None = None,
        parallel_comp: int | None = None,
        compile_nthread: int = 1,
    ) -> Path:
        """Write the bundle (module docstring) to ``bundle_dir`` and return it.

        compile : also build the .so libraries (needed for ``backend='compiled'``).
        config_hash, provenance : recorded in metadata.json (e.g. oracle identity, package hash).
        """
        self._check_fitted()
        bundle = Path(bundle_dir)
        bundle.mkdir(parents=True, exist_ok=True)
        files = {}
        for stem, booster in (("classifier", self.classifier_booster_), ("regressor", self.regressor_booster_)):
            booster.save_model(str(bundle / f"{stem}.ubj"))
            files[f"{stem}_model"] = f"{stem}.ubj"
        if compile:
            files.update(_compile_into(bundle, self.classifier_booster_, self.regressor_booster_, self.feature_map_,
                                       parallel_comp=parallel_comp, nthread=compile_nthread))
        meta = self.metadata(config_hash=config_hash, provenance=provenance, files=files)
        _write_json(bundle / "metadata.json", meta)
        if hasattr(self, "metrics_"):
            _write_json(bundle / "metrics.json", self.metrics_)
        if hasattr(self, "classifier_"):
            self.classifier_.curves_.to_csv(bundle / "classifier_curves.csv", index=False)
            self.regressor_.curves_.to_csv(bundle / "regressor_curves.csv", index=False)
        if hasattr(self, "split_"):
            s = self.split_
            table = pd.DataFrame(s.theta, columns=list(self.space.names))
            table["chi2"] = s.chi2
            table["delta_chi2"] = s.delta
            table["in_region"] = s.in_region.astype(int)
            table["split"] = s.roles()
            table.to_csv(bundle / "split.csv", index=False)
        return bundle

    @classmethod
    def load(cls, bundle_dir: Path | str, *, backend: str = "compiled", nthread: int = 1) -> "Surrogate":
        """Load a bundle. backend 'compiled' (fast; needs the .so files, see :func:`compile_bundle`)
        or 'xgboost' (the reference)."""
        import xgboost as xgb

        bundle = Path(bundle_dir)
        meta_path = bundle / "metadata.json"
        if not meta_path.is_file():
            raise FileNotFoundError(f"{bundle} is not a surrogate bundle: {meta_path.name} is missing")
        meta = json.loads(meta_path.read_text())
        if meta.get("format") != BUNDLE_FORMAT:
            raise ValueError(f"{meta_path}: bundle format {meta.get('format')!r}, this globalfit reads {BUNDLE_FORMAT}")
        par = meta["parameters"]
        space = ParameterSpace(names=tuple(par["names"]), lower=np.array(par["lower"]), upper=np.array(par["upper"]))
        tr = meta["training"]
        obj = cls(
            space,
            threshold=meta["threshold"],
            recall_target=meta["classifier"]["recall_target"],
            calibration_folds=meta["classifier"].get("calibration_folds", 0),  # 0: older bundles
            calibration_repeats=meta["classifier"].get("calibration_repeats", 1),
            regressor_margin=meta["regressor"]["margin"],
            fractions=tr["fractions"],
            target_transform=meta["regressor"]["target_transform"],
            regressor_objective=meta["regressor"]["objective"],
            regressor_eval_metric=meta["regressor"]["eval_metric"],
            classifier_params=meta["classifier"]["params"],
            regressor_params=meta["regressor"]["params"],
            n_estimators=tr["n_estimators"],
            early_stopping_rounds=tr["early_stopping_rounds"],
            wall_chi2=meta["wall_chi2"],
            features=meta.get("derived_features", []),
            seed=tr["seed"],
            nthread=nthread,
        )
        boosters = []
        for stem in ("classifier", "regressor"):
            path = bundle / meta["files"].get(f"{stem}_model", f"{stem}.ubj")
            if not path.is_file():
                raise FileNotFoundError(f"bundle {bundle}: model file {path.name} is missing")
            b = xgb.Booster()
            b.load_model(str(path))
            boosters.append(b)
        libs = [None, None, None]
        if backend == "compiled":
            for i, stem in enumerate(("classifier", "regressor", "features")):
                name = meta["files"].get(f"{stem}_library")
                if name is None and stem == "features":
                    continue  # no derived inputs, or a bundle from before they were compiled: numpy
                if name is None or not (bundle / name).is_file():
                    raise FileNotFoundError(
                        f"bundle {bundle} has no compiled {stem} library"
                        + (f" ({name} is missing)" if name else "")
                        + ": run globalfit.surrogate.compile_bundle(bundle_dir) or load with backend='xgboost'"
                    )
                libs[i] = bundle / name
        obj.feature_map_ = FeatureMap(space.names, obj.features)
        obj.chi2_best_ = float(meta["chi2_best"])
        obj.threshold_p_ = float(meta["classifier"]["threshold"])
        obj.recall_validation_ = float(meta["classifier"]["recall_validation"])
        obj._dataset = meta.get("dataset", {})
        obj.metadata_ = meta
        metrics_path = bundle / "metrics.json"
        if metrics_path.is_file():
            obj.metrics_ = json.loads(metrics_path.read_text())
        obj._set_backend(backend, boosters[0], boosters[1], *libs)
        return obj

    def __repr__(self) -> str:
        state = f"backend={self.backend_!r}" if hasattr(self, "backend_") else "unfitted"
        return f"Surrogate({list(self.space.names)}, threshold={self.threshold}, {state})"


def _jsonable(obj):
    """NaN/inf -> None (strict JSON), numpy scalars -> Python numbers, recursively."""
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if np.isfinite(obj) else None
    return obj


def _write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(_jsonable(obj), indent=2, sort_keys=True, allow_nan=False) + "\n")


def _compile_into(bundle: Path, clf_booster, reg_booster, feature_map, *, parallel_comp, nthread) -> dict:
    from globalfit.compilation import compile_booster, compile_features, content_name, features_name

    # (stem, content-addressed file name, how to build it)
    targets = [(stem, content_name(booster, stem),
                partial(compile_booster, booster, parallel_comp=parallel_comp, nthread=nthread))
               for stem, booster in (("classifier", clf_booster), ("regressor", reg_booster))]
    if feature_map.features:
        targets.append(("features", features_name(feature_map), partial(compile_features, feature_map)))
    files = {}
    for stem, name, build in targets:
        # remove libraries of earlier models of this bundle; they would only confuse
        for old in bundle.glob(f"{stem}-*.so"):
            if old.name != name:
                old.unlink()
        if not (bundle / name).is_file():  # same content = same library: no need to rebuild
            build(bundle / name)
        files[f"{stem}_library"] = name
    return files


def compile_bundle(bundle_dir: Path | str, *, parallel_comp: int | None = None, nthread: int = 1) -> dict:
    """(Re)build the compiled libraries of a bundle from its .ubj models, e.g. on another machine.

    Updates metadata.json (files, platform) and returns the {classifier_library, regressor_library}.
    """
    import xgboost as xgb

    bundle = Path(bundle_dir)
    meta = json.loads((bundle / "metadata.json").read_text())
    boosters = []
    for stem in ("classifier", "regressor"):
        b = xgb.Booster()
        b.load_model(str(bundle / meta["files"].get(f"{stem}_model", f"{stem}.ubj")))
        boosters.append(b)
    feature_map = FeatureMap(meta["parameters"]["names"], meta.get("derived_features", []))
    libs = _compile_into(bundle, *boosters, feature_map, parallel_comp=parallel_comp, nthread=nthread)
    meta["files"].pop("features_library", None)
    meta["files"].update(libs)
    meta["platform"] = {"system": platform.system(), "machine": platform.machine()}
    _write_json(bundle / "metadata.json", meta)
    return libs


def check_compiled_agreement(
    bundle_dir: Path | str, *, n: int = 10_000, seed: int = 0, atol: float = 1e-4, rtol: float = 1e-5
) -> dict:
    """Compare the compiled and XGBoost outputs of both models of a bundle on n uniform points of
    the box. Returns {"classifier": {...}, "regressor": {...}} from
    :func:`globalfit.compilation.compare_predictions` (model output scales)."""
    a = Surrogate.load(bundle_dir, backend="xgboost")
    b = Surrogate.load(bundle_dir, backend="compiled")
    X = a.features_of(a.space.from_unit(np.random.default_rng(seed).uniform(size=(n, a.space.dim))))
    from globalfit.compilation import compare_predictions

    return {
        "classifier": compare_predictions(a._clf, b._clf, X, atol=atol, rtol=rtol),
        "regressor": compare_predictions(a._reg, b._reg, X, atol=atol, rtol=rtol),
    }


# --------------------------------------------------------------------------------------------
# CSV prediction (the `globalfit predict` command)
# --------------------------------------------------------------------------------------------
def predict_csv(
    bundle_dir: Path | str,
    in_csv: Path | str,
    out_csv: Path | str,
    *,
    backend: str = "compiled",
    nthread: int = 1,
) -> pd.DataFrame:
    """Predict the points of ``in_csv`` with the bundle and write ``out_csv``.

    The input needs the parameter columns (any order; extra columns are kept as they are). The
    output adds ``p_in_region`` (classifier probability), ``in_region`` (0/1, the calibrated
    decision) and ``chi2_surrogate`` (``wall_chi2`` where not in region). Input that already has
    one of these columns is rejected rather than overwritten. Returns the written table.
    """
    sur = Surrogate.load(bundle_dir, backend=backend, nthread=nthread)
    table, theta = read_points_csv(in_csv, sur.space)
    clash = [c for c in CSV_COLUMNS if c in table.columns]
    if clash:
        raise ValueError(f"{in_csv}: already has output column(s) {clash}; remove them or predict from the original file")
    p, chi2 = sur.predict(theta) if len(table) else (np.zeros(0), np.zeros(0))
    table["p_in_region"] = p
    table["in_region"] = (p >= sur.threshold_p_).astype(int)
    table["chi2_surrogate"] = chi2
    out_csv = Path(out_csv)
    out_csv.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out_csv, index=False)
    return table


# --------------------------------------------------------------------------------------------
# the tutorial's hyperparameter exercise
# --------------------------------------------------------------------------------------------
def hyperparameter_grid(
    split: DataSplit,
    *,
    depths: Sequence[int] = (1, 3, 8),
    learning_rates: Sequence[float] = (0.01, 0.1, 0.5),
    n_estimators: int = 300,
    margin: float = 5.0,
    objective: str = "reg:absoluteerror",
    eval_metric: str = "mae",
    target_transform: str = "delta_chi2",
    params: Mapping | None = None,
    seed: int = 0,
    nthread: int = 1,
) -> pd.DataFrame:
    """Train the regressor for every (max_depth, learning_rate), without early stopping, and
    record train and validation ``eval_metric`` per iteration.

    Shallow trees with a small rate under-fit (both curves stay high); deep trees with a large
    rate over-fit (train keeps falling while validation turns up). Returns a long table with
    columns depth, learning_rate, iteration, train, validation (plot with
    :func:`globalfit.plots.surrogate.plot_hyperparameter_grid`).
    """
    reg = split.region_mask(margin)
    tr = split.train[reg[split.train]]
    va = split.validation[reg[split.validation]]
    rows = []
    for depth in depths:
        for lr in learning_rates:
            model = Chi2Regressor(
                {**(params or {}), "max_depth": int(depth), "learning_rate": float(lr)},
                objective=objective, eval_metric=eval_metric, target_transform=target_transform,
                n_estimators=n_estimators, early_stopping_rounds=0, seed=seed, nthread=nthread,
            ).fit(split.theta[tr], split.delta[tr], split.theta[va], split.delta[va])
            c = model.curves_
            rows.append(pd.DataFrame({
                "depth": int(depth), "learning_rate": float(lr), "iteration": c["iteration"],
                "train": c[f"train_{eval_metric}"], "validation": c[f"validation_{eval_metric}"],
            }))
    out = pd.concat(rows, ignore_index=True)
    out.attrs["metric"] = eval_metric
    return out


# --------------------------------------------------------------------------------------------
# the whole stage in one call (what the workflow script runs)
# --------------------------------------------------------------------------------------------
def train_bundle(
    theta: np.ndarray,
    chi2: np.ndarray,
    space: ParameterSpace,
    bundle_dir: Path | str,
    *,
    ok: np.ndarray | None = None,
    n_trials: int = 20,
    n_folds: int = 5,
    tuning_rounds: int = 1000,
    tuning_early_stopping: int = 30,
    study_dir: Path | str | None = None,
    compile: bool = True,
    config_hash: str | None = None,
    provenance: Mapping | None = None,
    seed: int = 0,
    nthread: int = 1,
    **settings,
) -> Surrogate:
    """Split, tune both models (``n_trials`` optuna trials each; 0 = use ``settings``' params),
    fit, evaluate, save and compile into ``bundle_dir``.

    theta : (N, d), chi2 : (N,), ok : (N,) bool or None. ``settings`` are further
    :class:`Surrogate` keyword arguments (threshold, recall_target, regressor_margin, ...); tuned
    parameters override their classifier_params / regressor_params. The optuna studies live in
    ``study_dir/{classifier,regressor}.sqlite`` (default ``bundle_dir/tuning``): keep them outside
    a directory that a workflow manager deletes on failure, so an interrupted study resumes.
    Besides the bundle files this writes ``tuning/{classifier,regressor}_trials.csv`` and
    ``tuning/{classifier,regressor}_importance.json`` (optuna fANOVA, seeded) for
    :func:`plot_bundle`.
    """
    from globalfit import tuning

    bundle = Path(bundle_dir)
    studies = Path(study_dir) if study_dir is not None else bundle / "tuning"
    sur = Surrogate(space, seed=seed, nthread=nthread, **settings)
    split = split_dataset(theta, chi2, ok=ok, threshold=sur.threshold, fractions=sur.fractions, seed=seed, space=space)
    tuned = {}
    if n_trials > 0:
        X = FeatureMap(space.names, sur.features).check_finite(split.theta, "training point")
        common = dict(n_trials=n_trials, n_folds=n_folds, num_boost_round=tuning_rounds,
                      early_stopping_rounds=tuning_early_stopping, seed=seed, nthread=nthread, X=X)
        tuned = {
            "classifier": tuning.tune_classifier(split, storage=studies / "classifier.sqlite", **common),
            "regressor": tuning.tune_regressor(
                split, storage=studies / "regressor.sqlite", margin=sur.regressor_margin,
                objective=sur.regressor_objective, eval_metric=sur.regressor_eval_metric,
                target_transform=sur.target_transform, **common),
        }
        sur.classifier_params = {**sur.classifier_params, **tuned["classifier"].best_params_}
        sur.regressor_params = {**sur.regressor_params, **tuned["regressor"].best_params_}
    sur.fit_split(split)
    sur.save(bundle, compile=compile, config_hash=config_hash, provenance=provenance, compile_nthread=nthread)
    for name, t in tuned.items():
        tuning.save_trials_csv(t.study_, bundle / "tuning" / f"{name}_trials.csv")
        _write_json(bundle / "tuning" / f"{name}_importance.json", tuning.param_importances(t.study_, seed=seed))
    return sur


def train_kwargs_from_config(section: Mapping) -> dict:
    """:func:`train_bundle` keyword arguments from the config's ``surrogate`` section."""
    s = dict(section)
    s.pop("hyperparameter_grid", None)
    return {
        "n_trials": s.pop("n_trials"),
        "n_folds": s.pop("n_folds"),
        "tuning_rounds": s.pop("tuning_rounds"),
        "tuning_early_stopping": s.pop("tuning_early_stopping"),
        "seed": s.pop("seed"),
        "regressor_objective": s.pop("objective"),
        "regressor_eval_metric": s.pop("eval_metric"),
        "fractions": tuple(s.pop("fractions")),
        **s,  # the remaining keys are Surrogate's own (threshold, recall_target, ...)
    }


def plot_bundle(bundle_dir: Path | str, out_dir: Path | str, *, backend: str = "xgboost") -> list[Path]:
    """Plots of a saved bundle into ``out_dir``: learning curves of both models, hyperparameter
    importances (when tuned) and predicted vs true χ² on the test part. Returns the paths."""
    from globalfit.plots import surrogate as P

    bundle, out = Path(bundle_dir), Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sur = Surrogate.load(bundle, backend=backend)
    meta = json.loads((bundle / "metrics.json").read_text())
    paths = []
    for name in ("classifier", "regressor"):
        curves = pd.read_csv(bundle / f"{name}_curves.csv")
        best = meta.get(name, {}).get("best_iteration")
        paths.append(P.plot_learning_curves(curves, out / f"{name}_curves.png", title=name, best_iteration=best))
        imp = bundle / "tuning" / f"{name}_importance.json"
        if imp.exists():
            paths.append(P.plot_param_importances(json.loads(imp.read_text()), out / f"{name}_importance.png",
                                                  title=f"{name} hyperparameters"))
    split = pd.read_csv(bundle / "split.csv", float_precision="round_trip")
    test = split[(split["split"] == "test") & (split["in_region"].astype(bool))]
    theta = test[list(sur.space.names)].to_numpy(dtype=np.float64)
    paths.append(P.plot_predicted_vs_true(test["chi2"].to_numpy(), sur.predict_chi2_unmasked(theta),
                                          out / "predicted_vs_true.png", chi2_best=sur.chi2_best_,
                                          threshold=sur.threshold))
    return paths
