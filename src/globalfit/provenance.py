"""Hashes and versions that record where an artifact came from (standard library only)."""

from __future__ import annotations

import hashlib
import json
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Iterable

PACKAGE_DIR = Path(__file__).resolve().parent


def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def hash_object(obj: Any, length: int = 16) -> str:
    """Stable short hash of a JSON-serialisable object (key order does not matter)."""
    return hashlib.sha256(canonical_json(obj).encode()).hexdigest()[:length]


def hash_files(paths: Iterable[Path | str], length: int = 16) -> str:
    """Hash of the contents of files (in the given order)."""
    h = hashlib.sha256()
    for p in paths:
        h.update(Path(p).read_bytes())
    return h.hexdigest()[:length]


def module_hash(*modules: str, length: int = 16) -> str:
    """Hash of package modules given as paths relative to the package, e.g. "oracles/alp.py".

    A rule passes the hash of exactly the modules it depends on as a param, so that editing a
    plotting module reruns plots but not hours of oracle work.
    """
    paths = []
    for m in modules:
        p = PACKAGE_DIR / m
        paths.extend(sorted(p.rglob("*.py")) if p.is_dir() else [p])
    return hash_files(paths, length)


def package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def versions(*names: str) -> dict[str, str]:
    return {n: package_version(n) for n in ("globalfit", *names)}
