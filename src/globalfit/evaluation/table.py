"""Tables of evaluated points in HDF5, point files and batch splitting.

θ always travels as float64 (HDF5 datasets, never CSV text) and is identified by the SHA-256 of
its little-endian bytes, so the same point gets the same key in any chunking or round. The CSV
mirror (:meth:`EvaluationTable.write_csv`) is for people and prints %.17g, which round-trips.
Every file is written atomically (temporary file + rename).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from globalfit.chunking import split_chunks
from globalfit.jsonio import atomic_path

__all__ = [
    "EvaluationTable",
    "STATUSES",
    "batch_round",
    "point_key",
    "point_keys",
    "read_points",
    "write_batch",
    "write_points",
]

STATUSES = ("ok", "error", "nonfinite", "timeout")


def point_key(theta_row: np.ndarray) -> str:
    """Content address of one point: SHA-256 of its float64 little-endian bytes.

    Parameters
    ----------
    theta_row : (d,) ndarray
        The point.

    Returns
    -------
    str
        The hex digest.
    """
    import hashlib

    return hashlib.sha256(np.ascontiguousarray(theta_row, dtype="<f8").tobytes()).hexdigest()


def point_keys(theta: np.ndarray) -> list[str]:
    """The :func:`point_key` of every row.

    Parameters
    ----------
    theta : (n, d) ndarray
        The points.

    Returns
    -------
    list of str
        n keys.
    """
    return [point_key(row) for row in np.atleast_2d(theta)]


@dataclass
class EvaluationTable:
    """Evaluated points, one entry per point (n rows).

    theta (n, d) float64; chi2 (n,) float64 (NaN unless status is ok or nonfinite); status (n,)
    str in STATUSES; round (n,) int; seconds, cpu_seconds (n,) float64 spent in the oracle;
    cached (n,) bool (taken from the cache, not evaluated now); message (n,) str (error text);
    breakdown (n, k) float64 per-observable χ² with names breakdown_names (k,).
    """

    names: tuple[str, ...]
    theta: np.ndarray
    chi2: np.ndarray
    status: np.ndarray
    round: np.ndarray
    seconds: np.ndarray
    cpu_seconds: np.ndarray
    cached: np.ndarray
    message: np.ndarray
    breakdown: np.ndarray
    breakdown_names: tuple[str, ...] = ()
    attrs: dict = field(default_factory=dict)

    ROW_FIELDS = (
        "theta",
        "chi2",
        "status",
        "round",
        "seconds",
        "cpu_seconds",
        "cached",
        "message",
        "breakdown",
    )

    def __len__(self) -> int:
        return len(self.chi2)

    @property
    def ok(self) -> np.ndarray:
        """(n,) bool: points that may be fitted."""
        return (self.status == "ok") & np.isfinite(self.chi2)

    @property
    def keys(self) -> list[str]:
        return point_keys(self.theta)

    def best(self, n: int) -> np.ndarray:
        """(min(n, n_ok), d) the lowest-χ² successfully evaluated points, best first."""
        idx = np.flatnonzero(self.ok)
        return self.theta[idx[np.argsort(self.chi2[idx], kind="stable")[:n]]]

    def status_counts(self) -> dict[str, int]:
        return {s: int(np.sum(self.status == s)) for s in STATUSES}

    def check_failures(self, max_failed_fraction: float, what: str) -> None:
        """Raise when more than ``max_failed_fraction`` of the points failed.

        Parameters
        ----------
        max_failed_fraction : float
            The config's ``evaluation.max_failed_fraction``.
        what : str
            Which batch, for the message ("round 2").

        Raises
        ------
        RuntimeError
            Naming the counts per status, the key, and that the evaluated points are cached.
        """
        n = len(self)
        failed = n - int(np.sum(self.ok))
        if n and failed / n > max_failed_fraction:
            counts = {k: v for k, v in self.status_counts().items() if k != "ok" and v}
            raise RuntimeError(
                f"{what}: {failed} of {n} new points failed ({100 * failed / n:.0f} %: {counts}), "
                f"more than evaluation.max_failed_fraction = {max_failed_fraction}. Fitting on "
                "what is left would bias the fit; look at the oracle's messages in the chunk "
                "files and logs. Every evaluated point is in the cache: a rerun evaluates only "
                "what is missing."
            )

    @classmethod
    def from_records(cls, names, records: list[dict], round_index: int = 0) -> EvaluationTable:
        """Build from cache records (dicts as written by :class:`EvaluationCache`)."""
        bnames = sorted({k for r in records for k in (r.get("breakdown") or {})})
        col = {b: j for j, b in enumerate(bnames)}
        breakdown = np.full((len(records), len(bnames)), np.nan)
        for i, r in enumerate(records):
            for k, v in (r.get("breakdown") or {}).items():
                breakdown[i, col[k]] = v
        d = len(names)
        return cls(
            names=tuple(names),
            theta=np.array([r["theta"] for r in records], dtype=np.float64).reshape(-1, d),
            chi2=np.array([r["chi2"] for r in records], dtype=np.float64),
            status=np.array([r["status"] for r in records], dtype=object).astype(str),
            round=np.full(len(records), round_index, dtype=np.int64),
            seconds=np.array([r["seconds"] for r in records], dtype=np.float64),
            cpu_seconds=np.array([r["cpu_seconds"] for r in records], dtype=np.float64),
            cached=np.array([bool(r.get("cached", False)) for r in records]),
            message=np.array([r.get("message", "") for r in records], dtype=object).astype(str),
            breakdown=breakdown,
            breakdown_names=tuple(bnames),
        )

    @classmethod
    def concat(cls, tables: list[EvaluationTable], attrs: dict | None = None) -> EvaluationTable:
        tables = [t for t in tables if t is not None]
        if not tables:
            raise ValueError("nothing to concatenate")
        names = tables[0].names
        for t in tables:
            if t.names != names:
                raise ValueError(f"parameter names differ between tables: {names} vs {t.names}")
        bnames = tuple(sorted({b for t in tables for b in t.breakdown_names}))
        blocks = []
        for t in tables:
            block = np.full((len(t), len(bnames)), np.nan)
            for j, b in enumerate(t.breakdown_names):
                block[:, bnames.index(b)] = t.breakdown[:, j]
            blocks.append(block)
        cat = {
            f: np.concatenate([getattr(t, f) for t in tables])
            for f in cls.ROW_FIELDS
            if f != "breakdown"
        }
        return cls(
            names=names,
            breakdown=np.concatenate(blocks) if blocks else np.zeros((0, 0)),
            breakdown_names=bnames,
            attrs=dict(attrs or {}),
            **cat,
        )

    def write(self, path: Path | str, attrs: Mapping | None = None) -> None:
        """Write atomically (temporary file + rename) so a killed job leaves no half file."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        all_attrs = {**self.attrs, **(attrs or {})}
        with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
            str_dt = h5py.string_dtype()
            f.create_dataset("theta", data=self.theta.astype("<f8"))
            f["theta"].attrs["names"] = list(self.names)
            f.create_dataset("chi2", data=self.chi2.astype("<f8"))
            f.create_dataset("status", data=self.status.astype(object), dtype=str_dt)
            f.create_dataset("round", data=self.round.astype("<i8"))
            f.create_dataset("seconds", data=self.seconds.astype("<f8"))
            f.create_dataset("cpu_seconds", data=self.cpu_seconds.astype("<f8"))
            f.create_dataset("cached", data=self.cached.astype(bool))
            f.create_dataset("message", data=self.message.astype(object), dtype=str_dt)
            f.create_dataset("breakdown", data=self.breakdown.astype("<f8"))
            f.create_dataset(
                "breakdown_names", data=np.array(self.breakdown_names, dtype=object), dtype=str_dt
            )
            for k, v in all_attrs.items():
                f.attrs[k] = (
                    v
                    if isinstance(v, (str, int, float, np.integer, np.floating))
                    else json.dumps(v)
                )

    @classmethod
    def read(cls, path: Path | str) -> EvaluationTable:
        with h5py.File(path, "r") as f:

            def strings(name):
                return np.array(
                    [s.decode() if isinstance(s, bytes) else s for s in f[name][()]], dtype=object
                ).astype(str)

            return cls(
                names=tuple(str(n) for n in f["theta"].attrs["names"]),
                theta=f["theta"][()],
                chi2=f["chi2"][()],
                status=strings("status"),
                round=f["round"][()],
                seconds=f["seconds"][()],
                cpu_seconds=f["cpu_seconds"][()],
                cached=f["cached"][()],
                message=strings("message"),
                breakdown=f["breakdown"][()],
                breakdown_names=tuple(strings("breakdown_names")),
                attrs={k: (v.item() if hasattr(v, "item") else v) for k, v in f.attrs.items()},
            )

    def to_frame(self):
        """pandas DataFrame with parameter columns, chi2, status and round (the CSV mirror)."""
        import pandas as pd

        df = pd.DataFrame(self.theta, columns=list(self.names))
        df["chi2"] = self.chi2
        df["status"] = self.status
        df["round"] = self.round
        return df

    def write_csv(self, path: Path | str) -> None:
        # %.17g round-trips float64 exactly, for readers who do use the text
        self.to_frame().to_csv(path, index=False, float_format="%.17g")


