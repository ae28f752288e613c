"""Posterior round r: a surrogate fitted to rounds 0..r-1 proposes round r's batch from its
posterior."""

from globalfit.threads import pin_threads

pin_threads(1)  # before xgboost: thread contention slows per-call prediction

from globalfit.active_learning import propose_posterior_batch
from globalfit.config import section_kwargs
from globalfit.evaluation import EvaluationTable, write_batch
from globalfit.inference import Prior
from globalfit.jsonio import write_json
from globalfit.logs import snakemake_log
from globalfit.space import ParameterSpace

log = snakemake_log(snakemake)
al = snakemake.params.active_learning
round_index = int(snakemake.wildcards.round)
space = ParameterSpace.from_config(snakemake.params.parameters)
data = EvaluationTable.read(snakemake.input.dataset[0])
theta, info = propose_posterior_batch(
    data.theta,
    data.chi2,
    data.ok,
    space=space,
    prior=Prior.from_config(snakemake.params.parameters, space),
    surrogate_settings=snakemake.params.surrogate,
    round_index=round_index,
    n_walkers=snakemake.params.n_walkers,
    classifier_weighted=snakemake.params.classifier_weighted,
    nthread=snakemake.params.nthread,
    # batch_size, seed, min_distance and the posterior rounds' steps and optuna trials
    **section_kwargs(
        al,
        propose_posterior_batch,
        rename={"posterior_steps": "n_steps", "posterior_trials": "n_trials"},
    ),
)
write_batch(
    snakemake.output.proposal,
    list(snakemake.output.chunks),
    theta,
    space.names,
    attrs={**snakemake.params.provenance, "round": round_index},
)
write_json(snakemake.output.info, info)
log.info(
    "posterior round %d: %d points from the posterior of a surrogate fitted to %d points; "
    "%.1f CPU s",
    round_index,
    len(theta),
    info["n_fit"],
    info["cpu_seconds"],
)
