"""The final dataset (every design and active-learning point) and its CSV mirror."""

from globalfit.evaluation import EvaluationTable
from globalfit.logs import snakemake_log

log = snakemake_log(snakemake)
dataset = EvaluationTable.read(snakemake.input[0])
dataset.write(snakemake.output.h5, attrs=snakemake.params.provenance)
dataset.write_csv(snakemake.output.csv)
log.info("%d points, %s", len(dataset), dataset.status_counts())
