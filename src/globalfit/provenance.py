"""Hashes and versions that record where an artifact came from (standard library only)."""

from __future__ import annotations

import ast
import hashlib
import json
from collections.abc import Iterable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

__all__ = [
    "PACKAGE_DIR",
    "canonical_json",
    "code_hash",
    "hash_files",
    "hash_object",
    "package_version",
    "reached_modules",
    "state_key",
    "versions",
]

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


def state_key(code: str, inputs: Iterable[Path | str], extra: Any = None, length: int = 16) -> str:
    """Key of a piece of resumable state (an emcee backend, an optuna study): everything its
    result depends on, so that a state is resumed only when nothing it depends on changed.

    Parameters
    ----------
    code : str
        The rule's code hash (:func:`code_hash`).
    inputs : iterable of paths
        The job's input files and folders (a folder counts by every file in it, names and
        contents: a bundle's models, compiled libraries and metadata).
    extra : JSON-serialisable, optional
        Anything else: the config sections, library versions.
    length : int
        Hex digits.

    Returns
    -------
    str
        The key.
    """
    h = hashlib.sha256(code.encode() + b"\0" + canonical_json(extra).encode())
    for p in map(Path, inputs):
        files = sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
        for f in files:
            h.update(f.relative_to(p).as_posix().encode() + b"\0" if p.is_dir() else b"\0")
            h.update(f.read_bytes())
    return h.hexdigest()[:length]


def _module_file(name: str, package_dir: Path) -> Path | None:
    """The file of a dotted module name inside the package (``globalfit.a.b``), if any."""
    parts = name.split(".")
    if parts[0] != package_dir.name:
        return None
    base = package_dir.joinpath(*parts[1:])
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _module_name(path: Path, package_dir: Path) -> str:
    rel = path.relative_to(package_dir.parent).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


class _Source:
    """A file's syntax tree with its import statements and lazy exports, read once."""

    def __init__(self, path: Path):
        self.tree = ast.parse(path.read_text(), filename=str(path))
        self.imports = [
            n for n in _runtime_nodes(self.tree) if isinstance(n, (ast.Import, ast.ImportFrom))
        ]
        self.exports: dict[str, str] = {}
        for node in ast.walk(self.tree):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", None) == "lazy_exports"
                and len(node.args) == 2
                and isinstance(node.args[1], ast.Dict)
            ):
                self.exports = {ast.literal_eval(k): ast.literal_eval(v) for k, v in zip(
                    node.args[1].keys, node.args[1].values, strict=True)}  # fmt: skip


_PARSED: dict[Path, tuple[tuple[int, int], _Source]] = {}


def _parsed(path: Path) -> _Source:
    """A file's :class:`_Source`, parsed once per process while the file is unchanged: every
    rule's code hash walks the same modules when the Snakefile is parsed."""
    st = path.stat()
    stamp = (st.st_mtime_ns, st.st_size)
    cached = _PARSED.get(path)
    if cached is None or cached[0] != stamp:
        cached = (stamp, _Source(path))
        _PARSED[path] = cached
    return cached[1]


def _runtime_nodes(tree: ast.AST):
    """Every node of a tree except those under ``if TYPE_CHECKING:`` (annotations only: such
    imports never run, and a cycle there is no cycle)."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            todo.extend(node.orelse)
            continue
        todo.extend(ast.iter_child_nodes(node))


def _lazy_modules(package: str, name: str | None, package_dir: Path) -> set[str]:
    """Modules behind a package's lazy exports (:mod:`globalfit.lazy`): the one that defines
    ``name``, or all of them when the package itself is imported as a module object (its
    attributes may then be any export). Read from the ``lazy_exports(__name__, {...})`` call."""
    init = _module_file(package, package_dir)
    if init is None or init.name != "__init__.py":
        return set()
    exports = _parsed(init).exports
    if name is not None:
        return {f"{package}.{exports[name]}"} if name in exports else set()
    return {f"{package}.{m}" for m in exports.values()}


def _imported_names(path: Path, package_dir: Path) -> set[str]:
    """Dotted names of the package's modules that a file imports anywhere in its body (inside
    functions too), with every parent package (importing ``a.b`` runs ``a/__init__``)."""
    source = _parsed(path)
    inside = path.is_relative_to(package_dir)
    me = _module_name(path, package_dir) if inside else ""
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found = set()
    for node in source.imports:
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.add(alias.name)
                found.update(_lazy_modules(alias.name, None, package_dir))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the importing module's package upwards
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, *([base] if base else [])])
            found.add(base)
            for alias in node.names:
                found.add(f"{base}.{alias.name}")  # a submodule imported by name
                found.update(_lazy_modules(base, alias.name, package_dir))
                found.update(_lazy_modules(f"{base}.{alias.name}", None, package_dir))
    out = set()
    for name in found:
        parts = name.split(".")
        out.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return {n for n in out if _module_file(n, package_dir) is not None}


def reached_modules(*paths: Path | str, package_dir: Path = PACKAGE_DIR) -> list[Path]:
    """The package's module files that Python files reach through imports, transitively.

    Imports are read from the source (``ast``), so imports inside functions count as much as
    those at the top; a name imported from a package counts as its submodule when one exists.
    """
    package_dir = Path(package_dir)
    todo = [Path(p) for p in paths]
    seen: set[Path] = set()
    while todo:
        for name in _imported_names(todo.pop(), package_dir):
            f = _module_file(name, package_dir)
            if f not in seen:
                seen.add(f)
                todo.append(f)
    return sorted(seen)


def code_hash(*paths: Path | str, package_dir: Path = PACKAGE_DIR, length: int = 16) -> str:
    """Hash of the package modules that the given files (a rule's script) reach, names and
    contents: a rule's ``code`` param, so that editing a plotting module reruns plots but not
    hours of oracle work, and no module a job runs is left out (tests/test_provenance.py)."""
    package_dir = Path(package_dir)
    h = hashlib.sha256()
    for f in reached_modules(*paths, package_dir=package_dir):
        h.update(f.relative_to(package_dir).as_posix().encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:length]


def package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def versions(*names: str) -> dict[str, str]:
    return {n: package_version(n) for n in ("globalfit", *names)}
