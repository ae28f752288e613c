"""Explaining the surrogate: which parameters drive the fit, which pairs interact, and whether
the least important parameter can be dropped.

Entry points
------------
``explain_points(booster, theta, delta, names, ...)`` -> :class:`ShapResult`
    SHAP values (``shap.TreeExplainer``, tree-path-dependent, ``model_output="raw"``) of one
    XGBoost model at the given points, with every point assigned to a band of its *true* Δχ².
``explain_surrogate(surrogate, theta, delta, ...)`` -> :class:`SurrogateExplanation`
    the above for the regressor and the classifier's margin, plus SHAP at the best fit and the
    pairwise interactions; what the workflow's explain rule calls.
``pairwise_interactions(booster, theta, delta, names, theta_best=..., ...)`` -> :class:`InteractionResult`
    shapiq ``TreeExplainer(max_order=2, index="k-SII")`` at the best fit and averaged (mean |value|)
    over a seeded sample of points.
``run_ablation(importance, names, fit=..., sample=...)`` -> :class:`AblationResult`
    drop the least important parameter, retrain, resample, compare (test MAE, posterior quantiles,
    two-sample KS distance) and write a verdict. ``surrogate_fitter`` / ``emcee_sampler`` build the
    two callables from the package's :class:`~globalfit.surrogate.Surrogate` and
    :func:`~globalfit.sampling.sample_posterior`.
``importance_summary(...)`` -> the JSON-ready content of ``importance.json``.

Conventions
-----------
* Points are ``theta : (n, d)`` in parameter units in the model's feature order (``names``);
  ``delta : (n,)`` is the TRUE Δχ² of each point (χ² − χ²_best of the dataset), used only to band.
* Bands: ``edges = (e_0, ..., e_{k-1})`` increasing and > 0 give k bands
  ``Δχ² < e_0``, ``e_0 ≤ Δχ² < e_1``, ...; points with Δχ² ≥ e_{k-1} belong to no band (band −1) but
  are still part of "all" (``ALL``). Default ``(2.30, 10)``: the 68 % region of a 2-parameter
  profile and the rest of the surrogate's region.
* SHAP values are on the model's own output scale: the regressor's transformed target (Δχ² for
  ``target_transform='delta_chi2'``, log(1 + Δχ²) for ``'log1p_delta_chi2'``), the classifier's
  log-odds. Per point, base value + Σ SHAP = model output (exactly, up to float32).
* shapiq 1.8.0 reads XGBoost leaf values from ``base_weights``; for ``reg:absoluteerror`` (the
  package's default regressor objective) XGBoost re-fits the leaves after growing a tree and only
  updates the leaf values, so shapiq explained a different model (its values did not sum to the
  prediction). :func:`_shapiq_ready` hands shapiq a copy whose ``base_weights`` equal the leaf
  values, and every interaction computation checks the k-SII efficiency (baseline + Σ values =
  prediction) so that such a mismatch cannot pass silently.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

log = logging.getLogger(__name__)

#: Default upper edges of the true-Δχ² bands: < 2.30 (68 % for two parameters) and 2.30–10.
DEFAULT_BAND_EDGES = (2.30, 10.0)
#: Column / key of the importance over all explained points.
ALL = "all"

# Ablation verdict thresholds (documented in run_ablation).
MAE_REL_TOL = 0.10
MAE_ABS_TOL = 0.05
QUANTILE_SHIFT_TOL = 0.2
KS_TOL = 0.10
JUDGED_QUANTILES = (0.16, 0.5, 0.84)
REPORTED_QUANTILES = (0.025, 0.16, 0.5, 0.84, 0.975)


# --------------------------------------------------------------------------------------------
# input checks and bands


def _check_points(theta, names, what="theta") -> np.ndarray:
    X = np.asarray(theta, dtype=np.float64)
    if X.ndim == 1 and X.size == len(names):
        X = X[None, :]
    if X.ndim != 2 or X.shape[1] != len(names):
        raise ValueError(f"{what}: expected shape (n, {len(names)}) for parameters {list(names)}, got {X.shape}")
    if X.shape[0] == 0:
        raise ValueError(f"{what}: no points to explain")
    bad = ~np.isfinite(X)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise ValueError(f"{what}: row {i} has a non-finite value for {names[j]!r}: {X[i, j]}")
    return X


def _check_delta(delta, n, what="delta") -> np.ndarray:
    d = np.asarray(delta, dtype=np.float64).reshape(-1)
    if d.size != n:
        raise ValueError(f"{what}: {d.size} values for {n} points")
    if np.isnan(d).any():
        raise ValueError(f"{what}: NaN at row {int(np.argmax(np.isnan(d)))}")
    return d


def _check_edges(edges) -> tuple[float, ...]:
    e = tuple(float(x) for x in edges)
    if not e:
        raise ValueError("band edges: need at least one edge")
    if not all(np.isfinite(x) and x > 0 for x in e) or any(b <= a for a, b in zip(e, e[1:])):
        raise ValueError(f"band edges must be finite, > 0 and strictly increasing, got {list(edges)}")
    return e


def band_labels(edges: Sequence[float] = DEFAULT_BAND_EDGES) -> list[str]:
    """Labels of the bands, e.g. (2.3, 10) -> ['delta_chi2 < 2.3', '2.3 <= delta_chi2 < 10']."""
    e = _check_edges(edges)
    out = [f"delta_chi2 < {e[0]:g}"]
    out += [f"{a:g} <= delta_chi2 < {b:g}" for a, b in zip(e, e[1:])]
    return out


def band_index(delta: np.ndarray, edges: Sequence[float] = DEFAULT_BAND_EDGES) -> np.ndarray:
    """delta : (n,) true Δχ² -> (n,) int band: 0 for Δχ² < e_0, i for e_{i-1} <= Δχ² < e_i,
    −1 for Δχ² >= e_{k-1} (and +inf). Lower edges are inclusive, upper edges exclusive."""
    e = np.asarray(_check_edges(edges))
    d = np.asarray(delta, dtype=np.float64).reshape(-1)
    if np.isnan(d).any():
        raise ValueError(f"band_index: delta is NaN at row {int(np.argmax(np.isnan(d)))}")
    b = np.searchsorted(e, d, side="right")  # number of edges <= d
    return np.where(b >= e.size, -1, b).astype(np.int64)


def in_region_points(
    theta: np.ndarray,
    chi2: np.ndarray,
    *,
    threshold: float = 10.0,
    chi2_best: float | None = None,
    ok: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The dataset's in-region points: theta (N, d), chi2 (N,), ok (N,) bool or None ->
    (theta_in (m, d), delta_in (m,)) with delta = χ² − chi2_best < threshold (strict, as the
    surrogate's region). chi2_best defaults to the minimum χ² of the usable points."""
    theta = np.asarray(theta, dtype=np.float64)
    chi2 = np.asarray(chi2, dtype=np.float64).reshape(-1)
    if theta.ndim != 2 or theta.shape[0] != chi2.size:
        raise ValueError(f"theta must be (N, d) and chi2 (N,), got {theta.shape} and {chi2.shape}")
    use = np.ones(chi2.size, bool) if ok is None else np.asarray(ok, dtype=bool).reshape(-1)
    if use.size != chi2.size:
        raise ValueError(f"ok has {use.size} entries for {chi2.size} points")
    use &= ~np.isnan(chi2)
    if not use.any():
        raise ValueError("in_region_points: no usable point")
    best = float(np.min(chi2[use])) if chi2_best is None else float(chi2_best)
    delta = chi2 - best
    keep = use & (delta < threshold)
    if not keep.any():
        raise ValueError(f"in_region_points: no point with delta_chi2 < {threshold} (chi2_best = {best})")
    return theta[keep], delta[keep]


