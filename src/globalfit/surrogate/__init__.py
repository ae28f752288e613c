"""The surrogate of the χ²: data split and region labels, metrics, the XGBoost classifier and
regressor, the two-stage ``Surrogate``, optuna tuning, compiled prediction and bundle IO.

Public names are imported lazily from the modules named below (see :mod:`globalfit.lazy`).
"""

from globalfit.lazy import lazy_exports


__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "BATCH_REQUIRES": "compilation",
        "BATCH_SOURCE": "compilation",
        "BATCH_SYMBOL": "compilation",
        "BUNDLE_FORMAT": "model",
        "CSV_COLUMNS": "stage",
        "Chi2Regressor": "models",
        "CompiledFeatures": "compilation",
        "CompiledModel": "compilation",
        "DEFAULT_CLASSIFIER_PARAMS": "models",
        "DEFAULT_REGRESSOR_PARAMS": "models",
        "DEFAULT_THRESHOLD": "split",
        "DataSplit": "split",
        "RegionClassifier": "models",
        "SEARCH_SPACE": "tuning",
        "Surrogate": "model",
        "TARGET_TRANSFORMS": "models",
        "WALL_CHI2": "split",
        "XGBTuner": "tuning",
        "XGBoostModel": "compilation",
        "calibrate_threshold": "metrics",
        "check_compiled_agreement": "stage",
        "clopper_pearson": "metrics",
        "compare_predictions": "compilation",
        "compile_booster": "compilation",
        "compile_bundle": "stage",
        "compile_features": "compilation",
        "content_name": "compilation",
        "evaluate": "metrics",
        "features_name": "compilation",
        "hyperparameter_grid": "stage",
        "kfold_indices": "tuning",
        "param_importances": "tuning",
        "predict_csv": "stage",
        "roc_auc": "metrics",
        "save_trials_csv": "tuning",
        "split_dataset": "split",
        "suggest_params": "tuning",
        "to_treelite": "compilation",
        "train_bundle": "stage",
        "train_kwargs_from_config": "stage",
        "trials_table": "tuning",
        "tune_classifier": "tuning",
        "tune_regressor": "tuning",
    },
)
