"""Sample the posterior on the compiled surrogate with emcee (resumable backend), started from the
nested sampler's posterior (every island) or around the best evaluated points."""

import os
from functools import partial
from pathlib import Path

import numpy as np

os.environ["OMP_NUM_THREADS"] = "1"  # before xgboost: thread contention slows per-call prediction

from globalfit.config import section_kwargs  # noqa: E402
from globalfit.evaluation import EvaluationTable  # noqa: E402
from globalfit.inference import (  # noqa: E402
    Posterior,
    Prior,
    coupling_combinations,  # noqa: E402
    finalize_chain,
    run_emcee,
    sample_posterior,
)
from globalfit.jsonio import write_json  # noqa: E402
from globalfit.logs import snakemake_log  # noqa: E402
from globalfit.provenance import hash_files  # noqa: E402
from globalfit.space import ParameterSpace  # noqa: E402
from globalfit.surrogate import Surrogate  # noqa: E402

log = snakemake_log(snakemake)
inf = snakemake.params.inference
space = ParameterSpace.from_config(snakemake.params.parameters)
prior = Prior.from_config(snakemake.params.parameters, space)
surrogate = Surrogate.load(snakemake.input.bundle, backend="compiled")
if inf["emcee_start"] == "nested":  # one draw per walker: islands in proportion to their mass
    starts = Posterior.read(snakemake.input.nested).equal_weight(inf["n_walkers"], inf["seed"])
else:
    starts = EvaluationTable.read(snakemake.input.dataset).best(inf["n_starts"])
result = sample_posterior(
    # the prior cuts to the box first
    partial(surrogate.predict_chi2_inside, classifier_weighted=inf["classifier_weighted"]),
    prior,
    starts,
    backend_path=snakemake.params.backend,
    fingerprint=hash_files(sorted(Path(snakemake.input.bundle).glob("*.ubj"))),
    logger=log,
    **section_kwargs(inf, run_emcee),  # n_walkers, n_steps, seed, moves, ball_scale
)
finalize_chain(snakemake.params.backend, snakemake.output.chain)
summary = result.summary(derived=coupling_combinations(result.samples, space.names))
summary["prior"] = prior.describe()
summary["classifier_weighted"] = inf["classifier_weighted"]
summary["start"] = inf["emcee_start"]
write_json(snakemake.output.sampling, summary)
log.info(
    "converged: %s, max tau %.1f, acceptance %.2f",
    result.converged,
    np.max(result.tau),
    np.mean(result.acceptance),
)
