"""summary.json: posterior, islands, evidence and Bayes factor, convergence, best fit confirmed
by the true oracle, significance against the reference point, profile intervals checked by the
true oracle, and the validation verdict."""

import h5py
import numpy as np

from globalfit.evaluation import EvaluationTable
from globalfit.inference.results import inference_summary
from globalfit.jsonio import read_json, write_json
from globalfit.logs import snakemake_log
from globalfit.oracles.alp import sector_observables

log = snakemake_log(snakemake)
inf = snakemake.params.inference
derived = {}
for path in snakemake.input.derived:  # ALP-aca's running on posterior samples (ALP only)
    with h5py.File(path, "r") as f:
        for k in f:
            if k != "theta":
                derived.setdefault(k, []).append(f[k][()])
summary = inference_summary(
    names=[p["name"] for p in snakemake.params.parameters],
    sampling=read_json(snakemake.input.sampling),
    posterior=read_json(snakemake.input.posterior),
    surrogate_fit=read_json(snakemake.input.best_fit),
    validation=read_json(snakemake.input.validation),
    confirm=EvaluationTable.concat([EvaluationTable.read(p) for p in snakemake.input.confirm]),
    reference_point=inf["reference_point"],
    dof=inf["dof"],
    derived_values={k: np.concatenate(v) for k, v in derived.items()},
    profile_check=EvaluationTable.concat(
        [EvaluationTable.read(p) for p in snakemake.input.profile_check]
    )
    if snakemake.input.profile_check
    else None,
    profile_tolerance=inf["profile_tolerance"],
    sectors=sector_observables() if snakemake.params.oracle == "alp" else None,
)
if "warning" in summary:
    log.warning(summary["warning"])
write_json(snakemake.output[0], summary)
log.info(
    "best fit chi2 %.4f; %s", summary["best_fit"]["chi2_true"], summary["validation"]["sentence"]
)
for name, prof in summary["profiles"].items():
    if not prof["validated"]:
        log.warning("the profile of %s is not validated by the true chi2: %s", name, prof["check"])
