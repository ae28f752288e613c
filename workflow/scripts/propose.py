"""Active-learning round r: fit the GP to rounds 0..r-1 and propose round r's batch, in chunks;
an empty batch once the loop has stopped (no GP fit, no TensorFlow import)."""

import os
import time

from globalfit.threads import pin_threads

pin_threads(snakemake.params.nthread)  # BLAS in the candidates: config's count, not the grant
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", str(snakemake.params.nthread))

import numpy as np

from globalfit.active_learning.stopping import STOP_SETTINGS, empty_round_info, plan_next_round
from globalfit.evaluation import EvaluationTable, write_batch
from globalfit.jsonio import read_json, write_json
from globalfit.logs import snakemake_log
from globalfit.space import ParameterSpace

log = snakemake_log(snakemake)
t_cpu = time.process_time()
settings = dict(snakemake.params.active_learning)
round_index = int(snakemake.wildcards.round)
space = ParameterSpace.from_config(snakemake.params.parameters)
data = EvaluationTable.read(snakemake.input.dataset[0])
state = read_json(snakemake.input.state[0]) if snakemake.input.state else None
previous = snakemake.input.previous_info
previous_info = read_json(previous[0]) if previous else None
plan = plan_next_round(
    "gp",
    round_index,
    data,
    previous_info,
    space=space,
    settings=settings,
    **snakemake.params.thresholds,
)

if plan["n_points"]:
    from globalfit.active_learning import BatchProposer

    settings.pop("batch_size")
    proposer = BatchProposer(
        space,
        plan["n_points"],
        random_state=settings.pop("seed"),
        **{
            k: v
            for k, v in settings.items()
            if k != "rounds" and not k.startswith("posterior_") and k not in STOP_SETTINGS
        },
    )
    theta, info, state = proposer.propose(
        data.theta,
        data.chi2,
        data.ok,
        round_index=round_index - 1,
        n_rounds=snakemake.params.n_rounds,
        state=state,
    )
    log.info(
        "round %d: %d points proposed from %d fitted; delta=%.3g; %.1f CPU s",
        round_index,
        len(theta),
        info["n_fit"],
        info["delta"],
        info["cpu_seconds"],
    )
else:
    theta = np.zeros((0, space.dim))
    reason = plan["stopped"]["gp"]
    info = empty_round_info(round_index, data.ok.sum(), time.process_time() - t_cpu, reason)
    log.info("round %d: nothing to propose, %s", round_index, reason)
info["stopping"] = plan
write_batch(
    snakemake.output.proposal,
    list(snakemake.output.chunks),
    theta,
    space.names,
    attrs={**snakemake.params.provenance, "round": round_index},
)
write_json(snakemake.output.state, state)  # a stopped round passes the last fit's on
write_json(snakemake.output.info, info)
