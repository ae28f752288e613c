"""True χ² at posterior samples against the surrogate's: importance weights, PSIS k̂, the
reweighted posterior, each island's reweighted mass and the evidence corrected by the truth."""

import h5py

from globalfit.evaluation import EvaluationTable
from globalfit.inference import corrected_log_evidence, reweighted_posterior, reweighting_metrics
from globalfit.jsonio import read_json, write_json
from globalfit.logs import snakemake_log

log = snakemake_log(snakemake)
inf = snakemake.params.inference
with h5py.File(snakemake.input.points, "r") as f:
    chi2_surrogate = f["chi2_surrogate"][()]
    base = f["base_weight"][()]
    island = f["island"][()]
table = EvaluationTable.concat([EvaluationTable.read(p) for p in snakemake.input.evaluated])
table.write(snakemake.output.table)
with h5py.File(snakemake.output.table, "a") as f:
    f["chi2_surrogate"] = chi2_surrogate
    f["base_weight"] = base
    f["island"] = island
metrics = reweighting_metrics(
    table.chi2,
    chi2_surrogate,
    table.theta,
    table.names,
    failed=~table.ok,
    ess_threshold=inf["ess_threshold"],
    pareto_k_threshold=inf["pareto_k_threshold"],
    seed=inf["seed"],
    base_weights=base,
)
metrics["status_counts"] = table.status_counts()
metrics["n_cached"] = int(table.cached.sum())
metrics.update(
    reweighted_posterior(
        table.theta, table.names, table.chi2, chi2_surrogate, base, island, table.ok
    )
)
nested = read_json(snakemake.input.nested_summary)
metrics["evidence"] = corrected_log_evidence(
    nested["log_z"],
    table.chi2,
    chi2_surrogate,
    log_z_err=nested["log_z_err"],
    failed=~table.ok,
    seed=inf["seed"],
    base_weights=base,
)
write_json(snakemake.output.metrics, metrics)
log.info("%s", metrics["sentence"])