def points_from_bundle(bundle_dir: Path | str) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """The in-region points of a surrogate bundle's ``split.csv`` (all roles) ->
    (theta (m, d), delta (m,), names). Uses the bundle's own region definition (column in_region)."""
    bundle = Path(bundle_dir)
    meta = json.loads((bundle / "metadata.json").read_text())
    names = tuple(meta["parameters"]["names"])
    path = bundle / "split.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: the bundle was not written by Surrogate.fit/save")
    table = pd.read_csv(path)
    missing = [c for c in (*names, "delta_chi2", "in_region") if c not in table.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}")
    table = table[table["in_region"].astype(bool)]
    return table[list(names)].to_numpy(np.float64), table["delta_chi2"].to_numpy(np.float64), names


def _with_nthread(booster, nthread: int):
    """A copy of the booster with an explicit thread count (a loaded model would use all cores)."""
    b = booster.copy()
    b.set_param({"nthread": int(nthread)})
    return b


def _margin(booster, X: np.ndarray, nthread: int = 1) -> np.ndarray:
    """(n,) raw output (margin) of the booster at X (n, d)."""
    import xgboost as xgb

    b = _with_nthread(booster, nthread)
    dm = xgb.DMatrix(np.asarray(X, dtype=np.float32), nthread=int(nthread))
    return np.asarray(b.predict(dm, output_margin=True), dtype=np.float64).reshape(-1)


def _check_features(booster, names):
    nf = booster.num_features()
    if nf != len(names):
        raise ValueError(f"the model has {nf} features but {len(names)} parameter names were given: {list(names)}")


# --------------------------------------------------------------------------------------------
# SHAP


