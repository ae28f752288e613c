"""True χ² at posterior samples against the surrogate's: importance weights and their verdict."""

import h5py

from globalfit.evaluation import EvaluationTable
from globalfit.inference import reweighting_metrics
from globalfit.jsonio import write_json
from globalfit.logs import snakemake_log

log = snakemake_log(snakemake)
with h5py.File(snakemake.input.points, "r") as f:
    chi2_surrogate = f["chi2_surrogate"][()]
table = EvaluationTable.concat([EvaluationTable.read(p) for p in snakemake.input.evaluated])
table.write(snakemake.output.table)
with h5py.File(snakemake.output.table, "a") as f:
    f["chi2_surrogate"] = chi2_surrogate
metrics = reweighting_metrics(
    table.chi2,
    chi2_surrogate,
    table.theta,
    table.names,
    failed=~table.ok,
    ess_threshold=snakemake.params.inference["ess_threshold"],
)
metrics["status_counts"] = table.status_counts()
metrics["n_cached"] = int(table.cached.sum())
write_json(snakemake.output.metrics, metrics)
log.info("%s", metrics["sentence"])
