"""Lazy re-exports for a package's ``__init__`` (PEP 562), standard library only.

A package lists the public names of its modules; a name is imported from its module the first
time it is used. So ``import globalfit`` (which the Snakefile does, outside the project's
environment) never imports numpy, and ``from globalfit.surrogate import Surrogate`` loads only
the modules that the surrogate needs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module

__all__ = ["lazy_exports"]


def lazy_exports(package: str, exports: Mapping[str, str]) -> tuple[list[str], Callable, Callable]:
    """``(__all__, __getattr__, __dir__)`` for a package whose public names live in submodules.

    exports : {public name: module name relative to the package, e.g. "model"}.
    """
    namespace = import_module(package).__dict__

    def __getattr__(name: str):
        try:
            module = exports[name]
        except KeyError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        value = getattr(import_module(f"{package}.{module}"), name)
        namespace[name] = value  # later look-ups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *exports})

    return sorted(exports), __getattr__, __dir__
