"""Evaluation of the true χ²: oracle worker processes, evaluation tables in HDF5 and the
per-point cache.

Public names are imported lazily from the modules named below (see :mod:`globalfit.lazy`).
"""

from globalfit.lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "EvaluationCache": "cache",
        "EvaluationTable": "table",
        "OracleSetupError": "worker",
        "STATUSES": "table",
        "Worker": "worker",
        "batch_round": "table",
        "evaluate_points": "worker",
        "point_key": "table",
        "point_keys": "table",
        "read_points": "table",
        "write_batch": "table",
        "write_points": "table",
    },
)
