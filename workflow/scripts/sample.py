"""Sample the posterior on the compiled surrogate with emcee (resumable backend)."""

import os
from functools import partial
from pathlib import Path

import numpy as np

os.environ["OMP_NUM_THREADS"] = "1"  # before xgboost: thread contention slows per-call prediction

from globalfit.config import section_kwargs  # noqa: E402
from globalfit.evaluation import EvaluationTable  # noqa: E402
from globalfit.inference import (  # noqa: E402
    Prior,  # noqa: E402
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
data = EvaluationTable.read(snakemake.input.dataset)
starts = data.best(inf["n_starts"])
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
write_json(snakemake.output.sampling, summary)
log.info(
    "converged: %s, max tau %.1f, acceptance %.2f",
    result.converged,
    np.max(result.tau),
    np.mean(result.acceptance),
)
