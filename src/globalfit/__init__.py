"""globalfit: machine-learning-assisted global fits when each likelihood evaluation is expensive.

The names a user needs are importable from here (lazily, so that ``import globalfit`` needs no
numpy); the rest lives in the subpackages, one concept each: ``evaluation``, ``surrogate``,
``inference``, ``active_learning``, ``explain`` (docs/design.md has the layers).
"""

from importlib.metadata import PackageNotFoundError, version

from globalfit.lazy import lazy_exports

try:
    __version__ = version("globalfit")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0+unknown"

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "BatchProposer": "active_learning.proposer",
        "EvaluationCache": "evaluation.cache",
        "EvaluationTable": "evaluation.table",
        "FeatureMap": "features",
        "OracleSpec": "oracles",
        "ParameterSpace": "space",
        "Prior": "inference.priors",
        "SamplingResult": "inference.chains",
        "Surrogate": "surrogate.model",
        "evaluate_points": "evaluation.worker",
        "latin_hypercube": "design",
        "sample_posterior": "inference.sampler",
    },
)
