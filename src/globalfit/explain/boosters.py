"""The boosters under explanation: copies with a pinned thread count, the classifier's margin,
and a shapiq-ready copy. shapiq reads XGBoost leaf values from ``base_weights``; for
``reg:absoluteerror`` XGBoost re-fits the leaves after growing a tree and updates only the leaf
values, so shapiq would explain another model: the copy's ``base_weights`` equal the leaf values.
"""

from __future__ import annotations

import json

import numpy as np

__all__ = []


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
        raise ValueError(
            f"the model has {nf} features but {len(names)} parameter names were given: {list(names)}"
        )


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
