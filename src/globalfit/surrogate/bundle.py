"""The surrogate bundle on disk: ``metadata.json`` (everything needed to use the models without
the training code), the two XGBoost models as UBJSON, the compiled libraries of the models and of
the derived inputs (content-addressed names, so an unchanged model is never recompiled), the
test metrics, the learning curves and the split.
"""

from __future__ import annotations

import json
import platform
import sys
from collections.abc import Mapping
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from globalfit.features import FeatureMap
from globalfit.jsonio import write_json
from globalfit.space import ParameterSpace

__all__ = ["BUNDLE_FORMAT", "bundle_metadata", "compile_into", "load_bundle", "save_bundle"]

BUNDLE_FORMAT = 1


def bundle_metadata(
    sur, *, config_hash: str | None = None, provenance: Mapping | None = None, files=None
) -> dict:
    """The content of metadata.json: everything needed to use the models without the training code.

    Parameters
    ----------
    sur : Surrogate
        A fitted surrogate.
    config_hash : str, optional
        Recorded as ``config_hash``.
    provenance : Mapping, optional
        Recorded as ``provenance`` (e.g. oracle identity, package hash).
    files : dict, optional
        {role: file name} of the bundle's files.

    Returns
    -------
    dict
        Parameters, derived features, region, both models' settings, training, dataset, files,
        versions and platform.
    """
    from globalfit.provenance import versions

    sur._check_fitted()
    return {
        "format": BUNDLE_FORMAT,
        "parameters": {
            "names": list(sur.space.names),
            "lower": [float(x) for x in sur.space.lower],
            "upper": [float(x) for x in sur.space.upper],
        },
        "features": (
            "model inputs: theta in parameter units, columns in the order of parameters.names, "
            "then derived_features in their order, as float32"
        ),
        "derived_features": [dict(f) for f in sur.features],
        "chi2_best": float(sur.chi2_best_),
        "threshold": float(sur.threshold),
        "region": "delta_chi2 = chi2 - chi2_best < threshold (strict)",
        "classifier": {
            "output": "probability of being in the region (binary:logistic)",
            "threshold": float(sur.threshold_p_),
            "decision": "in region iff p_in_region >= threshold",
            "recall_target": float(sur.recall_target),
            "calibration_folds": int(sur.calibration_folds),
            "calibration_repeats": int(sur.calibration_repeats),
            "calibration": (
                f"out-of-fold probabilities over training + validation, {sur.calibration_folds} "
                "folds, "
                f"mean over {sur.calibration_repeats} fold assignment(s)"
                if sur.calibration_folds >= 2
                else "validation part"
            ),
            "recall_validation": float(sur.recall_validation_),
            "params": dict(sur.classifier_params),
        },
        "regressor": {
            "objective": sur.regressor_objective,
            "eval_metric": sur.regressor_eval_metric,
            "target_transform": sur.target_transform,
            "target_inverse": {
                "delta_chi2": "chi2 = chi2_best + output",
                "log1p_delta_chi2": "chi2 = chi2_best + expm1(output)",
            }[sur.target_transform],
            "margin": float(sur.regressor_margin),
            "params": dict(sur.regressor_params),
        },
        "wall_chi2": float(sur.wall_chi2),
        "training": {
            "seed": int(sur.seed),
            "fractions": list(sur.fractions),
            "n_estimators": int(sur.n_estimators),
            "early_stopping_rounds": int(sur.early_stopping_rounds),
        },
        "dataset": sur.split_.counts() if hasattr(sur, "split_") else getattr(sur, "_dataset", {}),
        "files": files or {},
        "config_hash": config_hash,
        "provenance": dict(provenance or {}),
        "versions": {
            **versions("xgboost", "treelite", "tl2cgen", "numpy"),
            "python": sys.version.split()[0],
        },
        "platform": {"system": platform.system(), "machine": platform.machine()},
    }