@dataclass
class ShapResult:
    """SHAP values of one model at n points.

    names : (d,) parameters; theta : (n, d); delta : (n,) true Δχ²; band : (n,) int (−1: none)
    values : (n, d) SHAP values; base_value : float; output : (n,) model output (raw margin)
    edges, labels : the bands; model : 'regressor' / 'classifier' / free text; scale : what the
    output means (e.g. 'delta_chi2', 'log-odds of delta_chi2 < 10').
    """

    names: tuple[str, ...]
    theta: np.ndarray
    delta: np.ndarray
    band: np.ndarray
    values: np.ndarray
    base_value: float
    output: np.ndarray
    edges: tuple[float, ...]
    labels: list[str]
    model: str = "regressor"
    scale: str = ""

    def table(self) -> pd.DataFrame:
        """Mean |SHAP| per parameter (index) and band (columns: band labels, then ``ALL``).
        A band without points has NaN; ``attrs['counts']`` = {column: number of points}."""
        return mean_abs_table(self.values, self.band, self.labels, self.names)

    def ranking(self) -> list[str]:
        """Parameters by mean |SHAP| over all points, most important first."""
        t = self.table()[ALL]
        return list(t.sort_values(ascending=False, kind="stable").index)

    def select(self, band: str | int | None) -> np.ndarray:
        """(n,) bool rows of a band (label or index); None or ``ALL`` -> all rows."""
        if band is None or band == ALL:
            return np.ones(self.band.size, bool)
        return self.band == self.band_number(band)

    def band_number(self, band: str | int) -> int:
        """Index of a band given by label or index; ValueError naming the known bands otherwise."""
        if isinstance(band, str):
            if band not in self.labels:
                raise ValueError(f"unknown band {band!r}; bands: {self.labels}")
            return self.labels.index(band)
        i = int(band)
        if not 0 <= i < len(self.labels):
            raise ValueError(f"unknown band {band!r}; bands: {self.labels}")
        return i

    def explanation(self, band: str | int | None = None):
        """A ``shap.Explanation`` of the rows of one band (for shap's plots)."""
        import shap

        m = self.select(band)
        return shap.Explanation(
            values=self.values[m], base_values=np.full(int(m.sum()), self.base_value),
            data=self.theta[m], feature_names=list(self.names),
        )


def mean_abs_table(values: np.ndarray, band: np.ndarray, labels: Sequence[str], names: Sequence[str]) -> pd.DataFrame:
    """values : (n, d) SHAP, band : (n,) int -> DataFrame (d parameters x (bands + ALL)) of mean |SHAP|."""
    values = np.asarray(values, dtype=np.float64)
    band = np.asarray(band).reshape(-1)
    if values.shape != (band.size, len(names)):
        raise ValueError(f"values {values.shape} do not match {band.size} points x {len(names)} parameters")
    a = np.abs(values)
    cols, counts = {}, {}
    for i, lab in enumerate(labels):
        m = band == i
        counts[lab] = int(m.sum())
        cols[lab] = a[m].mean(axis=0) if m.any() else np.full(len(names), np.nan)
    cols[ALL] = a.mean(axis=0)
    counts[ALL] = int(band.size)
    out = pd.DataFrame(cols, index=pd.Index(list(names), name="parameter"))
    out.attrs["counts"] = counts
    return out


def shap_values(booster, theta: np.ndarray, *, nthread: int = 1, backend: str = "shap") -> tuple[np.ndarray, float]:
    """SHAP values of an XGBoost booster's raw output (margin) at theta (n, d) ->
    (values (n, d), base_value). Tree-path-dependent TreeSHAP: no background data, the training
    covers stored in the trees are the reference distribution.

    backend : "shap" (``shap.TreeExplainer``, which calls XGBoost's own TreeSHAP, on ``nthread``
        threads) or "shapiq" (``shapiq.TreeExplainer(index="SV", max_order=1)``, a linear-time
        TreeSHAP, single-threaded, about 2x faster on deep ensembles; same values to ~1e-5).
    """
    X = np.asarray(theta, dtype=np.float32)
    if backend == "shap":
        import shap
        import xgboost as xgb

        b = _with_nthread(booster, nthread)
        explainer = shap.TreeExplainer(b, feature_perturbation="tree_path_dependent", model_output="raw")
        # a DMatrix with an explicit thread count: shap would otherwise build one on all cores
        sv = explainer.shap_values(xgb.DMatrix(X, nthread=int(nthread)), check_additivity=False)
        sv = np.asarray(sv, dtype=np.float64).reshape(X.shape[0], X.shape[1])
        return sv, float(np.asarray(explainer.expected_value).reshape(-1)[0])
    if backend == "shapiq":
        import shapiq

        explainer = shapiq.TreeExplainer(_shapiq_ready(booster, nthread), max_order=1, index="SV")
        batch = explainer.explain_X(X.astype(np.float64), n_jobs=None)
        sv = np.column_stack([np.asarray(batch.values[(j,)], dtype=np.float64).reshape(-1) for j in range(X.shape[1])])
        return sv, float(np.asarray(batch.baseline_value).reshape(-1)[0])
    raise ValueError(f"backend must be 'shap' or 'shapiq', got {backend!r}")


def explain_points(
    booster,
    theta: np.ndarray,
    delta: np.ndarray,
    names: Sequence[str],
    *,
    edges: Sequence[float] = DEFAULT_BAND_EDGES,
    model: str = "regressor",
    scale: str = "",
    nthread: int = 1,
    backend: str = "shap",
) -> ShapResult:
    """SHAP values of ``booster`` at theta (n, d), banded by the true delta (n,); backend as for
    :func:`shap_values`.

    Raises ValueError for shape mismatches, non-finite points or a model whose number of features
    differs from ``names``; RuntimeError if base value + Σ SHAP differs from the model's margin
    (a broken explainer must not produce a plausible table)."""
    names = tuple(names)
    X = _check_points(theta, names)
    d = _check_delta(delta, X.shape[0])
    edges = _check_edges(edges)
    _check_features(booster, names)
    values, base = shap_values(booster, X, nthread=nthread, backend=backend)
    out = _margin(booster, X, nthread)
    err = np.abs(base + values.sum(axis=1) - out)
    tol = 1e-3 + 1e-4 * np.abs(out)
    if np.any(err > tol):
        i = int(np.argmax(err - tol))
        raise RuntimeError(f"SHAP values of the {model} do not add up to its output at row {i}: "
                           f"base {base} + sum {values[i].sum()} != {out[i]}")
    return ShapResult(names, X, d, band_index(d, edges), values, base, out, edges, band_labels(edges), model, scale)


