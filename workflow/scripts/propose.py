"""Active-learning round r: fit the GP to rounds 0..r-1 and propose round r's batch, in chunks."""

import os

from globalfit.threads import pin_threads

pin_threads(snakemake.params.nthread)  # BLAS in the candidates: config's count, not the grant
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", str(snakemake.params.nthread))

from globalfit.active_learning import BatchProposer
from globalfit.evaluation import EvaluationTable, write_batch
from globalfit.jsonio import read_json, write_json
from globalfit.logs import snakemake_log
from globalfit.space import ParameterSpace

log = snakemake_log(snakemake)
settings = dict(snakemake.params.active_learning)
round_index = int(snakemake.wildcards.round)
space = ParameterSpace.from_config(snakemake.params.parameters)
data = EvaluationTable.read(snakemake.input.dataset[0])
state = read_json(snakemake.input.state[0]) if snakemake.input.state else None

proposer = BatchProposer(
    space,
    settings.pop("batch_size"),
    random_state=settings.pop("seed"),
    **{k: v for k, v in settings.items() if k != "rounds" and not k.startswith("posterior_")},
)
theta, info, new_state = proposer.propose(
    data.theta,
    data.chi2,
    data.ok,
    round_index=round_index - 1,
    n_rounds=snakemake.params.n_rounds,
    state=state,
)
write_batch(
    snakemake.output.proposal,
    list(snakemake.output.chunks),
    theta,
    space.names,
    attrs={**snakemake.params.provenance, "round": round_index},
)
write_json(snakemake.output.state, new_state)
write_json(snakemake.output.info, info)
log.info(
    "round %d: %d points proposed from %d fitted; delta=%.3g; %.1f CPU s",
    round_index,
    len(theta),
    info["n_fit"],
    info["delta"],
    info["cpu_seconds"],
)