def save_bundle(
    sur,
    bundle_dir: Path | str,
    *,
    compile: bool = True,
    config_hash: str | None = None,
    provenance: Mapping | None = None,
    parallel_comp: int | None = None,
    compile_nthread: int = 1,
) -> Path:
    """Write the bundle (module docstring) to ``bundle_dir`` and return it.

    Parameters
    ----------
    sur : Surrogate
        A fitted surrogate.
    bundle_dir : path
        The bundle directory (created).
    compile : bool
        Also build the .so libraries (needed for ``backend='compiled'``).
    config_hash, provenance : str and Mapping, optional
        Recorded in metadata.json (e.g. oracle identity, package hash).
    parallel_comp : int, optional
        C translation units per model (:func:`compile_booster`).
    compile_nthread : int
        Compiler processes run at once.

    Returns
    -------
    Path
        The bundle directory.
    """
    sur._check_fitted()
    bundle = Path(bundle_dir)
    bundle.mkdir(parents=True, exist_ok=True)
    files = {}
    for stem, booster in (
        ("classifier", sur.classifier_booster_),
        ("regressor", sur.regressor_booster_),
    ):
        booster.save_model(str(bundle / f"{stem}.ubj"))
        files[f"{stem}_model"] = f"{stem}.ubj"
    if compile:
        files.update(
            compile_into(
                bundle,
                sur.classifier_booster_,
                sur.regressor_booster_,
                sur.feature_map_,
                parallel_comp=parallel_comp,
                nthread=compile_nthread,
            )
        )
    meta = bundle_metadata(sur, config_hash=config_hash, provenance=provenance, files=files)
    write_json(bundle / "metadata.json", meta, indent=2, sort_keys=True)
    if hasattr(sur, "metrics_"):
        write_json(bundle / "metrics.json", sur.metrics_, indent=2, sort_keys=True)
    if hasattr(sur, "classifier_"):
        sur.classifier_.curves_.to_csv(bundle / "classifier_curves.csv", index=False)
        sur.regressor_.curves_.to_csv(bundle / "regressor_curves.csv", index=False)
    if hasattr(sur, "split_"):
        s = sur.split_
        table = pd.DataFrame(s.theta, columns=list(sur.space.names))
        table["chi2"] = s.chi2
        table["delta_chi2"] = s.delta
        table["in_region"] = s.in_region.astype(int)
        table["split"] = s.roles()
        table.to_csv(bundle / "split.csv", index=False)
    return bundle


def load_bundle(cls, bundle_dir: Path | str, *, backend: str = "compiled", nthread: int = 1):
    """Load a bundle (this is ``Surrogate.load``).

    Parameters
    ----------
    cls : type
        The Surrogate class to build.
    bundle_dir : path
        The bundle directory.
    backend : {"compiled", "xgboost"}
        'compiled' (fast; needs the .so files, see :func:`compile_bundle`) or 'xgboost' (the
        reference).
    nthread : int
        Threads for prediction.

    Returns
    -------
    Surrogate
        The loaded surrogate, with ``metadata_`` (and ``metrics_`` if metrics.json exists).

    Raises
    ------
    FileNotFoundError
        If metadata.json, a model file or (for 'compiled') a library is missing.
    ValueError
        For a bundle of another format.
    """
    import xgboost as xgb

    bundle = Path(bundle_dir)
    meta_path = bundle / "metadata.json"
    if not meta_path.is_file():
        raise FileNotFoundError(f"{bundle} is not a surrogate bundle: {meta_path.name} is missing")
    meta = json.loads(meta_path.read_text())
    if meta.get("format") != BUNDLE_FORMAT:
        raise ValueError(
            f"{meta_path}: bundle format {meta.get('format')!r}, this globalfit reads "
            f"{BUNDLE_FORMAT}"
        )
    par = meta["parameters"]
    space = ParameterSpace(
        names=tuple(par["names"]), lower=np.array(par["lower"]), upper=np.array(par["upper"])
    )
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
                    + ": run globalfit.surrogate.compile_bundle(bundle_dir) "
                    "or load with backend='xgboost'"
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


def compile_into(
    bundle: Path, clf_booster, reg_booster, feature_map, *, parallel_comp, nthread
) -> dict:
    """Compile the two models (and the derived features, if any) into the bundle.

    Library names are content-addressed: an existing file of the same name is kept, not rebuilt,
    and other libraries of the same role are removed.

    Parameters
    ----------
    bundle : Path
        The bundle directory.
    clf_booster, reg_booster : xgboost.Booster
        The classifier and regressor.
    feature_map : FeatureMap
        The derived features (compiled only if there are any).
    parallel_comp : int or None
        C translation units per model (:func:`compile_booster`).
    nthread : int
        Compiler processes run at once.

    Returns
    -------
    dict
        {"<stem>_library": file name} for classifier, regressor and (if any) features.
    """
    from globalfit.surrogate.compilation import (
        compile_booster,
        compile_features,
        content_name,
        features_name,
    )

    # (stem, content-addressed file name, how to build it)
    targets = [
        (
            stem,
            content_name(booster, stem),
            partial(compile_booster, booster, parallel_comp=parallel_comp, nthread=nthread),
        )
        for stem, booster in (("classifier", clf_booster), ("regressor", reg_booster))
    ]
    if feature_map.features:
        targets.append(
            ("features", features_name(feature_map), partial(compile_features, feature_map))
        )
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
