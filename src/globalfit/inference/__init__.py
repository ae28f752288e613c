"""Inference on the surrogate: priors, emcee sampling (vectorised moves, resumable backend),
posterior summaries, best fit, significance, profile likelihoods, validation against the
true χ² and derived quantities.

Public names are imported lazily from the modules named below (see :mod:`globalfit.lazy`).
"""

from globalfit.lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "BURN_FACTOR": "chains",
        "BestFit": "minimum",
        "BufferedHDFBackend": "backend",
        "CONVERGENCE_FACTOR": "chains",
        "Chi2Fn": "minimum",
        "DEFAULT_ALP_PRIORS": "priors",
        "DEFAULT_SOFT_WIDTH": "priors",
        "Interval": "profiles",
        "LEVELS_1D": "profiles",
        "LEVELS_2D": "profiles",
        "LOW_ENERGY": "derived",
        "LogPosterior": "priors",
        "NotConvergedError": "chains",
        "PRIOR_TYPES": "priors",
        "ParameterPrior": "priors",
        "Prior": "priors",
        "Profile1D": "profiles",
        "Profile2D": "profiles",
        "QUANTILES": "summary",
        "STUCK_ACCEPTANCE": "chains",
        "SamplingResult": "chains",
        "THIN_FACTOR": "chains",
        "VectorizedDEMove": "moves",
        "VectorizedDESnookerMove": "moves",
        "VectorizedStretchMove": "moves",
        "alp_low_energy_couplings": "derived",
        "best_fit": "minimum",
        "coupling_combinations": "derived",
        "finalize_chain": "backend",
        "importance_weights": "validation",
        "initial_ball": "chains",
        "load_profiles": "profile_io",
        "minimize_batch": "minimum",
        "posterior_summary": "summary",
        "profile_1d": "profiles",
        "profile_2d": "profiles",
        "reweighting_metrics": "validation",
        "run_emcee": "sampler",
        "sample_posterior": "sampler",
        "save_profiles": "profile_io",
        "thinned_subset": "derived",
        "wilks_significance": "significance",
    },
)
