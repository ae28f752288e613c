"""Ablation: drop the least important parameter, retrain and resample, and judge whether the
fit needs it.

"Least important" ranks the parameters by an importance attributed to them through every model
input built on them (:func:`.parameter_attribution.parameter_importance`), not
by the SHAP of their raw columns: a parameter that acts through derived features would otherwise
look unimportant. The reduced model fixes the dropped parameter at a reference value and
recomputes the derived features there (:mod:`.fitters`); the verdict names both.

The verdict compares the full and reduced surrogates on their test MAE, the posterior quantiles
of the remaining parameters and their two-sample KS distances. Default thresholds: MAE up by at
most 10 % or 0.05 χ² (whichever is larger), quantiles (16/50/84 %) moved by at most 0.2 posterior
sd, KS distance D ≤ 0.1. D rather than the KS p-value, because MCMC samples are autocorrelated
and p-values would be far too small. The tails (2.5/97.5 %) are reported but not judged: their
Monte Carlo error is about twice as large. ``fit`` and ``sample`` are callables, so the
judgement can be tested without training anything (:mod:`.fitters` builds the real ones).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

__all__ = [
    "AblationResult",
    "FitFn",
    "JUDGED_QUANTILES",
    "KS_TOL",
    "MAE_ABS_TOL",
    "MAE_REL_TOL",
    "QUANTILE_SHIFT_TOL",
    "REPORTED_QUANTILES",
    "SampleFn",
    "least_important",
    "run_ablation",
]

log = logging.getLogger(__name__)


# Ablation verdict thresholds (documented in run_ablation).
MAE_REL_TOL = 0.10
MAE_ABS_TOL = 0.05
QUANTILE_SHIFT_TOL = 0.2
KS_TOL = 0.10
JUDGED_QUANTILES = (0.16, 0.5, 0.84)
REPORTED_QUANTILES = (0.025, 0.16, 0.5, 0.84, 0.975)


def least_important(importance: Mapping[str, float]) -> str:
    """The parameter with the smallest mean |SHAP| (ties: the last in order).

    Parameters
    ----------
    importance : Mapping of str to float
        {parameter: mean |SHAP|}.

    Returns
    -------
    str
        The parameter.

    Raises
    ------
    ValueError
        If the mapping is empty or has a non-finite importance.
    """
    if not importance:
        raise ValueError("least_important: empty importance mapping")
    items = list(importance.items())
    bad = [k for k, v in items if not np.isfinite(v)]
    if bad:
        raise ValueError(f"least_important: non-finite importance for {bad}")
    vmin = min(v for _, v in items)
    return [k for k, v in items if v == vmin][-1]


@dataclass
class AblationResult:
    """Full vs reduced surrogate (one parameter dropped).

    samples_full, samples_reduced : (n, d−1) posterior samples of the remaining parameters.
    ks : {parameter: two-sample KS distance D}; quantile_shift : {parameter: max over
    JUDGED_QUANTILES of |q_reduced − q_full| / sd_full}.
    """

    dropped: str
    remaining: tuple[str, ...]
    importance: dict
    mae_full: float
    mae_reduced: float
    quantiles_full: dict
    quantiles_reduced: dict
    quantile_shift: dict
    ks: dict
    can_drop: bool
    verdict: str
    thresholds: dict
    samples_full: np.ndarray = field(repr=False)
    samples_reduced: np.ndarray = field(repr=False)
    fixed_at: float | None = None
    recomputed: list = field(default_factory=list)
    constant: list = field(default_factory=list)
    chains: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "dropped": self.dropped,
            "fixed_at": self.fixed_at,
            "recomputed_features": list(self.recomputed),
            "constant_features": list(self.constant),
            "importance": {k: float(v) for k, v in self.importance.items()},
            "chains": dict(self.chains),
            "remaining": list(self.remaining),
            "importance_dropped": float(self.importance[self.dropped]),
            "importance_share_dropped": float(
                self.importance[self.dropped] / max(sum(self.importance.values()), 1e-300)
            ),
            "mae_full": float(self.mae_full),
            "mae_reduced": float(self.mae_reduced),
            "ks": {k: float(v) for k, v in self.ks.items()},
            "quantile_shift_sd": {k: float(v) for k, v in self.quantile_shift.items()},
            "quantiles_full": self.quantiles_full,
            "quantiles_reduced": self.quantiles_reduced,
            "n_samples_full": int(self.samples_full.shape[0]),
            "n_samples_reduced": int(self.samples_reduced.shape[0]),
            "can_drop": bool(self.can_drop),
            "verdict": self.verdict,
            "thresholds": dict(self.thresholds),
        }


def _quantiles(x: np.ndarray) -> dict:
    qs = np.quantile(x, REPORTED_QUANTILES)
    return {f"q{100 * q:g}": float(v) for q, v in zip(REPORTED_QUANTILES, qs, strict=True)}


FitFn = Callable[[Sequence[int]], tuple[object, float]]


SampleFn = Callable[[object, Sequence[int]], object]


def _chain(result) -> tuple[np.ndarray, dict | None]:
    """(samples, chain facts) of what a SampleFn returned: an array, or a chain with
    ``samples``, ``converged``, ``n_steps`` and ``tau`` (a SamplingResult)."""
    if not hasattr(result, "samples"):
        return np.asarray(result, dtype=np.float64), None
    facts = {
        "converged": bool(result.converged),
        "n_steps": int(result.n_steps),
        "max_tau": float(np.max(result.tau)),
    }
    return np.asarray(result.samples, dtype=np.float64), facts


def _touched_features(names, features, dropped, fixed_at) -> tuple[list[str], list[str]]:
    """(features built on ``dropped`` that the reduced model recomputes, those left constant)."""
    if not features:
        return [], []
    from globalfit.features import FeatureMap

    fm = FeatureMap(names, features)
    built_on = [f["name"] for f, u in zip(fm.features, fm.uses, strict=True) if dropped in u]
    if fixed_at is None:
        return [], built_on
    _, constant = fm.fixed({dropped: fixed_at})
    return [n for n in built_on if n not in constant], constant


def run_ablation(
    importance: Mapping[str, float],
    names: Sequence[str],
    *,
    fit: FitFn,
    sample: SampleFn,
    drop: str | None = None,
    reference: Mapping[str, float] | None = None,
    features: Sequence[Mapping] = (),
    full: tuple[object, float] | None = None,
    full_samples: np.ndarray | None = None,
    mae_rel_tol: float = MAE_REL_TOL,
    mae_abs_tol: float = MAE_ABS_TOL,
    quantile_shift_tol: float = QUANTILE_SHIFT_TOL,
    ks_tol: float = KS_TOL,
) -> AblationResult:
    """Drop the least important parameter, retrain and resample, and judge whether it matters.

    Parameters
    ----------
    importance : Mapping of str to float
        {parameter: importance}, e.g. :func:`parameter_importance` (mean |φ| of the exact
        Shapley values over the parameters, through the derived features).
    names : (d,) sequence of str
        All parameters in column order.
    fit : callable
        fit(columns) -> (model, test MAE): trains a surrogate on the given column indices with the
        full model's hyperparameters and split (e.g. :func:`surrogate_fitter`).
    sample : callable
        sample(model, columns) -> (n, len(columns)) posterior samples, or a chain with
        ``samples``, ``converged``, ``n_steps`` and ``tau`` (e.g. :func:`emcee_sampler`), whose
        50 τ verdict is reported.
    drop : str, optional
        Parameter to drop (default: :func:`least_important`).
    reference : mapping, optional
        {parameter: value} the reduced model fixes the dropped parameter at (``fit`` does it;
        here it is named in the verdict).
    features : sequence of mapping
        The full model's derived features: those built on the dropped parameter are named in
        the verdict, recomputed at the reference or, left constant, removed.
    full : (model, float), optional
        (model, MAE) of the full model if already trained with ``fit``'s settings (else trained
        here).
    full_samples : (n, d) ndarray, optional
        The full model's posterior samples (else sampled here).
    mae_rel_tol, mae_abs_tol, quantile_shift_tol, ks_tol : float
        The verdict's tolerances (Notes).

    Returns
    -------
    AblationResult
        Both models' MAE, quantiles, quantile shifts, KS distances, samples and the verdict.

    Raises
    ------
    ValueError
        For a parameter without importance, an unknown ``drop``, fewer than two parameters, or
        posterior samples of the wrong shape, with fewer than 2 rows or non-finite values.

    Notes
    -----
    The parameter can be dropped iff ALL of

    * MAE_reduced ≤ MAE_full + max(mae_rel_tol · MAE_full, mae_abs_tol) (defaults 10 %,
      0.05 χ²),
    * for every remaining parameter, every quantile in JUDGED_QUANTILES (16/50/84 %) moves by at
      most quantile_shift_tol (0.2) posterior standard deviations of the full model; the 2.5 and
      97.5 % quantiles are reported but not judged (their Monte Carlo error is about twice as
      large),
    * every two-sample KS distance D (scipy.stats.ks_2samp) is ≤ ks_tol (0.1). D, not the
      p-value, is judged: MCMC samples are autocorrelated, so p-values would be far too small,
    * both chains are at least 50 τ long, where the sampler reports it (a shorter chain's
      quantiles are not reliable enough to compare).

    Sampling noise counts against the verdict: chains need ESS ≳ 1000 per parameter (the median's
    Monte Carlo error is then ≈ 0.04 sd, D between two independent samples ≈ 0.04).
    """
    names = tuple(names)
    missing = [n for n in names if n not in importance]
    if missing:
        raise ValueError(f"run_ablation: no importance for parameter(s) {missing}")
    imp = {n: float(importance[n]) for n in names}
    dropped = least_important(imp) if drop is None else drop
    if dropped not in names:
        raise ValueError(f"run_ablation: cannot drop {dropped!r}, not one of {list(names)}")
    if len(names) < 2:
        raise ValueError("run_ablation: need at least two parameters")
    j_drop = names.index(dropped)
    all_cols = list(range(len(names)))
    cols = [j for j in all_cols if j != j_drop]
    remaining = tuple(names[j] for j in cols)

    model_full, mae_full = full if full is not None else fit(all_cols)
    log.info("ablation: dropping %s; full model test MAE %.4g", dropped, mae_full)
    model_red, mae_red = fit(cols)
    log.info("ablation: reduced model test MAE %.4g", mae_red)
    s_full, chain_full = _chain(
        full_samples if full_samples is not None else sample(model_full, all_cols)
    )
    if s_full.ndim != 2 or s_full.shape[1] != len(names):
        raise ValueError(f"full posterior samples must be (n, {len(names)}), got {s_full.shape}")
    s_full = s_full[:, cols]
    s_red, chain_red = _chain(sample(model_red, cols))
    if s_red.ndim != 2 or s_red.shape[1] != len(cols):
        raise ValueError(f"reduced posterior samples must be (n, {len(cols)}), got {s_red.shape}")
    for what, s in (("full", s_full), ("reduced", s_red)):
        if s.shape[0] < 2 or not np.all(np.isfinite(s)):
            raise ValueError(f"{what} posterior samples: need >= 2 finite rows, got {s.shape[0]}")

    ks, shift, qf, qr = {}, {}, {}, {}
    for k, n in enumerate(remaining):
        a, b = s_full[:, k], s_red[:, k]
        ks[n] = float(stats.ks_2samp(a, b).statistic)
        sd = float(np.std(a))
        qa, qb = np.quantile(a, JUDGED_QUANTILES), np.quantile(b, JUDGED_QUANTILES)
        shift[n] = (
            float(np.max(np.abs(qb - qa)) / sd)
            if sd > 0
            else (0.0 if np.allclose(qa, qb) else math.inf)
        )
        qf[n], qr[n] = _quantiles(a), _quantiles(b)

    mae_limit = mae_full + max(mae_rel_tol * mae_full, mae_abs_tol)
    ok_mae = mae_red <= mae_limit
    worst_shift = max(shift, key=shift.get)
    worst_ks = max(ks, key=ks.get)
    ok_q = shift[worst_shift] <= quantile_shift_tol
    ok_ks = ks[worst_ks] <= ks_tol
    can_drop = bool(ok_mae and ok_q and ok_ks)
    share = imp[dropped] / max(sum(imp.values()), 1e-300)
    change = (mae_red - mae_full) / mae_full if mae_full > 0 else math.inf
    fixed_at = None if reference is None or dropped not in reference else float(reference[dropped])
    recomputed, constant = _touched_features(names, features, dropped, fixed_at)
    chains = {k: v for k, v in (("full", chain_full), ("reduced", chain_red)) if v is not None}
    short = [k for k, v in chains.items() if not v["converged"]]
    can_drop = can_drop and not short
    rank = sorted(imp, key=imp.get, reverse=True).index(dropped) + 1
    which = (
        "the least important parameter"
        if rank == len(names)
        else f"importance rank {rank} of {len(names)}"
    )
    how = "" if fixed_at is None else f"; the reduced model fixes it at {fixed_at:g}"
    if recomputed:
        how += f" and recomputes the derived inputs {', '.join(recomputed)} there"
    if constant:
        how += f", leaving out {', '.join(constant)} (constant there)"
    head = (
        f"Dropping {dropped} ({which}, importance {imp[dropped]:.3g} = {100 * share:.1f} % of "
        f"the total{how}) changes the test MAE from {mae_full:.3g} to {mae_red:.3g} "
        f"({100 * change:+.0f} %) and moves no posterior quantile (16/50/84 %) of the remaining "
        f"parameters by more than {shift[worst_shift]:.3g} posterior sd ({worst_shift}); the "
        f"largest KS distance is {ks[worst_ks]:.3f} ({worst_ks})."
    )
    if chains and not short:
        head += " Both chains meet the 50 tau rule."
    crit = (
        f"criteria: MAE at most {mae_limit:.3g} (+{100 * mae_rel_tol:.0f} % or +{mae_abs_tol:g}), "
        f"quantile shifts <= {quantile_shift_tol:g} sd, KS distance <= {ks_tol:g}, chains of "
        "at least 50 tau"
    )
    if can_drop:
        verdict = f"{head} {dropped} can be dropped ({crit})."
    else:
        fails = []
        if not ok_mae:
            fails.append(f"the MAE rises above {mae_limit:.3g}")
        if not ok_q:
            fails.append(
                f"{worst_shift}'s quantiles move by {shift[worst_shift]:.3g} sd "
                f"> {quantile_shift_tol:g}"
            )
        if not ok_ks:
            fails.append(f"{worst_ks}'s KS distance {ks[worst_ks]:.3f} > {ks_tol:g}")
        for k in short:
            c = chains[k]
            fails.append(
                f"the {k} chain ({c['n_steps']} steps < 50 x tau {c['max_tau']:.0f}) is too "
                "short to compare posteriors"
            )
        verdict = f"{head} {dropped} should be kept: " + "; ".join(fails) + f" ({crit})."
    thresholds = {
        "mae_rel_tol": mae_rel_tol,
        "mae_abs_tol": mae_abs_tol,
        "quantile_shift_tol_sd": quantile_shift_tol,
        "ks_tol": ks_tol,
        "judged_quantiles": list(JUDGED_QUANTILES),
    }
    return AblationResult(
        dropped,
        remaining,
        imp,
        float(mae_full),
        float(mae_red),
        qf,
        qr,
        shift,
        ks,
        can_drop,
        verdict,
        thresholds,
        s_full,
        s_red,
        fixed_at,
        recomputed,
        constant,
        chains,
    )