# --------------------------------------------------------------------------------------------
# shapiq pairwise interactions


def _shapiq_ready(booster, nthread: int = 1):
    """A copy of the booster whose leaf ``base_weights`` equal the leaf values (see the module
    docstring: shapiq 1.8.0 reads base_weights, stale for reg:absoluteerror's refitted leaves)."""
    import xgboost as xgb

    model = json.loads(bytes(booster.save_raw("json")))
    for tree in model["learner"]["gradient_booster"]["model"]["trees"]:
        left = np.asarray(tree["left_children"])
        bw = np.asarray(tree["base_weights"], dtype=np.float64)
        leaf = left == -1
        if bw.size == left.size:  # single-target trees only
            bw[leaf] = np.asarray(tree["split_conditions"], dtype=np.float64)[leaf]
            tree["base_weights"] = bw.tolist()
    b = xgb.Booster()
    b.load_model(bytearray(json.dumps(model).encode()))
    b.set_param({"nthread": int(nthread)})
    return b


def _kSII(booster, X: np.ndarray, d: int, nthread: int) -> tuple[np.ndarray, np.ndarray, float]:
    """k-SII order ≤ 2 at X (m, d) -> (first (m, d), pairs (m, d, d) symmetric, zero diagonal,
    baseline). Checks efficiency: baseline + Σ first + Σ_{i<j} pairs = margin."""
    import shapiq

    b = _shapiq_ready(booster, nthread)
    explainer = shapiq.TreeExplainer(b, max_order=2, index="k-SII")
    # the default index ("SV") has no pairs; n_jobs=None keeps the computation on one core
    batch = explainer.explain_X(np.asarray(X, dtype=np.float64), n_jobs=None)
    vals = batch.values
    m = X.shape[0]
    first = np.zeros((m, d))
    pairs = np.zeros((m, d, d))
    for key, v in vals.items():
        v = np.asarray(v, dtype=np.float64).reshape(m)
        if len(key) == 1:
            first[:, key[0]] = v
        elif len(key) == 2:
            i, j = key
            pairs[:, i, j] = pairs[:, j, i] = v
    baseline = float(np.asarray(batch.baseline_value).reshape(-1)[0])
    out = _margin(booster, X, nthread)  # the ORIGINAL model: proves the patched copy explains it
    total = baseline + first.sum(axis=1) + np.triu(pairs, 1).sum(axis=(1, 2))
    err = np.abs(total - out)
    tol = 1e-3 + 1e-4 * np.abs(out)
    if np.any(err > tol):
        i = int(np.argmax(err - tol))
        raise RuntimeError(f"shapiq k-SII values do not add up to the model output at row {i} "
                           f"({total[i]} vs {out[i]}): the tree conversion does not match the model")
    return first, pairs, baseline


@dataclass
class InteractionResult:
    """Pairwise k-SII interactions (order ≤ 2) of one model.

    theta_best : (d,) the best fit; best_first : (d,), best_pairs : (d, d) symmetric, zero diagonal
    sample_theta : (m, d) the seeded sample; sample_delta, sample_band : (m,)
    first : (m, d), pairs : (m, d, d) per sample point; baseline : float
    mean_abs_pairs : (d, d) mean |pair value| over the sample; mean_abs_first : (d,)
    """

    names: tuple[str, ...]
    theta_best: np.ndarray
    best_first: np.ndarray
    best_pairs: np.ndarray
    best_output: float
    sample_theta: np.ndarray
    sample_delta: np.ndarray
    sample_band: np.ndarray
    first: np.ndarray
    pairs: np.ndarray
    baseline: float
    labels: list[str]
    seed: int
    index: str = "k-SII"

    @property
    def mean_abs_pairs(self) -> np.ndarray:
        return np.abs(self.pairs).mean(axis=0)

    @property
    def mean_abs_first(self) -> np.ndarray:
        return np.abs(self.first).mean(axis=0)

    def table(self) -> pd.DataFrame:
        """One row per pair (a, b): value at the best fit, mean |value| over the sample and per
        band (NaN for an empty band); sorted by mean |value|, largest first."""
        d = len(self.names)
        rows = []
        ab = np.abs(self.pairs)
        for i in range(d):
            for j in range(i + 1, d):
                row = {"a": self.names[i], "b": self.names[j], "best_fit": float(self.best_pairs[i, j]),
                       "mean_abs": float(ab[:, i, j].mean())}
                for k, lab in enumerate(self.labels):
                    m = self.sample_band == k
                    row[f"mean_abs[{lab}]"] = float(ab[m, i, j].mean()) if m.any() else math.nan
                rows.append(row)
        df = pd.DataFrame(rows)
        return df.sort_values("mean_abs", ascending=False, kind="stable").reset_index(drop=True)

    def top_pairs(self, k: int | None = None, *, which: str = "mean_abs") -> list[dict]:
        """[{"pair": [a, b], "value": v}] sorted by |value|, largest first; which = 'mean_abs'
        (average over the sample) or 'best_fit' (signed value at the best fit)."""
        if which not in ("mean_abs", "best_fit"):
            raise ValueError(f"which must be 'mean_abs' or 'best_fit', got {which!r}")
        t = self.table()
        order = np.argsort(-np.abs(t[which].to_numpy()), kind="stable")
        t = t.iloc[order[: (k if k is not None else len(t))]]
        return [{"pair": [a, b], "value": float(v)} for a, b, v in zip(t["a"], t["b"], t[which])]

    def interaction_values(self, which: str = "best_fit"):
        """A ``shapiq.InteractionValues`` (for shapiq's plots) of the best fit or of the mean |values|."""
        import shapiq

        d = len(self.names)
        if which == "best_fit":
            first, pairs, base = self.best_first, self.best_pairs, self.baseline
        elif which == "mean_abs":
            first, pairs, base = self.mean_abs_first, self.mean_abs_pairs, 0.0
        else:
            raise ValueError(f"which must be 'best_fit' or 'mean_abs', got {which!r}")
        lookup, vals = {(): 0}, [base]
        for i in range(d):
            lookup[(i,)] = len(vals)
            vals.append(first[i])
        for i in range(d):
            for j in range(i + 1, d):
                lookup[(i, j)] = len(vals)
                vals.append(pairs[i, j])
        return shapiq.InteractionValues(np.asarray(vals), index=self.index, max_order=2, n_players=d, min_order=0,
                                        interaction_lookup=lookup, estimated=False, baseline_value=base)


