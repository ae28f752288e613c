"""Nested sampling (nautilus) of the surrogate posterior: island weights and the evidence; then
importance sampling from a mixture fitted to it, reported in its place when its weights pass."""

from globalfit.threads import pin_threads

pin_threads(1)  # before xgboost: thread contention slows per-call prediction

from functools import partial

import numpy as np

from globalfit.config import section_kwargs
from globalfit.inference import (
    MixtureProposal,
    Prior,
    importance_sample,
    refinement_verdict,
    run_nested,
    sample_nested,
)
from globalfit.jsonio import write_json
from globalfit.logs import snakemake_log
from globalfit.space import ParameterSpace
from globalfit.surrogate import Surrogate

log = snakemake_log(snakemake)
inf = snakemake.params.inference
space = ParameterSpace.from_config(snakemake.params.parameters)
prior = Prior.from_config(snakemake.params.parameters, space)
surrogate = Surrogate.load(snakemake.input.bundle, backend="compiled")
chi2 = partial(
    surrogate.predict_chi2_inside,
    classifier_weighted=inf["classifier_weighted"],
    outside=np.inf,  # outside the classifier's region the likelihood is zero, not a wall χ²
)
nested = sample_nested(
    chi2, prior, seed=inf["seed"], logger=log, **section_kwargs(inf["nested"], run_nested)
)
reported, summary = nested.posterior(), nested.summary()
settings = inf["importance_sampling"]
if settings["n_draws"] > 0:
    proposal = MixtureProposal.fit(
        reported, space, seed=inf["seed"], **section_kwargs(settings, MixtureProposal.fit)
    )
    refined = importance_sample(
        lambda theta: -0.5 * chi2(theta),
        prior,
        proposal,
        n_draws=settings["n_draws"],
        seed=inf["seed"],
        logger=log,
    )
    accepted, reason, islands = refinement_verdict(
        refined,
        reported,
        space,
        pareto_k_max=inf["pareto_k_threshold"],
        n_sigma=inf["island_sigma"],
        seed=inf["seed"],
    )
    log.info("%s", reason)
    refinement = {
        **refined.summary(),
        "accepted": accepted,
        "reason": reason,
        "islands": islands,
        "log_z_pull": (refined.log_z - nested.log_z)
        / float(np.hypot(refined.log_z_err, nested.log_z_err)),
    }
    if accepted:
        reported = refined.posterior()
        seconds = nested.seconds + refined.seconds
        summary.update(
            sampler="nautilus+importance",
            log_z=refined.log_z,
            log_z_err=refined.log_z_err,
            n_eff=refined.n_eff,
            n_samples=int(len(reported.samples)),
            n_calls=nested.n_calls + refined.n_calls,
            seconds=seconds,
            effective_samples_per_second=refined.n_eff / seconds,
        )
    summary["nautilus"] = nested.summary()
    summary["importance_sampling"] = refinement
reported.write(snakemake.output.posterior)
summary["classifier_weighted"] = inf["classifier_weighted"]
summary["prior"] = prior.describe()
write_json(snakemake.output.summary, summary)
