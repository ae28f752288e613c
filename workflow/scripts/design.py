"""Round 0: a seeded Latin hypercube, split into the chunk files that the evaluation jobs take."""

from globalfit.design import latin_hypercube
from globalfit.evaluation import write_batch
from globalfit.logs import snakemake_log
from globalfit.space import ParameterSpace

log = snakemake_log(snakemake)
space = ParameterSpace.from_config(snakemake.params.parameters)
design = snakemake.params.design
theta = latin_hypercube(space, design["n_initial"], design["seed"])
write_batch(
    snakemake.output.proposal,
    list(snakemake.output.chunks),
    theta,
    space.names,
    attrs={**snakemake.params.provenance, "round": 0},
)
log.info(
    "Latin hypercube of %d points (seed %d) in %d chunks",
    len(theta),
    design["seed"],
    len(snakemake.output.chunks),
)
