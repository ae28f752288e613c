"""Canonical content hashes of every number a run computed, for comparing runs.

Not file bytes: timings, paths, provenance and HDF5 layout differ between runs that computed the
same numbers. Every JSON, HDF5 and CSV file under ``results/`` is read and hashed with the fields
of :data:`EXCLUDED_FIELDS` left out; the surrogate is hashed by its predictions on a fixed Latin
hypercube (its model files carry library versions). :data:`EXCLUDED_FILES` lists what is not
read at all, and why. Used to show that a refactoring changes no number, and that a run's
results do not depend on the core count or on an interruption.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np

__all__ = [
    "EXCLUDED_FIELDS",
    "EXCLUDED_FILES",
    "csv_digest",
    "file_digest",
    "h5_digest",
    "json_digest",
    "run_fingerprint",
    "surrogate_hash",
]

# JSON keys, CSV columns, HDF5 dataset and attribute names whose values are not results.
EXCLUDED_FIELDS = frozenset(
    {
        # timings and speeds: differ between runs that computed the same numbers
        "timings",
        "seconds",
        "cpu_seconds",
        "cpu_seconds_fit",
        "cpu_seconds_import",
        "cpu_seconds_propose",
        "wall_seconds",
        "job_seconds",
        "oracle_cpu_seconds",
        "mean_seconds_per_point",
        "proposal_cpu_seconds",
        "import_cpu_seconds",
        "evaluation_cpu_seconds",
        "proposal_share",
        "wall_time_s",
        "log_prob_evals_per_s",
        "effective_samples_per_second",
        "duration",
        "datetime_start",
        "datetime_complete",
        # provenance: which code, machine and inputs, not what was computed (the oracle's identity
        # hashes its module's source, which a refactoring may move)
        "commit",
        "package_version",
        "machine",
        "globalfit_version",
        "version",
        "oracle",
        "oracle_hash",
        "config_hash",
        "globalfit_fingerprint",
        # history: what earlier runs left in the cache or in results/state/
        "cached",
        "n_cached",
        "resumed_from_step",
    }
)

# Parts of results/ that are not read (relative paths or name patterns), with the reason.
EXCLUDED_FILES = {
    "cache/": "per-point oracle records: the dataset and the batch files hold the same numbers",
    "state/": "resumable state (studies, backends): its results are the outputs",
    "logs/": "text logs with timings",
    "benchmarks/": "Snakemake's job timings",
    "*.png": "figures, drawn from the hashed numbers",
    "*.html": "the report, built from the hashed numbers and figures",
    "*.so": "compiled libraries: the surrogate's predictions are hashed instead",
    "*.ubj": "XGBoost models (they carry library versions): their predictions are hashed instead",
    ".*": "Snakemake's timestamps and other hidden files",
}
_READ = (".json", ".h5", ".csv")


def _canonical(obj):
    """JSON-like data with excluded keys dropped, floats as exact strings (NaN and ±inf too)."""
    if isinstance(obj, dict):
        return {
            str(k): _canonical(v) for k, v in sorted(obj.items()) if str(k) not in EXCLUDED_FIELDS
        }
    if isinstance(obj, (list, tuple)):
        return [_canonical(v) for v in obj]
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        x = float(obj)
        return x.hex() if math.isfinite(x) else repr(x)
    raise TypeError(f"cannot fingerprint a {type(obj).__name__}")


def json_digest(obj) -> str:
    """Hash of parsed JSON data (see :data:`EXCLUDED_FIELDS`)."""
    text = json.dumps(_canonical(obj), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _update(h, arr) -> None:
    arr = np.ascontiguousarray(arr)
    h.update(f"{arr.dtype.kind}{arr.shape}".encode())
    if arr.dtype.kind in "OUS":
        h.update(
            "\x1f".join(
                v.decode() if isinstance(v, bytes) else str(v) for v in arr.reshape(-1)
            ).encode()
        )
    else:
        h.update(arr.astype(arr.dtype.newbyteorder("<")).tobytes())


def _attr_value(v):
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, np.ndarray):
        return [_attr_value(x) for x in v.tolist()] if v.dtype.kind in "OSU" else v.tolist()
    if isinstance(v, np.generic):
        return v.item()
    return v


def h5_digest(path: Path | str) -> str:
    """Hash of every dataset and attribute of an HDF5 file, by name, excluded names left out."""
    import h5py

    h = hashlib.sha256()
    with h5py.File(path, "r") as f:
        objects = [("", f)]
        f.visititems(lambda name, obj: objects.append((name, obj)))
        for name, obj in sorted(objects, key=lambda t: t[0]):
            if any(part in EXCLUDED_FIELDS for part in name.split("/")):
                continue
            attrs = {k: _attr_value(obj.attrs[k]) for k in obj.attrs if k not in EXCLUDED_FIELDS}
            h.update(f"\x1e{name}\x1d{json_digest(attrs)}".encode())
            if isinstance(obj, h5py.Dataset):
                _update(h, obj[()])
    return h.hexdigest()[:16]


def csv_digest(path: Path | str) -> str:
    """Hash of a CSV table's columns (read back exactly), excluded columns left out."""
    import pandas as pd

    df = pd.read_csv(path, float_precision="round_trip", keep_default_na=False, dtype=str)
    h = hashlib.sha256()
    for col in df.columns:
        if col in EXCLUDED_FIELDS:
            continue
        h.update(f"\x1e{col}".encode())
        _update(h, df[col].to_numpy(dtype=str))
    return h.hexdigest()[:16]


def surrogate_hash(bundle: Path | str, n: int = 512, seed: int = 0) -> str:
    """The surrogate's predictions (both stages) on a fixed Latin hypercube of its box."""
    from globalfit.design import latin_hypercube
    from globalfit.surrogate.model import Surrogate

    sur = Surrogate.load(bundle, backend="xgboost")
    theta = latin_hypercube(sur.space, n, seed)
    p, chi2 = sur.predict(theta)
    h = hashlib.sha256()
    _update(h, p)
    _update(h, chi2)
    return h.hexdigest()[:16]


def _excluded(rel: Path) -> bool:
    if rel.suffix not in _READ or any(part.startswith(".") for part in rel.parts):
        return True
    return any(rel.parts[0] == p[:-1] if p.endswith("/") else rel.match(p) for p in EXCLUDED_FILES)


def file_digest(path: Path | str) -> str:
    """Hash of one result file: :func:`json_digest`, :func:`h5_digest` or :func:`csv_digest`."""
    path = Path(path)
    if path.suffix == ".json":
        return json_digest(json.loads(path.read_text()))
    if path.suffix == ".h5":
        return h5_digest(path)
    if path.suffix == ".csv":
        return csv_digest(path)
    raise ValueError(f"{path}: no fingerprint for {path.suffix} files")


def run_fingerprint(results: Path | str) -> dict[str, str]:
    """{relative path: hash} of every result file under ``results`` (see :data:`EXCLUDED_FILES`),
    ``surrogate predictions`` for a surrogate bundle, and ``all``, a hash of the rest."""
    results = Path(results)
    out = {}
    for path in sorted(p for p in results.rglob("*") if p.is_file()):
        rel = path.relative_to(results)
        if not _excluded(rel):
            out[rel.as_posix()] = file_digest(path)
    if (results / "surrogate" / "metadata.json").exists():
        out["surrogate predictions"] = surrogate_hash(results / "surrogate")
    out["all"] = hashlib.sha256(json.dumps(out, sort_keys=True).encode()).hexdigest()[:16]
    return out