def sample_rows(n: int, n_points: int, seed: int) -> np.ndarray:
    """Sorted indices of a seeded random subset of range(n) of size min(n, n_points)."""
    if n_points < 1:
        raise ValueError(f"n_points must be >= 1, got {n_points}")
    if n_points >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=n_points, replace=False))


def pairwise_interactions(
    booster,
    theta: np.ndarray,
    delta: np.ndarray,
    names: Sequence[str],
    *,
    theta_best: np.ndarray | None = None,
    n_points: int = 256,
    edges: Sequence[float] = DEFAULT_BAND_EDGES,
    seed: int = 0,
    nthread: int = 1,
) -> InteractionResult:
    """Pairwise Shapley interactions (shapiq TreeExplainer, max_order=2, index='k-SII') of the
    booster at the best fit and at a seeded sample of ``n_points`` of theta (n, d).

    theta_best : (d,) the point to explain; default: the row of theta with the smallest delta.
    k-SII splits the output as baseline + Σ_i φ_i + Σ_{i<j} φ_ij; φ_ij is the part that neither
    parameter explains alone (e.g. 3·x2·x4 lands in φ_24)."""
    names = tuple(names)
    X = _check_points(theta, names)
    dl = _check_delta(delta, X.shape[0])
    edges = _check_edges(edges)
    _check_features(booster, names)
    best = X[int(np.argmin(dl))] if theta_best is None else _check_points(theta_best, names, "theta_best")[0]
    rows = sample_rows(X.shape[0], n_points, seed)
    d = len(names)
    first, pairs, baseline = _kSII(booster, np.vstack([best[None, :], X[rows]]), d, nthread)
    total_best = baseline + first[0].sum() + np.triu(pairs[0], 1).sum()
    return InteractionResult(
        names=names, theta_best=best, best_first=first[0], best_pairs=pairs[0], best_output=float(total_best),
        sample_theta=X[rows], sample_delta=dl[rows], sample_band=band_index(dl[rows], edges),
        first=first[1:], pairs=pairs[1:], baseline=baseline, labels=band_labels(edges), seed=int(seed),
    )


# --------------------------------------------------------------------------------------------
# the surrogate as a whole


@dataclass
class SurrogateExplanation:
    """Everything the explain stage reports: SHAP of the regressor and of the classifier's
    margin at the in-region points, SHAP of the regressor at the best fit, pair interactions."""

    regressor: ShapResult
    classifier: ShapResult | None
    best_fit: ShapResult
    interactions: InteractionResult


