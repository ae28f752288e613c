"""Instantiating an oracle from its spec, inside the evaluating process.

The spec (:class:`globalfit.oracles.OracleSpec`) stays importable without numpy for the
Snakefile; building an oracle needs the oracle's own libraries, so it lives here, one layer up.
"""

from __future__ import annotations

import importlib
import inspect

import numpy as np

from globalfit.config import ANALYTIC
from globalfit.oracles import OracleSpec
from globalfit.space import ParameterSpace

__all__ = ["PluginOracle", "build_oracle"]


def build_oracle(spec: OracleSpec):
    """The oracle a spec describes: ``setup()`` once, then ``oracle(theta_row)`` per point."""
    if spec.name == "alp":
        from globalfit.oracles.alp import AlpOracle

        return AlpOracle(spec.names, **spec.options)
    if spec.name in ANALYTIC:
        from globalfit.oracles.analytic import AnalyticFunction

        space = ParameterSpace(spec.names, np.array(spec.lower), np.array(spec.upper))
        return AnalyticFunction(spec.name, space, spec.options)
    if spec.name == "exact":
        from globalfit.oracles.exact import exact_problem

        options = dict(spec.options)
        return exact_problem(options.pop("problem"), len(spec.names), spec.upper[0], **options)
    if spec.name == "plugin":
        return PluginOracle(spec.plugin, spec.options)
    raise ValueError(f"oracle.name: unknown oracle {spec.name!r}")


class PluginOracle:
    """A user function ``module:function`` taking θ (d,) (and the options as keyword arguments)."""

    def __init__(self, plugin: str, options: dict):
        self.plugin = plugin
        self.options = options

    def setup(self):
        module, _, fname = self.plugin.partition(":")
        mod = importlib.import_module(module)
        fn = getattr(mod, fname, None)
        if fn is None or not callable(fn):
            raise ValueError(f"oracle.plugin: {module!r} has no callable {fname!r}")
        self._fn = fn
        if hasattr(mod, "setup") and inspect.isfunction(mod.setup):
            mod.setup()

    def __call__(self, theta: np.ndarray):
        return self._fn(theta, **self.options)
