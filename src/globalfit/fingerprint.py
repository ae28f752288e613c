"""Canonical content hashes of a run's results, for comparing runs (not file bytes: timings,
paths and HDF5 layout differ between runs that computed the same numbers)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np


def _update(h, arr) -> None:
    arr = np.ascontiguousarray(arr)
    if arr.dtype.kind in "OUS":
        h.update("\x1f".join(map(str, arr.reshape(-1))).encode())
    else:
        h.update(arr.astype(arr.dtype.newbyteorder("<")).tobytes())


def dataset_hash(path: Path | str) -> str:
    """θ, χ², status and round of an evaluation table."""
    from globalfit.store import EvaluationTable

    t = EvaluationTable.read(path)
    h = hashlib.sha256()
    for arr in (t.theta, t.chi2, t.status, t.round):
        _update(h, arr)
    return h.hexdigest()[:16]


def surrogate_hash(bundle: Path | str, n: int = 512, seed: int = 0) -> str:
    """The surrogate's predictions (both stages) on a fixed Latin hypercube of its box."""
    from globalfit.design import latin_hypercube
    from globalfit.surrogate import Surrogate

    sur = Surrogate.load(bundle, backend="xgboost")
    theta = latin_hypercube(sur.space, n, seed)
    p, chi2 = sur.predict(theta)
    h = hashlib.sha256()
    _update(h, p)
    _update(h, chi2)
    return h.hexdigest()[:16]


def chain_hash(path: Path | str) -> str:
    """The walkers' positions and log-posterior at every step of an emcee chain."""
    import emcee

    b = emcee.backends.HDFBackend(str(path), read_only=True)
    h = hashlib.sha256()
    _update(h, b.get_chain())
    _update(h, b.get_log_prob())
    return h.hexdigest()[:16]


def run_fingerprint(results: Path | str) -> dict[str, str]:
    """Hashes of whatever of dataset, surrogate and chain exist under a results directory."""
    results = Path(results)
    out = {}
    if (results / "dataset.h5").exists():
        out["dataset"] = dataset_hash(results / "dataset.h5")
    if (results / "surrogate" / "metadata.json").exists():
        out["surrogate"] = surrogate_hash(results / "surrogate")
    if (results / "inference" / "chain.h5").exists():
        out["chain"] = chain_hash(results / "inference" / "chain.h5")
    return out
