"""Posterior round r: a surrogate fitted to rounds 0..r-1 proposes round r's batch from its
posterior; an empty batch once the loop has stopped (no fit, no sampling)."""

import time

from globalfit.threads import pin_threads

pin_threads(1)  # before xgboost: thread contention slows per-call prediction

import numpy as np

from globalfit.active_learning.stopping import empty_round_info, plan_next_round
from globalfit.config import section_kwargs
from globalfit.evaluation import EvaluationTable, write_batch
from globalfit.jsonio import read_json, write_json
from globalfit.logs import snakemake_log
from globalfit.space import ParameterSpace

log = snakemake_log(snakemake)
t_cpu = time.process_time()
al = snakemake.params.active_learning
round_index = int(snakemake.wildcards.round)
space = ParameterSpace.from_config(snakemake.params.parameters)
data = EvaluationTable.read(snakemake.input.dataset[0])
previous = snakemake.input.previous_info
previous_info = read_json(previous[0]) if previous else None
plan = plan_next_round(
    "posterior",
    round_index,
    data,
    previous_info,
    space=space,
    settings=al,
    **snakemake.params.thresholds,
)

if plan["n_points"]:
    from globalfit.active_learning import propose_posterior_batch
    from globalfit.inference import Prior

    kwargs = section_kwargs(
        al,
        propose_posterior_batch,
        rename={"posterior_steps": "n_steps", "posterior_trials": "n_trials"},
    )  # seed, min_distance and the posterior rounds' steps and optuna trials
    kwargs["batch_size"] = plan["n_points"]
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
        **kwargs,
    )
    log.info(
        "posterior round %d: %d points from the posterior of a surrogate fitted to %d points; "
        "%.1f CPU s",
        round_index,
        len(theta),
        info["n_fit"],
        info["cpu_seconds"],
    )
else:
    theta = np.zeros((0, space.dim))
    reason = plan["stopped"]["posterior"]
    info = empty_round_info(round_index, data.ok.sum(), time.process_time() - t_cpu, reason)
    log.info("posterior round %d: nothing to propose, %s", round_index, reason)
info["stopping"] = plan
write_batch(
    snakemake.output.proposal,
    list(snakemake.output.chunks),
    theta,
    space.names,
    attrs={**snakemake.params.provenance, "round": round_index},
)
write_json(snakemake.output.info, info)
