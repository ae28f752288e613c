"""XGBoost boosters prepared for the explainers: explicit thread counts, raw margins, and a
copy that shapiq reads correctly.

Every explainer runs on an explicit number of threads (default one): a loaded booster would
otherwise use all cores, which a workflow job does not own. shapiq 1.8.0 reads XGBoost leaf
values from ``base_weights``; for ``reg:absoluteerror`` (the package's default regressor
objective) XGBoost re-fits the leaves after growing a tree and only updates the leaf values, so
shapiq explained a different model (its values did not sum to the prediction).
:func:`_shapiq_ready` hands shapiq a copy whose ``base_weights`` equal the leaf values, and
every computation checks efficiency against the original model's margin (:func:`_margin`).
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
            f"the model has {nf} features but {len(names)} parameter names were given: "
            f"{list(names)}"
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
