"""Explanations of the surrogate: SHAP by Δχ² band, shapiq interactions and the ablation of the
least important parameter.

Public names are imported lazily from the modules named below (see :mod:`globalfit.lazy`).
"""

from globalfit.lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "ALL": "bands",
        "AblationResult": "ablation",
        "DEFAULT_BAND_EDGES": "bands",
        "FitFn": "ablation",
        "InteractionResult": "interactions",
        "JUDGED_QUANTILES": "ablation",
        "KS_TOL": "ablation",
        "MAE_ABS_TOL": "ablation",
        "MAE_REL_TOL": "ablation",
        "QUANTILE_SHIFT_TOL": "ablation",
        "REPORTED_QUANTILES": "ablation",
        "SampleFn": "ablation",
        "ShapResult": "shapley",
        "SurrogateExplanation": "pipeline",
        "band_index": "bands",
        "band_labels": "bands",
        "emcee_sampler": "fitters",
        "explain_points": "shapley",
        "explain_surrogate": "pipeline",
        "importance_summary": "summary",
        "in_region_points": "bands",
        "least_important": "ablation",
        "MAX_EXACT_DIM": "parameter_attribution",
        "MAX_EXTENSIONS": "fitters",
        "reduced_features": "fitters",
        "mean_abs_table": "shapley",
        "pairwise_interactions": "interactions",
        "parameter_importance": "parameter_attribution",
        "parameter_shapley": "parameter_attribution",
        "points_from_bundle": "bands",
        "retuning_fitter": "fitters",
        "run_ablation": "ablation",
        "sample_rows": "interactions",
        "shap_values": "shapley",
        "surrogate_fitter": "fitters",
        "surrogate_settings": "fitters",
        "write_importance_json": "summary",
    },
)
