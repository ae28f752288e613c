"""The parameter space: names and box bounds, unit-cube scaling and validation of points."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["ParameterSpace", "read_points_csv"]


@dataclass(frozen=True)
class ParameterSpace:
    """An axis-aligned box of named parameters.

    names : (d,) parameter names, in column order
    lower, upper : (d,) float bounds, lower < upper
    """

    names: tuple[str, ...]
    lower: np.ndarray
    upper: np.ndarray

    def __post_init__(self):
        lower = np.asarray(self.lower, dtype=np.float64).reshape(-1)
        upper = np.asarray(self.upper, dtype=np.float64).reshape(-1)
        names = tuple(self.names)
        if not (len(names) == lower.size == upper.size) or not names:
            raise ValueError(
                "parameter names, lower and upper bounds must have the same, non-zero length"
            )
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate parameter names: {names}")
        for n, lo, hi in zip(names, lower, upper, strict=True):
            if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
                raise ValueError(
                    f"parameter {n!r}: bounds [{lo}, {hi}] must be finite with lower < upper"
                )
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "lower", lower)
        object.__setattr__(self, "upper", upper)

    @classmethod
    def from_config(cls, parameters: Iterable[Mapping]) -> ParameterSpace:
        """Build from the config's ``parameters`` list of {name, lower, upper, ...}."""
        parameters = list(parameters)
        return cls(
            names=tuple(p["name"] for p in parameters),
            lower=np.array([p["lower"] for p in parameters], dtype=np.float64),
            upper=np.array([p["upper"] for p in parameters], dtype=np.float64),
        )

    @property
    def dim(self) -> int:
        return len(self.names)

    @property
    def width(self) -> np.ndarray:
        return self.upper - self.lower

    def to_unit(self, theta: np.ndarray) -> np.ndarray:
        """theta : (n, d) -> (n, d) in [0, 1] inside the box."""
        return (np.asarray(theta, dtype=np.float64) - self.lower) / self.width

    def from_unit(self, u: np.ndarray) -> np.ndarray:
        """u : (n, d) in the unit cube -> (n, d) parameter values."""
        return self.lower + np.asarray(u, dtype=np.float64) * self.width

    def contains(self, theta: np.ndarray) -> np.ndarray:
        """theta : (n, d) -> (n,) bool, True inside the closed box."""
        theta = np.atleast_2d(np.asarray(theta, dtype=np.float64))
        return np.all((theta >= self.lower) & (theta <= self.upper), axis=1)

    def check(self, theta, *, what: str = "points", require_inside: bool = True) -> np.ndarray:
        """Validate a batch of points and return it as a (n, d) float64 array.

        Raises ValueError naming the first offending point and parameter: wrong shape, non-finite
        values, or (with ``require_inside``) values outside the bounds. Nothing is clipped.
        """
        arr = np.asarray(theta, dtype=np.float64)
        if arr.ndim == 1 and arr.size == self.dim:
            arr = arr[None, :]
        if arr.ndim != 2 or arr.shape[1] != self.dim:
            raise ValueError(
                f"{what}: expected shape (n, {self.dim}) for parameters {self.names}, got "
                f"{arr.shape}"
            )
        bad = ~np.isfinite(arr)
        if bad.any():
            i, j = np.argwhere(bad)[0]
            raise ValueError(
                f"{what}: row {i} has a non-finite value for {self.names[j]!r}: {arr[i, j]}"
            )
        if require_inside:
            out = (arr < self.lower) | (arr > self.upper)
            if out.any():
                i, j = np.argwhere(out)[0]
                raise ValueError(
                    f"{what}: row {i} has {self.names[j]!r} = {arr[i, j]} outside its bounds "
                    f"[{self.lower[j]}, {self.upper[j]}] ({int(out.any(axis=1).sum())} rows out "
                    "of bounds)"
                )
        return np.ascontiguousarray(arr)

    def as_dict(self) -> dict:
        return {
            n: [float(lo), float(hi)]
            for n, lo, hi in zip(self.names, self.lower, self.upper, strict=True)
        }


def read_points_csv(path, space: ParameterSpace):
    """Read a CSV that has (at least) the parameter columns; returns (table, theta (n, d)).

    Raises ValueError naming the file, column and row (row i is line i + 2 of the file, after
    the header) for a missing column, an empty or non-numeric cell, or a value out of bounds.
    """
    import pandas as pd

    path = Path(path)
    table = pd.read_csv(path, float_precision="round_trip")  # θ exactly as written
    missing = [n for n in space.names if n not in table.columns]
    if missing:
        raise ValueError(
            f"{path}: missing parameter column(s) {missing}; expected {list(space.names)}"
        )
    theta = np.empty((len(table), space.dim))
    for j, name in enumerate(space.names):
        col = pd.to_numeric(table[name], errors="coerce")
        bad = col.isna().to_numpy() | ~np.isfinite(col.to_numpy(dtype=np.float64))
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(
                f"{path}: column {name!r}, row {i} (line {i + 2}): value {table[name].iloc[i]!r} "
                "is not a finite number"
            )
        theta[:, j] = col.to_numpy(dtype=np.float64)
        out = (theta[:, j] < space.lower[j]) | (theta[:, j] > space.upper[j])
        if out.any():
            i = int(np.argmax(out))
            raise ValueError(
                f"{path}: column {name!r}, row {i} (line {i + 2}): {theta[i, j]} is outside the "
                "bounds "
                f"[{space.lower[j]}, {space.upper[j]}] ({int(out.sum())} rows out of bounds in "
                "this column)"
            )
    return table, theta