def explain_surrogate(
    surrogate,
    theta: np.ndarray,
    delta: np.ndarray,
    *,
    theta_best: np.ndarray | None = None,
    edges: Sequence[float] = DEFAULT_BAND_EDGES,
    n_interaction_points: int = 256,
    classifier: bool = True,
    seed: int = 0,
    nthread: int = 1,
    backend: str = "shap",
) -> SurrogateExplanation:
    """Explain a fitted or loaded :class:`~globalfit.surrogate.Surrogate` at the in-region
    points theta (n, d) with true delta (n,) (e.g. :func:`points_from_bundle`).

    Uses ``surrogate.regressor_booster_``, ``surrogate.classifier_booster_``,
    ``surrogate.space.names``, ``surrogate.target_transform`` and ``surrogate.threshold``.
    theta_best : (d,) best fit (e.g. from the inference stage; it is given Δχ² = 0 for the bands);
        default: the lowest-delta point.
    backend : SHAP implementation (:func:`shap_values`); interactions always use shapiq.
    """
    X = surrogate.features_of(_check_points(theta, tuple(surrogate.space.names)))
    names = tuple(surrogate.feature_names)  # the parameters, then any derived features
    dl = _check_delta(delta, X.shape[0])
    transform = getattr(surrogate, "target_transform", "delta_chi2")
    scale = {"delta_chi2": "delta_chi2", "log1p_delta_chi2": "log(1 + delta_chi2)"}.get(transform, transform)
    reg = explain_points(surrogate.regressor_booster_, X, dl, names, edges=edges, model="regressor",
                         scale=scale, nthread=nthread, backend=backend)
    clf = None
    if classifier:
        clf = explain_points(surrogate.classifier_booster_, X, dl, names, edges=edges, model="classifier",
                             scale=f"log-odds of delta_chi2 < {surrogate.threshold:g}", nthread=nthread,
                             backend=backend)
    best = (X[int(np.argmin(dl))] if theta_best is None
            else surrogate.features_of(_check_points(theta_best, tuple(surrogate.space.names), "theta_best"))[0])
    best_delta = float(dl[int(np.argmin(dl))]) if theta_best is None else 0.0
    best_res = explain_points(surrogate.regressor_booster_, best[None, :], [best_delta], names, edges=edges,
                              model="regressor (best fit)", scale=scale, nthread=nthread,
                              backend=backend)
    inter = pairwise_interactions(surrogate.regressor_booster_, X, dl, names, theta_best=best,
                                  n_points=n_interaction_points, edges=edges, seed=seed, nthread=nthread)
    return SurrogateExplanation(reg, clf, best_res, inter)


# --------------------------------------------------------------------------------------------
# ablation


