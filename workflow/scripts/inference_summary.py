"""summary.json: posterior, convergence, best fit confirmed by the true oracle, significance
against the reference point (Wilks), profile intervals, and the validation verdict."""

import json

import h5py
import numpy as np

from globalfit.evaluation import EvaluationTable
from globalfit.inference import posterior_summary, wilks_significance
from globalfit.logs import snakemake_log

log = snakemake_log(snakemake)
inf = snakemake.params.inference
names = [p["name"] for p in snakemake.params.parameters]
sampling = json.load(open(snakemake.input.sampling))
surrogate_fit = json.load(open(snakemake.input.best_fit))
validation = json.load(open(snakemake.input.validation))
confirm = EvaluationTable.concat([EvaluationTable.read(p) for p in snakemake.input.confirm])
n_min = len(confirm) - (inf["reference_point"] is not None)
candidates = np.flatnonzero(confirm.ok[:n_min])
if candidates.size == 0:
    raise RuntimeError(
        f"the true oracle failed at every best-fit candidate: {list(confirm.message[:n_min])}"
    )
i = candidates[np.argmin(confirm.chi2[candidates])]
best_fit = {
    "theta": dict(zip(names, map(float, confirm.theta[i]), strict=True)),
    "chi2_true": float(confirm.chi2[i]),
    "chi2_surrogate": surrogate_fit["best_fit"]["chi2"],
    "source": "best evaluated point" if i == n_min - 1 else f"surrogate local minimum {i + 1}",
    "candidates_chi2_true": [float(c) for c in confirm.chi2[:n_min]],
    "note": (
        "lowest true chi2 among the surrogate's best local minima (multi-start minimisation) and "
        "the "
        "best point of the dataset (the last candidate)"
    ),
}
summary = {"best_fit": best_fit, "sm": None, "significance": None}
if inf["reference_point"] is not None:
    chi2_sm = float(confirm.chi2[-1])
    summary["sm"] = {
        "theta": inf["reference_point"],
        "chi2": chi2_sm,
        "status": str(confirm.status[-1]),
    }
    w = wilks_significance(chi2_sm, best_fit["chi2_true"], inf["dof"])
    summary["significance"] = {
        "delta_chi2": w["delta_chi2"],
        "dof": w["dof"],
        "p": w["p_value"],
        "z": w["z"],
        "z_two_sided": w["z_two_sided"],
        "convention": w["convention"],
        "caveat": (
            "Wilks' theorem with dof = number of parameters that vanish under the reference point; "
            "for the ALP fit fa is not identified under the Standard Model (it drops out when all "
            "couplings vanish), so the asymptotic chi2 distribution is only approximate."
        ),
    }
diag = sampling["diagnostics"]
summary["convergence"] = {
    "converged": diag["converged"],
    "tau": diag["tau"],
    "max_tau": diag["max_tau"],
    "n_steps": diag["n_steps"],
    "rule": diag["convergence_rule"],
    "acceptance": diag["acceptance_mean"],
    "ess": diag["ess"],
    "burn": diag["burn"],
    "thin": diag["thin"],
    "notes": diag["notes"],
    # measured in the run, with the workflow's other jobs alongside
    "log_prob_evals_per_s": diag.get("log_prob_evals_per_s"),
}
summary["posterior"] = sampling["parameters"]
summary["derived"] = dict(sampling.get("derived", {}))
if snakemake.input.derived:
    values = {}
    for path in snakemake.input.derived:
        with h5py.File(path, "r") as f:
            for k in f:
                if k != "theta":
                    values.setdefault(k, []).append(f[k][()])
    cols = {k: np.concatenate(v) for k, v in values.items()}
    summary["derived"].update(posterior_summary(np.column_stack(list(cols.values())), list(cols)))
summary["profiles"] = {n: p["intervals"] for n, p in surrogate_fit["profiles"].items()}
summary["validation"] = validation
summary["trustworthy"] = bool(validation["trustworthy"])
if not summary["trustworthy"]:
    summary["warning"] = "THE SURROGATE POSTERIOR IS NOT TRUSTWORTHY: " + validation["sentence"]
    log.warning(summary["warning"])
with open(snakemake.output[0], "w") as f:
    json.dump(summary, f, indent=1, default=float)
log.info("best fit chi2 %.4f; %s", best_fit["chi2_true"], validation["sentence"])
