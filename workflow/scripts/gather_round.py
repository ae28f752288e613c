"""Append a round's evaluated chunks to the dataset of the rounds before it."""

from globalfit.evaluation import EvaluationTable
from globalfit.logs import snakemake_log

log = snakemake_log(snakemake)
new = [EvaluationTable.read(p) for p in snakemake.input.chunks]
if new:  # a round fails as a whole when too many of its new points failed
    EvaluationTable.concat(new).check_failures(
        snakemake.params.max_failed_fraction, f"round {snakemake.wildcards.round}"
    )
previous = [EvaluationTable.read(p) for p in snakemake.input.previous]
dataset = EvaluationTable.concat([*previous, *new])
dataset.write(snakemake.output[0], attrs=snakemake.params.provenance)
log.info(
    "round %s: %d points in the dataset, %s",
    snakemake.wildcards.round,
    len(dataset),
    dataset.status_counts(),
)
