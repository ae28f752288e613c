"""Writing result files: atomically (a reader or a killed job never sees half a file) and, for
JSON, strictly (no ``NaN`` or ``Infinity``, which other JSON readers reject).

Every module writes files through these two functions; a test checks that no other module calls
``json.dump`` or ``os.replace``.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import numpy as np

__all__ = ["atomic_path", "atomic_write", "jsonable", "read_json", "write_json"]


@contextmanager
def atomic_path(path: Path | str) -> Iterator[str]:
    """A temporary file name beside ``path`` for writers that need a name (h5py); renamed onto
    ``path`` when the block ends without an error, removed otherwise."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write(path: Path | str, write: Callable[[IO], Any], *, mode: str = "w") -> Path:
    """Write a file through ``write(f)`` into a temporary file beside it, then rename it into
    place (``os.replace`` is atomic on one file system). On an error the target is untouched."""
    with atomic_path(path) as tmp, open(tmp, mode) as f:
        write(f)
    return Path(path)


def jsonable(obj):
    """Plain JSON data: numpy scalars and arrays to Python numbers and lists, tuples to lists,
    paths to strings, non-finite floats to None (JSON has no NaN)."""
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        x = float(obj)
        return x if math.isfinite(x) else None
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if obj is None or isinstance(obj, str):
        return obj
    raise TypeError(f"cannot write a {type(obj).__name__} to JSON: {obj!r}")


def write_json(
    path: Path | str, obj, *, indent: int | None = 1, sort_keys: bool = False, **kwargs
) -> Path:
    """Write ``obj`` (after :func:`jsonable`) as strict JSON, atomically, with a final newline."""
    text = json.dumps(
        jsonable(obj), indent=indent, sort_keys=sort_keys, allow_nan=False, ensure_ascii=False,
        **kwargs,
    )  # fmt: skip
    return atomic_write(path, lambda f: f.write(text + "\n"))


def read_json(path: Path | str):
    """The data of a JSON file."""
    return json.loads(Path(path).read_text())