def write_points(
    path: Path | str, theta: np.ndarray, names: Iterable[str], attrs: Mapping | None = None
) -> None:
    """Write a batch of points to HDF5 as float64, atomically.

    Parameters
    ----------
    path : path
        The file (its directory is created).
    theta : (n, d) ndarray
        The points.
    names : iterable of str
        The parameter names, stored with the dataset.
    attrs : Mapping, optional
        File attributes; values other than str, int and float are stored as JSON.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    names = list(names)
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.create_dataset("theta", data=np.asarray(theta, dtype="<f8").reshape(-1, len(names)))
        f["theta"].attrs["names"] = names
        for k, v in (attrs or {}).items():
            f.attrs[k] = v if isinstance(v, (str, int, float)) else json.dumps(v)


def read_points(path: Path | str) -> tuple[np.ndarray, tuple[str, ...], dict]:
    """Read a file that :func:`write_points` wrote.

    Parameters
    ----------
    path : path
        The file.

    Returns
    -------
    theta : (n, d) float64 ndarray
        The points.
    names : tuple of str
        The parameter names.
    attrs : dict
        The file attributes.
    """
    with h5py.File(path, "r") as f:
        theta = f["theta"][()]
        names = tuple(str(n) for n in f["theta"].attrs["names"])
        attrs = dict(f.attrs.items())
    return theta, names, attrs


def batch_round(batch: str) -> int:
    """Round number stored with a batch's points.

    Parameters
    ----------
    batch : str
        The batch name, e.g. "rounds/<r>".

    Returns
    -------
    int
        r for "rounds/<r>", -1 for other batches (best-fit confirmation, posterior validation),
        which never enter the training dataset.
    """
    head, _, tail = batch.partition("/")
    return int(tail) if head == "rounds" else -1


def write_batch(
    proposal: Path | str | None, chunks: list, theta: np.ndarray, names, attrs=None
) -> None:
    """Write a batch of points and split it evenly into the chunk files the workflow fans out.

    Parameters
    ----------
    proposal : path or None
        File for the whole batch (None: chunks only).
    chunks : list of path
        The chunk files; their number comes from :func:`chunk_count` (with fewer points than
        chunks, the last ones are empty).
    theta : (n, d) ndarray
        The points.
    names : iterable of str
        The parameter names.
    attrs : Mapping, optional
        File attributes, as for :func:`write_points`.
    """
    n, k = len(theta), len(chunks)
    # a round cut by the call budget, or one after the loop stopped: the chunk files are in the
    # DAG all the same, the last ones empty
    slices = split_chunks(n, min(n, k)) if n else []
    slices += [slice(n, n)] * (k - len(slices))
    if proposal is not None:
        write_points(proposal, theta, names, attrs)
    for path, sl in zip(chunks, slices, strict=True):
        write_points(path, theta[sl], names, attrs)
