"""The content-addressed cache of oracle results, and atomic file writing.

One small JSON file per (oracle, point), keyed by the SHA-256 of the point's float64
little-endian bytes (:func:`~globalfit.evaluation.table.point_key`), so the same point gets the
same key in any chunking, round or stage, and a point is never evaluated twice. θ is stored as
the hex of those bytes (exact) beside a readable list. Files are written to a temporary name and
renamed, so that a killed job never leaves a half-written record or table. Chunks of one batch
run at once and may share a point (two profile minimisers meeting at one θ, a repeated chain
sample): :meth:`EvaluationCache.claim` serialises its evaluation across processes, so the second
finds the first one's record.
"""

from __future__ import annotations

import fcntl
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from globalfit.jsonio import atomic_write

__all__ = ["EvaluationCache"]


class EvaluationCache:
    """Content-addressed store of oracle results: one small JSON file per (oracle, point).

    ``root/<oracle hash>/identity.json`` says what the oracle was; ``points/<k[:2]>/<k>.json``
    holds one result. Each record is written atomically as soon as its point finishes, so parallel
    chunk jobs never share a file, a killed job loses at most the point in flight, and any later
    chunking, round or stage finds earlier results by key.
    """

    def __init__(self, root: Path | str, oracle_hash: str, identity: Mapping | None = None):
        self.dir = Path(root) / oracle_hash
        (self.dir / "points").mkdir(parents=True, exist_ok=True)
        ident = self.dir / "identity.json"
        if identity is not None and not ident.exists():
            text = json.dumps(identity, indent=1, sort_keys=True, default=str)
            atomic_write(ident, lambda f: f.write(text))

    def _path(self, key: str) -> Path:
        return self.dir / "points" / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict | None:
        p = self._path(key)
        if not p.exists():
            return None
        try:
            with open(p) as f:
                rec = json.load(f)
        except (OSError, json.JSONDecodeError):
            return None  # unreadable record: the point is evaluated again
        if rec.get("key") != key:
            return None
        rec["theta"] = np.frombuffer(bytes.fromhex(rec["theta_hex"]), dtype="<f8").copy()
        return rec

    @contextmanager
    def claim(self, key: str) -> Iterator[dict | None]:
        """Hold the point's lock across processes and yield its record if one exists by then.

        A caller that gets None evaluates the point and puts its record inside the block. The
        locks are ``flock`` on 4096 stripe files (``locks/<key[:3]>.lock``), which the kernel
        releases when a job dies; two different points of one stripe merely wait for each other.

        Parameters
        ----------
        key : str
            The point's key.
        """
        locks = self.dir / "locks"
        locks.mkdir(exist_ok=True)
        with open(locks / f"{key[:3]}.lock", "a") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield self.get(key)
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def put(self, key: str, record: Mapping) -> None:
        p = self._path(key)
        p.parent.mkdir(parents=True, exist_ok=True)
        rec = dict(record)
        theta = np.asarray(rec.pop("theta"), dtype="<f8")
        rec.pop("cached", None)
        out = {"key": key, "theta_hex": theta.tobytes().hex(), "theta": theta.tolist(), **rec}
        # a private store read back by json.load: NaN and Infinity stay as Python writes them, so
        # that a non-finite chi2 survives (result files use the strict write_json)
        text = json.dumps(out, default=float)
        atomic_write(p, lambda f: f.write(text))

    def __len__(self) -> int:
        return sum(1 for _ in (self.dir / "points").rglob("*.json"))
