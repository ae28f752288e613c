"""What the surrogate rule calls: :func:`train_bundle` (split, optuna tuning, fit, compile,
save), :func:`compile_bundle` for a saved bundle, the compiled-versus-XGBoost agreement check,
:func:`predict_csv` for the command line, the depth × learning-rate grid of the lecture notes, and
the keyword arguments of ``train_bundle`` from the config's ``surrogate`` section.
"""

from __future__ import annotations

import json
import platform
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from globalfit.config import section_kwargs
from globalfit.features import FeatureMap
from globalfit.jsonio import write_json
from globalfit.space import ParameterSpace, read_points_csv
from globalfit.surrogate.bundle import compile_into
from globalfit.surrogate.model import Surrogate
from globalfit.surrogate.models import Chi2Regressor
from globalfit.surrogate.split import DataSplit, split_dataset

__all__ = [
    "CSV_COLUMNS",
    "check_compiled_agreement",
    "compile_bundle",
    "hyperparameter_grid",
    "predict_csv",
    "train_bundle",
    "train_kwargs_from_config",
]

#: Output columns added by :func:`predict_csv`.
CSV_COLUMNS = ("p_in_region", "in_region", "chi2_surrogate")


def compile_bundle(
    bundle_dir: Path | str, *, parallel_comp: int | None = None, nthread: int = 1
) -> dict:
    """(Re)build the compiled libraries of a bundle from its .ubj models, e.g. on another machine.

    Updates metadata.json (files, platform).

    Parameters
    ----------
    bundle_dir : path
        The bundle directory.
    parallel_comp : int, optional
        C translation units per model (:func:`compile_booster`).
    nthread : int
        Compiler processes run at once.

    Returns
    -------
    dict
        {classifier_library, regressor_library} (and features_library if there are derived
        features): file names.
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
    libs = compile_into(
        bundle, *boosters, feature_map, parallel_comp=parallel_comp, nthread=nthread
    )
    meta["files"].pop("features_library", None)
    meta["files"].update(libs)
    meta["platform"] = {"system": platform.system(), "machine": platform.machine()}
    write_json(bundle / "metadata.json", meta, indent=2, sort_keys=True)
    return libs


def check_compiled_agreement(
    bundle_dir: Path | str,
    *,
    n: int = 10_000,
    seed: int = 0,
    atol: float = 1e-4,
    rtol: float = 1e-5,
) -> dict:
    """Compare the compiled and XGBoost outputs of both models of a bundle on uniform points.

    Parameters
    ----------
    bundle_dir : path
        The bundle directory.
    n : int
        Number of points, uniform in the box.
    seed : int
        Seed of the points.
    atol, rtol : float
        Agreement tolerances (:func:`compare_predictions`).

    Returns
    -------
    dict
        {"classifier": {...}, "regressor": {...}} from
        :func:`globalfit.surrogate.compilation.compare_predictions` (model output scales).
    """
    a = Surrogate.load(bundle_dir, backend="xgboost")
    b = Surrogate.load(bundle_dir, backend="compiled")
    X = a.features_of(a.space.from_unit(np.random.default_rng(seed).uniform(size=(n, a.space.dim))))
    from globalfit.surrogate.compilation import compare_predictions

    return {
        "classifier": compare_predictions(a._clf, b._clf, X, atol=atol, rtol=rtol),
        "regressor": compare_predictions(a._reg, b._reg, X, atol=atol, rtol=rtol),
    }


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
    decision) and ``chi2_surrogate`` (``wall_chi2`` where not in region).

    Parameters
    ----------
    bundle_dir : path
        The bundle directory.
    in_csv, out_csv : path
        Input and output tables.
    backend : {"compiled", "xgboost"}
        As for :meth:`Surrogate.load`.
    nthread : int
        Threads for prediction.

    Returns
    -------
    pandas.DataFrame
        The written table.

    Raises
    ------
    ValueError
        If the input already has one of the output columns (rejected rather than overwritten), or
        its parameter columns are missing, empty, non-numeric or out of bounds.
    """
    sur = Surrogate.load(bundle_dir, backend=backend, nthread=nthread)
    table, theta = read_points_csv(in_csv, sur.space)
    clash = [c for c in CSV_COLUMNS if c in table.columns]
    if clash:
        raise ValueError(
            f"{in_csv}: already has output column(s) {clash}; remove them or predict from the "
            "original file"
        )
    p, chi2 = sur.predict(theta) if len(table) else (np.zeros(0), np.zeros(0))
    table["p_in_region"] = p
    table["in_region"] = (p >= sur.threshold_p_).astype(int)
    table["chi2_surrogate"] = chi2
    out_csv = Path(out_csv)
    out_csv.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out_csv, index=False)
    return table


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
    """Train the regressor for every (max_depth, learning_rate), without early stopping.

    Records train and validation ``eval_metric`` per iteration. Shallow trees with a small rate
    under-fit (both curves stay high); deep trees with a large rate over-fit (train keeps falling
    while validation turns up).

    Parameters
    ----------
    split : DataSplit
        The data; train and validation points with Δχ² < threshold + ``margin`` are used.
    depths, learning_rates : sequence
        The grid.
    n_estimators : int
        Boosting rounds per model.
    margin : float
        Δχ² margin of the regressor's domain above the threshold.
    objective, eval_metric, target_transform : str
        The regressor's settings.
    params : Mapping, optional
        Further XGBoost parameters.
    seed, nthread : int
        Seed and threads of training.

    Returns
    -------
    pandas.DataFrame
        Long table with columns depth, learning_rate, iteration, train, validation (plot with
        :func:`globalfit.plots.surrogate.plot_hyperparameter_grid`); ``attrs["metric"]``.
    """
    reg = split.region_mask(margin)
    tr = split.train[reg[split.train]]
    va = split.validation[reg[split.validation]]
    rows = []
    for depth in depths:
        for lr in learning_rates:
            model = Chi2Regressor(
                {**(params or {}), "max_depth": int(depth), "learning_rate": float(lr)},
                objective=objective,
                eval_metric=eval_metric,
                target_transform=target_transform,
                n_estimators=n_estimators,
                early_stopping_rounds=0,
                seed=seed,
                nthread=nthread,
            ).fit(split.theta[tr], split.delta[tr], split.theta[va], split.delta[va])
            c = model.curves_
            rows.append(
                pd.DataFrame(
                    {
                        "depth": int(depth),
                        "learning_rate": float(lr),
                        "iteration": c["iteration"],
                        "train": c[f"train_{eval_metric}"],
                        "validation": c[f"validation_{eval_metric}"],
                    }
                )
            )
    out = pd.concat(rows, ignore_index=True)
    out.attrs["metric"] = eval_metric
    return out


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
    """Split, tune both models, fit, evaluate, save and compile into ``bundle_dir``.

    Besides the bundle files this writes ``tuning/{classifier,regressor}_trials.csv`` and
    ``tuning/{classifier,regressor}_importance.json`` (optuna fANOVA, seeded) for
    :func:`plot_bundle`.

    Parameters
    ----------
    theta : (N, d) ndarray
        The points.
    chi2 : (N,) ndarray
        Their χ².
    space : ParameterSpace
        The parameter box.
    bundle_dir : path
        The bundle directory.
    ok : (N,) bool ndarray, optional
        Usable points (default: all).
    n_trials : int
        optuna trials per model; 0 = use ``settings``' params.
    n_folds, tuning_rounds, tuning_early_stopping : int
        Cross-validation folds, boosting rounds and early stopping of the tuning.
    study_dir : path, optional
        Where the optuna studies live, ``{classifier,regressor}.sqlite`` (default
        ``bundle_dir/tuning``): keep them outside a directory that a workflow manager deletes on
        failure, so an interrupted study resumes.
    compile : bool
        Also build the .so libraries.
    config_hash, provenance : str and Mapping, optional
        Recorded in metadata.json.
    seed, nthread : int
        Seed of split, tuning and training; threads.
    **settings
        Further :class:`Surrogate` keyword arguments (threshold, recall_target,
        regressor_margin, ...); tuned parameters override their classifier_params /
        regressor_params.

    Returns
    -------
    Surrogate
        The fitted surrogate.
    """
    from globalfit.surrogate import study_tables, tuning

    bundle = Path(bundle_dir)
    studies = Path(study_dir) if study_dir is not None else bundle / "tuning"
    sur = Surrogate(space, seed=seed, nthread=nthread, **settings)
    split = split_dataset(
        theta, chi2, ok=ok, threshold=sur.threshold, fractions=sur.fractions, seed=seed, space=space
    )
    tuned = {}
    if n_trials > 0:
        X = FeatureMap(space.names, sur.features).check_finite(split.theta, "training point")
        common = dict(
            n_trials=n_trials,
            n_folds=n_folds,
            num_boost_round=tuning_rounds,
            early_stopping_rounds=tuning_early_stopping,
            seed=seed,
            nthread=nthread,
            X=X,
        )
        tuned = {
            "classifier": tuning.tune_classifier(
                split, storage=studies / "classifier.sqlite", **common
            ),
            "regressor": tuning.tune_regressor(
                split,
                storage=studies / "regressor.sqlite",
                margin=sur.regressor_margin,
                objective=sur.regressor_objective,
                eval_metric=sur.regressor_eval_metric,
                target_transform=sur.target_transform,
                **common,
            ),
        }
        sur.classifier_params = {**sur.classifier_params, **tuned["classifier"].best_params_}
        sur.regressor_params = {**sur.regressor_params, **tuned["regressor"].best_params_}
    sur.fit_split(split)
    sur.save(
        bundle,
        compile=compile,
        config_hash=config_hash,
        provenance=provenance,
        compile_nthread=nthread,
    )
    for name, t in tuned.items():
        study_tables.save_trials_csv(t.study_, bundle / "tuning" / f"{name}_trials.csv")
        write_json(
            bundle / "tuning" / f"{name}_importance.json",
            study_tables.param_importances(t.study_, seed=seed),
            indent=2,
            sort_keys=True,
        )
    return sur


def train_kwargs_from_config(section: Mapping) -> dict:
    """:func:`train_bundle` keyword arguments from the config's ``surrogate`` section.

    Parameters
    ----------
    section : mapping
        The validated ``surrogate`` section; keys that are neither :func:`train_bundle`'s nor
        :class:`Surrogate`'s (``hyperparameter_grid``) are left out.

    Returns
    -------
    dict
        Keyword arguments; ``objective`` and ``eval_metric`` are the regressor's.
    """
    return section_kwargs(
        section,
        train_bundle,
        Surrogate,
        rename={"objective": "regressor_objective", "eval_metric": "regressor_eval_metric"},
        convert={"fractions": tuple},
    )
