"""Append a round's evaluated chunks to the dataset of the rounds before it."""

from globalfit.evaluation import EvaluationTable
from globalfit.logs import snakemake_log

log = snakemake_log(snakemake)
tables = [EvaluationTable.read(p) for p in [*snakemake.input.previous, *snakemake.input.chunks]]
dataset = EvaluationTable.concat(tables)
dataset.write(snakemake.output[0], attrs=snakemake.params.provenance)
log.info(
    "round %s: %d points in the dataset, %s",
    snakemake.wildcards.round,
    len(dataset),
    dataset.status_counts(),
)