def least_important(importance: Mapping[str, float]) -> str:
    """The parameter with the smallest mean |SHAP| (ties: the last in order)."""
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

    def as_dict(self) -> dict:
        return {
            "dropped": self.dropped,
            "remaining": list(self.remaining),
            "importance_dropped": float(self.importance[self.dropped]),
            "importance_share_dropped": float(self.importance[self.dropped] / max(sum(self.importance.values()), 1e-300)),
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
    return {f"q{100 * q:g}": float(v) for q, v in zip(REPORTED_QUANTILES, qs)}


FitFn = Callable[[Sequence[int]], tuple[object, float]]
SampleFn = Callable[[object, Sequence[int]], np.ndarray]


def run_ablation(
    importance: Mapping[str, float],
    names: Sequence[str],
    *,
    fit: FitFn,
    sample: SampleFn,
    drop: str | None = None,
    full: tuple[object, float] | None = None,
    full_samples: np.ndarray | None = None,
    mae_rel_tol: float = MAE_REL_TOL,
    mae_abs_tol: float = MAE_ABS_TOL,
    quantile_shift_tol: float = QUANTILE_SHIFT_TOL,
    ks_tol: float = KS_TOL,
) -> AblationResult:
    """Drop the least important parameter, retrain and resample, and judge whether it matters.

    importance : {parameter: mean |SHAP| over all in-region points} (e.g. ``result.table()[ALL]``).
    names : (d,) all parameters in column order.
    fit(columns) -> (model, test MAE): trains a surrogate on the given column indices with the
        full model's hyperparameters and split (e.g. :func:`surrogate_fitter`).
    sample(model, columns) -> (n, len(columns)) posterior samples (e.g. :func:`emcee_sampler`).
    drop : parameter to drop (default: :func:`least_important`).
    full : (model, MAE) of the full model if already trained with ``fit``'s settings (else trained
        here); full_samples : (n, d) its posterior samples (else sampled here).

    Verdict: the parameter can be dropped iff ALL of
      * MAE_reduced ≤ MAE_full + max(mae_rel_tol · MAE_full, mae_abs_tol)   (defaults 10 %, 0.05 χ²),
      * for every remaining parameter, every quantile in JUDGED_QUANTILES (16/50/84 %) moves by at
        most quantile_shift_tol (0.2) posterior standard deviations of the full model; the 2.5 and
        97.5 % quantiles are reported but not judged (their Monte Carlo error is about twice as
        large),
      * every two-sample KS distance D (scipy.stats.ks_2samp) is ≤ ks_tol (0.1). D, not the p-value,
        is judged: MCMC samples are autocorrelated, so p-values would be far too small.
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
    s_full = np.asarray(full_samples if full_samples is not None else sample(model_full, all_cols), dtype=np.float64)
    if s_full.ndim != 2 or s_full.shape[1] != len(names):
        raise ValueError(f"full posterior samples must be (n, {len(names)}), got {s_full.shape}")
    s_full = s_full[:, cols]
    s_red = np.asarray(sample(model_red, cols), dtype=np.float64)
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
        shift[n] = float(np.max(np.abs(qb - qa)) / sd) if sd > 0 else (0.0 if np.allclose(qa, qb) else math.inf)
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
    rank = sorted(imp, key=imp.get, reverse=True).index(dropped) + 1
    which = "the least important parameter" if rank == len(names) else f"importance rank {rank} of {len(names)}"
    head = (f"Dropping {dropped} ({which}, mean |SHAP| {imp[dropped]:.3g} = "
            f"{100 * share:.1f} % of the total) changes the test MAE from {mae_full:.3g} to {mae_red:.3g} "
            f"({100 * change:+.0f} %) and moves no posterior quantile (16/50/84 %) of the remaining parameters by "
            f"more than {shift[worst_shift]:.3g} posterior sd ({worst_shift}); the largest KS distance is "
            f"{ks[worst_ks]:.3f} ({worst_ks}).")
    crit = (f"criteria: MAE at most {mae_limit:.3g} (+{100 * mae_rel_tol:.0f} % or +{mae_abs_tol:g}), "
            f"quantile shifts <= {quantile_shift_tol:g} sd, KS distance <= {ks_tol:g}")
    if can_drop:
        verdict = f"{head} {dropped} can be dropped ({crit})."
    else:
        fails = []
        if not ok_mae:
            fails.append(f"the MAE rises above {mae_limit:.3g}")
        if not ok_q:
            fails.append(f"{worst_shift}'s quantiles move by {shift[worst_shift]:.3g} sd > {quantile_shift_tol:g}")
        if not ok_ks:
            fails.append(f"{worst_ks}'s KS distance {ks[worst_ks]:.3f} > {ks_tol:g}")
        verdict = f"{head} {dropped} should be kept: " + "; ".join(fails) + f" ({crit})."
    thresholds = {"mae_rel_tol": mae_rel_tol, "mae_abs_tol": mae_abs_tol, "quantile_shift_tol_sd": quantile_shift_tol,
                  "ks_tol": ks_tol, "judged_quantiles": list(JUDGED_QUANTILES)}
    return AblationResult(dropped, remaining, imp, float(mae_full), float(mae_red), qf, qr, shift, ks, can_drop,
                          verdict, thresholds, s_full, s_red)


def surrogate_settings(surrogate) -> dict:
    """The constructor settings of a fitted or loaded Surrogate (hyperparameters, split, seed), to
    train a reduced surrogate exactly like the full one."""
    keys = ("threshold", "recall_target", "calibration_folds", "calibration_repeats", "regressor_margin", "fractions",
            "target_transform", "regressor_objective", "regressor_eval_metric", "classifier_params", "regressor_params",
            "n_estimators", "early_stopping_rounds", "wall_chi2", "features", "seed", "nthread")
    return {k: getattr(surrogate, k) for k in keys}


def surrogate_fitter(
    theta: np.ndarray,
    chi2: np.ndarray,
    space,
    *,
    ok: np.ndarray | None = None,
    **settings,
) -> FitFn:
    """fit(columns) -> (Surrogate, test MAE) training ``Surrogate(subspace, **settings)`` on
    theta[:, columns] (theta (N, d), chi2 (N,), ok (N,)).

    settings : Surrogate keyword arguments (e.g. ``surrogate_settings(full)``: tuned classifier /
    regressor params, seed, fractions ...). The split depends only on (χ², fractions, seed), so
    every column subset is tested on the same points. MAE = ``metrics_['test']['mae_in_region']``.
    Derived features that use a dropped parameter are dropped with it.
    """
    from globalfit.features import FeatureMap
    from globalfit.space import ParameterSpace
    from globalfit.surrogate import Surrogate

    theta = np.asarray(theta, dtype=np.float64)
    if theta.ndim != 2 or theta.shape[1] != space.dim:
        raise ValueError(f"theta must be (N, {space.dim}), got {theta.shape}")

    def fit(columns: Sequence[int]):
        cols = list(columns)
        sub = ParameterSpace(tuple(space.names[j] for j in cols), space.lower[cols], space.upper[cols])
        features = FeatureMap(space.names, settings.get("features", ())).restricted_to(sub.names)
        sur = Surrogate(sub, **{**settings, "features": features}).fit(theta[:, cols], chi2, ok)
        return sur, float(sur.metrics_["test"]["mae_in_region"])

    return fit


def retuning_fitter(
    theta: np.ndarray,
    chi2: np.ndarray,
    space,
    workdir: Path | str,
    *,
    ok: np.ndarray | None = None,
    **train_kwargs,
) -> FitFn:
    """fit(columns) -> (Surrogate, test MAE) like :func:`surrogate_fitter`, but tuned again with
    :func:`globalfit.surrogate.train_bundle` and the same optuna budget (``train_kwargs``: n_trials,
    n_folds, seed, Surrogate settings ...), so a reduced model gets the chance the full one had.
    Bundles and resumable studies go to ``workdir/<columns>/``. Derived features that use a
    dropped parameter are dropped with it."""
    from globalfit.features import FeatureMap
    from globalfit.space import ParameterSpace
    from globalfit.surrogate import train_bundle

    theta = np.asarray(theta, dtype=np.float64)

    def fit(columns: Sequence[int]):
        cols = list(columns)
        sub = ParameterSpace(tuple(space.names[j] for j in cols), space.lower[cols], space.upper[cols])
        where = Path(workdir) / "-".join(sub.names)
        features = FeatureMap(space.names, train_kwargs.get("features", ())).restricted_to(sub.names)
        sur = train_bundle(theta[:, cols], chi2, sub, where / "bundle", ok=ok, compile=False,
                           study_dir=where / "studies", **{**train_kwargs, "features": features})
        return sur, float(sur.metrics_["test"]["mae_in_region"])

    return fit


def emcee_sampler(
    prior,
    starts: np.ndarray,
    *,
    n_walkers: int = 32,
    n_steps: int = 2000,
    seed: int = 0,
    classifier_weighted: bool = False,
    **kwargs,
) -> SampleFn:
    """sample(surrogate, columns) -> (n, len(columns)) posterior samples with
    :func:`globalfit.sampling.sample_posterior` on ``surrogate.predict_chi2`` and the prior
    restricted to the columns. prior : :class:`globalfit.priors.Prior` over all d parameters;
    starts : (m, d) start points (e.g. the lowest-χ² dataset points), projected on the columns.
    Same seed for every call, so full and reduced chains share their random numbers.
    classifier_weighted : sample exp(−χ²/2)·p_in_region, as the workflow's posterior may
    (:meth:`globalfit.surrogate.Surrogate.predict_chi2`).
    kwargs : further :func:`globalfit.sampling.run_emcee` arguments (moves, ball_scale, ...)."""
    from globalfit.priors import Prior
    from globalfit.sampling import sample_posterior
    from globalfit.space import ParameterSpace

    starts = np.atleast_2d(np.asarray(starts, dtype=np.float64))
    space = prior.space
    if starts.shape[1] != space.dim:
        raise ValueError(f"starts must be (m, {space.dim}), got {starts.shape}")
    kwargs.setdefault("progress_every", 0)

    def sample(model, columns: Sequence[int]) -> np.ndarray:
        cols = list(columns)
        sub = ParameterSpace(tuple(space.names[j] for j in cols), space.lower[cols], space.upper[cols])
        sub_prior = Prior(sub, tuple(prior.parameters[j] for j in cols))
        chi2 = partial(model.predict_chi2, classifier_weighted=classifier_weighted)
        res = sample_posterior(chi2, sub_prior, starts[:, cols], n_walkers=n_walkers,
                               n_steps=n_steps, seed=seed, **kwargs)
        return res.samples

    return sample


# --------------------------------------------------------------------------------------------
# importance.json


def _jsonable(obj):
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, np.ndarray)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if np.isfinite(obj) else None
    return obj


def importance_summary(
    regressor: ShapResult,
    interactions: InteractionResult | None = None,
    ablation: AblationResult | Mapping | None = None,
    *,
    classifier: ShapResult | None = None,
    top_k: int = 10,
    provenance: Mapping | None = None,
) -> dict:
    """Content of ``importance.json`` (strict JSON: NaN/inf become null).

    Keys::

        bands         {band label: {parameter: mean |SHAP| of the regressor}}, plus ALL ("all")
        band_edges    [e_0, ...]; band_counts {band label: number of points}
        ranking       parameters by mean |SHAP| over all points, most important first
        output_scale  what the SHAP values measure (regressor output, e.g. delta_chi2)
        classifier    (if given) {"scale": ..., "bands": {...}} for the classifier's log-odds
        interactions  {"index": "k-SII", "best_fit": [{"pair": [a, b], "value": v}, ...] (signed,
                       sorted by |v|), "mean_abs": [...] (mean |v| over the sample), "n_points",
                       "seed", "theta_best": {parameter: value}} or null
        ablation      AblationResult.as_dict() (dropped, mae_full, mae_reduced, ks, quantile shifts,
                      verdict, thresholds, ...) or null
        provenance    caller-supplied (config hash, seed, versions)
    """
    t = regressor.table()
    bands = {col: {p: float(t.loc[p, col]) for p in t.index} for col in t.columns}
    out = {
        "bands": bands,
        "band_edges": list(regressor.edges),
        "band_counts": dict(t.attrs["counts"]),
        "ranking": regressor.ranking(),
        "output_scale": regressor.scale,
        "interactions": None,
        "ablation": None,
    }
    if classifier is not None:
        tc = classifier.table()
        out["classifier"] = {"scale": classifier.scale,
                             "bands": {c: {p: float(tc.loc[p, c]) for p in tc.index} for c in tc.columns}}
    if interactions is not None:
        out["interactions"] = {
            "index": interactions.index,
            "best_fit": interactions.top_pairs(top_k, which="best_fit"),
            "mean_abs": interactions.top_pairs(top_k, which="mean_abs"),
            "n_points": int(interactions.sample_theta.shape[0]),
            "seed": interactions.seed,
            "theta_best": dict(zip(interactions.names, map(float, interactions.theta_best))),
        }
    if ablation is not None:
        out["ablation"] = ablation.as_dict() if isinstance(ablation, AblationResult) else dict(ablation)
    if provenance:
        out["provenance"] = dict(provenance)
    return _jsonable(out)


def write_importance_json(summary: Mapping, path: Path | str) -> Path:
    """Write :func:`importance_summary`'s dict as strict, indented JSON."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_jsonable(summary), indent=2, allow_nan=False, ensure_ascii=False) + "\n")
    return path
