"""Active learning: the GP (gpflow) on a transformed χ², expected improvement, candidates, trust
regions, the batch proposer, posterior rounds and per-round diagnostics.

Public names are imported lazily from the modules named below (see :mod:`globalfit.lazy`).
"""

from globalfit.lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "BatchProposer": "proposer",
        "DEFAULT_START": "target",
        "DIAGNOSTICS_COLUMNS": "diagnostics",
        "GPModel": "gp",
        "JITTER": "gp",
        "LENGTHSCALE_MIN": "gp",
        "STATE_FORMAT": "gp",
        "TARGET_KIND": "target",
        "VARIANCE_MIN": "gp",
        "delta_schedule": "target",
        "diagnostics_row": "diagnostics",
        "expected_improvement": "acquisition",
        "gaussian_candidates": "candidates",
        "hull_candidates": "candidates",
        "inverse_transform_target": "target",
        "log_expected_improvement": "acquisition",
        "propose_posterior_batch": "posterior_rounds",
        "run_active_learning": "loop",
        "select_inducing_points": "gp",
        "transform_target": "target",
        "trust_region_centres": "trust_regions",
        "trust_region_shape": "trust_regions",
        "update_trust_radius": "trust_regions",
    },
)
