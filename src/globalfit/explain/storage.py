"""The explanation stage's results in HDF5, between rules (never pickles: a pickle ties a file to
the code that wrote it and runs code when read).

A result dataclass becomes a group: arrays as datasets, numbers and strings as attributes, dicts
and lists as JSON attributes, nested results as subgroups, ``None`` as a marker; the class name is
stored so that :func:`load_result` rebuilds the same object, field for field, bit for bit.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import h5py
import numpy as np

from globalfit.explain.ablation import AblationResult
from globalfit.explain.interactions import InteractionResult
from globalfit.explain.pipeline import SurrogateExplanation
from globalfit.explain.shapley import ShapResult
from globalfit.jsonio import atomic_path

__all__ = ["RESULT_CLASSES", "load_result", "save_result"]

RESULT_CLASSES = {
    cls.__name__: cls
    for cls in (ShapResult, InteractionResult, SurrogateExplanation, AblationResult)
}
_KIND = "globalfit_kind"


def _write(group: h5py.Group, obj) -> None:
    group.attrs["globalfit_class"] = type(obj).__name__
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if value is None:
            group.attrs[f.name] = "null"
            group.attrs[f"{_KIND}:{f.name}"] = "none"
        elif dataclasses.is_dataclass(value):
            _write(group.create_group(f.name), value)
        elif isinstance(value, np.ndarray):
            data = value.astype(str) if value.dtype.kind in "OU" else value
            group.create_dataset(f.name, data=data)
            group.attrs[f"{_KIND}:{f.name}"] = "str_array" if value.dtype.kind in "OU" else "array"
        elif isinstance(value, (dict, list, tuple)):
            group.attrs[f.name] = json.dumps(value)
            group.attrs[f"{_KIND}:{f.name}"] = type(value).__name__
        elif isinstance(value, (bool, np.bool_)):
            group.attrs[f.name] = bool(value)
            group.attrs[f"{_KIND}:{f.name}"] = "bool"
        elif isinstance(value, (int, float, str, np.integer, np.floating)):
            group.attrs[f.name] = value
            group.attrs[f"{_KIND}:{f.name}"] = type(value).__name__
        else:
            raise TypeError(f"{type(obj).__name__}.{f.name}: cannot store a {type(value).__name__}")


def _read(group: h5py.Group):
    cls = RESULT_CLASSES[group.attrs["globalfit_class"]]
    values = {}
    for f in dataclasses.fields(cls):
        if f.name in group and isinstance(group[f.name], h5py.Group):
            values[f.name] = _read(group[f.name])
            continue
        kind = group.attrs[f"{_KIND}:{f.name}"]
        if kind == "none":
            values[f.name] = None
        elif kind == "array":
            values[f.name] = group[f.name][()]
        elif kind == "str_array":
            values[f.name] = group[f.name].asstr()[()].astype(object)
        elif kind in ("dict", "list", "tuple"):
            data = json.loads(group.attrs[f.name])
            values[f.name] = tuple(data) if kind == "tuple" else data
        elif kind == "bool":
            values[f.name] = bool(group.attrs[f.name])
        elif kind == "str":
            values[f.name] = str(group.attrs[f.name])
        elif kind in ("int", "int64"):
            values[f.name] = int(group.attrs[f.name])
        else:  # float and numpy floats
            values[f.name] = float(group.attrs[f.name])
    return cls(**values)


def save_result(path: Path | str, result) -> Path:
    """Write an explanation result (one of :data:`RESULT_CLASSES`) to an HDF5 file."""
    if type(result).__name__ not in RESULT_CLASSES:
        raise TypeError(f"not an explanation result: {type(result).__name__}")

    with atomic_path(path) as tmp, h5py.File(tmp, "w") as h5:
        _write(h5, result)
    return Path(path)


def load_result(path: Path | str):
    """The result :func:`save_result` wrote, rebuilt as the same dataclass."""
    with h5py.File(path, "r") as h5:
        return _read(h5)
