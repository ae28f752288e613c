"""TODO docstring (surrogate.py)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import partial
from pathlib import Path

import numpy as np

__all__ = []


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


def _compile_into(
    bundle: Path, clf_booster, reg_booster, feature_map, *, parallel_comp, nthread
) -> dict:
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
