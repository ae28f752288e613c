"""Sample the posterior on the compiled surrogate with emcee (resumable backend), started from the
nested sampler's posterior (every island) or around the best evaluated points."""

from globalfit.threads import pin_threads

pin_threads(1)  # before xgboost: thread contention slows per-call prediction

from functools import partial
from pathlib import Path

import numpy as np

from globalfit.config import section_kwargs
from globalfit.evaluation import EvaluationTable
from globalfit.inference import (
    Posterior,
    Prior,
    coupling_combinations,
    finalize_chain,
    run_emcee,
    sample_posterior,
)
from globalfit.jsonio import write_json
from globalfit.logs import snakemake_log
from globalfit.provenance import state_key, versions
from globalfit.space import ParameterSpace
from globalfit.surrogate import Surrogate

log = snakemake_log(snakemake)
inf = snakemake.params.inference
space = ParameterSpace.from_config(snakemake.params.parameters)
prior = Prior.from_config(snakemake.params.parameters, space)
bundle = Path(snakemake.input.bundle)
start_file = snakemake.input.nested if inf["emcee_start"] == "nested" else snakemake.input.dataset
# the backend resumes only a chain of this code, this bundle (models, compiled libraries,
# threshold) and these starts; the config sections name its folder
key = state_key(
    snakemake.params.code,
    [*sorted(bundle.glob("*.ubj")), *sorted(bundle.glob("*.so")), bundle / "metadata.json"]
    + [start_file],
    extra=versions("emcee"),
)
backend = Path(snakemake.params.state_dir) / f"{key}.h5"
surrogate = Surrogate.load(bundle, backend="compiled")
if inf["emcee_start"] == "nested":  # one draw per walker: islands in proportion to their mass
    starts = Posterior.read(start_file).equal_weight(inf["n_walkers"], inf["seed"])
else:
    starts = EvaluationTable.read(start_file).best(inf["n_starts"])
result = sample_posterior(
    # the prior cuts to the box first
    partial(surrogate.predict_chi2_inside, classifier_weighted=inf["classifier_weighted"]),
    prior,
    starts,
    backend_path=backend,
    fingerprint=key,
    logger=log,
    **section_kwargs(inf, run_emcee),  # n_walkers, n_steps, seed, moves, ball_scale
)
finalize_chain(backend, snakemake.output.chain)
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
