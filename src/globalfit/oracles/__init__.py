"""Oracles: the expensive χ² behind one interface.

An oracle is described by an :class:`OracleSpec` (picklable, built from config; this module imports
only the standard library so the Snakefile can compute oracle identities) and instantiated
inside a worker process (:mod:`globalfit.evaluation.worker`), where ``setup()`` runs once (imports,
warm-up) and ``oracle(theta_row)`` returns χ² or (χ², {observable: χ²}) for one point θ (d,).
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass, field
from pathlib import Path

from globalfit.config import ANALYTIC
from globalfit.provenance import hash_files, hash_object, package_version

__all__ = ["ORACLE_DIR", "OracleSpec", "plugin_source"]

ORACLE_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class OracleSpec:
    name: str
    names: tuple[str, ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    options: dict = field(default_factory=dict)
    plugin: str | None = None

    @classmethod
    def from_config(cls, config: dict) -> OracleSpec:
        o = config["oracle"]
        ps = config["parameters"]
        return cls(
            name=o["name"],
            names=tuple(p["name"] for p in ps),
            lower=tuple(float(p["lower"]) for p in ps),
            upper=tuple(float(p["upper"]) for p in ps),
            options=dict(o.get("options") or {}),
            plugin=o.get("plugin"),
        )

    @property
    def needs_hash_seed_zero(self) -> bool:
        """ALP-aca's theory uncertainties depend on string hashing (docs/design.md)."""
        return self.name == "alp"

    def source_files(self) -> list[Path]:
        if self.name == "alp":
            return [ORACLE_DIR / "alp.py"]
        if self.name in ANALYTIC:
            return [ORACLE_DIR / "analytic.py"]
        if self.name == "exact":
            return [ORACLE_DIR / "exact.py"]
        return [plugin_source(self.plugin)]

    def identity(self) -> dict:
        """What the χ² values depend on: the cache is keyed by its hash and the θ bytes."""
        ident = {
            "name": self.name,
            "options": self.options,
            "plugin": self.plugin,
            "source_sha256": hash_files(self.source_files(), length=64),
        }
        if self.name == "alp":
            ident["versions"] = {p: package_version(p) for p in ("alpaca-alps", "flavio")}
            ident["parameters"] = list(self.names)
        else:
            # analytic functions are defined in unit-cube coordinates, plug-ins see θ by position
            ident["box"] = {
                "names": list(self.names),
                "lower": list(self.lower),
                "upper": list(self.upper),
            }
        return ident

    def identity_hash(self) -> str:
        return hash_object(self.identity())


def plugin_source(plugin: str) -> Path:
    """The source file of a plug-in oracle's module.

    Parameters
    ----------
    plugin : str
        The config's ``oracle.plugin``, "module:attribute" (only the module is looked up).

    Returns
    -------
    Path
        The module's file.

    Raises
    ------
    ValueError
        If the module cannot be found.
    """
    module, _, _ = plugin.partition(":")
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise ValueError(f"oracle.plugin: cannot find module {module!r} (is it on PYTHONPATH?)")
    return Path(spec.origin)
