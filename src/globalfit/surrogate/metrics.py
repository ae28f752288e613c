"""Classification and regression metrics of the surrogate: the recall-calibrated decision
threshold, the Clopper–Pearson interval of a recall, ROC AUC, and the test-part metrics of
``metrics.json``.

The classifier's threshold on p(in region) is calibrated for a target recall (default 0.99):
wrongly discarding a low-χ² point costs more than keeping a wall point.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from scipy import stats

from globalfit.surrogate.split import DataSplit

if TYPE_CHECKING:
    from globalfit.surrogate.model import Surrogate

__all__ = ["calibrate_threshold", "clopper_pearson", "evaluate", "reliability_curve", "roc_auc"]


def clopper_pearson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Two-sided Clopper–Pearson (exact) interval for a binomial proportion k/n.

    The lower end is ``beta.ppf((1 − confidence)/2, k, n − k + 1)``.

    Parameters
    ----------
    k, n : int
        Successes and trials, 0 ≤ k ≤ n.
    confidence : float
        Confidence level of the interval.

    Returns
    -------
    (float, float)
        (lower, upper); (0, 1) when n = 0.

    Raises
    ------
    ValueError
        Unless 0 ≤ k ≤ n.

    Examples
    --------
    All of 100 in-region test points kept: the recall is at least 0.025^(1/100) at 95 %.

    >>> lo, hi = clopper_pearson(100, 100)
    >>> round(lo, 5), hi, round(0.025 ** (1 / 100), 5)
    (0.96378, 1.0, 0.96378)
    >>> clopper_pearson(0, 0)
    (0.0, 1.0)
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

    Keeping ceil(target·m) of them is the least needed; t is the score of the last one kept (ties
    at t are kept too, so the achieved recall can only be higher).

    Parameters
    ----------
    p_positive : (m,) ndarray
        Classifier probabilities of the truly in-region points.
    recall_target : float
        Wanted recall, in (0, 1].

    Returns
    -------
    float
        The cut t.

    Raises
    ------
    ValueError
        Without positives, or for a recall_target outside (0, 1].
    """
    p = np.sort(np.asarray(p_positive, dtype=np.float64).reshape(-1))[::-1]
    if p.size == 0:
        raise ValueError(
            "cannot calibrate the classifier threshold without in-region validation points"
        )
    if not 0 < recall_target <= 1:
        raise ValueError(f"recall_target must be in (0, 1], got {recall_target}")
    k = max(1, math.ceil(recall_target * p.size - 1e-9))
    return float(p[k - 1])


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (Mann–Whitney U with mid-ranks for ties).

    Parameters
    ----------
    labels : (n,) bool ndarray
        True classes.
    scores : (n,) ndarray
        Classifier scores.

    Returns
    -------
    float
        The AUC; NaN if only one class is present.
    """
    labels = np.asarray(labels, dtype=bool)
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = stats.rankdata(np.asarray(scores, dtype=np.float64))
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def reliability_curve(p: np.ndarray, y: np.ndarray, n_bins: int = 5) -> list[dict]:
    """Reliability of probabilities: per bin of p, its mean against the observed frequency.

    Parameters
    ----------
    p : (n,) ndarray
        Predicted probabilities.
    y : (n,) bool ndarray
        Outcomes.
    n_bins : int
        Equal-width bins on [0, 1]; empty ones are left out.

    Returns
    -------
    list of dict
        ``p_mean``, ``observed`` and ``n`` per non-empty bin (a calibrated p has them equal).

    Examples
    --------
    >>> reliability_curve(np.array([0.1, 0.1, 0.9, 0.9]), np.array([0, 0, 1, 0]), n_bins=2)
    [{'p_mean': 0.1, 'observed': 0.0, 'n': 2}, {'p_mean': 0.9, 'observed': 0.5, 'n': 2}]
    """
    p = np.asarray(p, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    b = np.minimum((p * n_bins).astype(int), n_bins - 1)
    return [
        {"p_mean": float(p[b == i].mean()), "observed": float(y[b == i].mean()), "n": int(n)}
        for i, n in enumerate(np.bincount(b, minlength=n_bins))
        if n
    ]


def evaluate(surrogate: Surrogate, split: DataSplit) -> dict:
    """Metrics of a fitted surrogate on the split's test part (never used for fitting).

    Parameters
    ----------
    surrogate : Surrogate
        The fitted surrogate.
    split : DataSplit
        The split it was fitted on.

    Returns
    -------
    dict
        Nested dicts (this is the layout of ``metrics.json``):

        test: mae_in_region, rmse_in_region, max_abs_error_in_region (χ² units, regressor on the
              truly in-region test points, whatever the classifier says), n_in_region,
              chi2_range_in_region, mae_in_region_validation
        classifier: threshold (probability cut), recall_target, recall_validation, recall_test,
              recall_test_lower95 (two-sided 95 % Clopper–Pearson lower end), recall_test_upper95,
              wall_discard_rate (share of test points with Δχ² >= threshold that are discarded),
              discard_rate_beyond_margin (same for Δχ² >= threshold + regressor margin),
              kept_fraction_test, roc_auc (test), brier_score and reliability (test: is p a
              probability?), best_iteration
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
            # p enters the classifier-weighted likelihood: how far it is from a probability
            "brier_score": float(np.mean((p_test - inr) ** 2)),
            "reliability": reliability_curve(p_test, inr),
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
