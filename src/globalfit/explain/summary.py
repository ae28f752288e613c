"""``importance.json``: the explain stage's results as strict JSON (NaN and inf become null).

The bands, ranking and interactions come from the regressor (its output is the Δχ² that the fit
uses); the classifier's bands, the ablation and the caller's provenance are added when given.
``top_k`` = 10 pairs keeps the file readable (a 6-parameter fit has 15 pairs).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from globalfit.explain.ablation import AblationResult
from globalfit.explain.interactions import InteractionResult
from globalfit.explain.shapley import ShapResult

__all__ = ["importance_summary", "write_importance_json"]


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

    Parameters
    ----------
    regressor : ShapResult
        The regressor's SHAP values.
    interactions : InteractionResult, optional
        Pairwise interactions.
    ablation : AblationResult or Mapping, optional
        The ablation result (or its dict).
    classifier : ShapResult, optional
        The classifier's SHAP values.
    top_k : int
        Interaction pairs listed.
    provenance : Mapping, optional
        Added as ``provenance`` if not empty.

    Returns
    -------
    dict
        The content, JSON-ready.
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
        out["classifier"] = {
            "scale": classifier.scale,
            "bands": {c: {p: float(tc.loc[p, c]) for p in tc.index} for c in tc.columns},
        }
    if interactions is not None:
        out["interactions"] = {
            "index": interactions.index,
            "best_fit": interactions.top_pairs(top_k, which="best_fit"),
            "mean_abs": interactions.top_pairs(top_k, which="mean_abs"),
            "n_points": int(interactions.sample_theta.shape[0]),
            "seed": interactions.seed,
            "theta_best": dict(
                zip(interactions.names, map(float, interactions.theta_best), strict=False)
            ),
        }
    if ablation is not None:
        out["ablation"] = (
            ablation.as_dict() if isinstance(ablation, AblationResult) else dict(ablation)
        )
    if provenance:
        out["provenance"] = dict(provenance)
    return _jsonable(out)


def write_importance_json(summary: Mapping, path: Path | str) -> Path:
    """Write :func:`importance_summary`'s dict as strict, indented JSON.

    Parameters
    ----------
    summary : Mapping
        The content.
    path : path
        The file (its directory is created).

    Returns
    -------
    Path
        The file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(_jsonable(summary), indent=2, allow_nan=False, ensure_ascii=False) + "\n"
    )
    return path
