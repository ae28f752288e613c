"""results/run_summary.json: the numbers of this run that the README quotes, with provenance."""

import json
import os
import platform
from pathlib import Path

import numpy as np

from globalfit.evaluation import EvaluationTable
from globalfit.logs import snakemake_log
from globalfit.reporting import git_commit, stage_timings

log = snakemake_log(snakemake)
data = EvaluationTable.read(snakemake.input.dataset)
best = float(np.min(data.chi2[data.ok]))
below = data.ok & (data.chi2 - best < 2.3)
n_gp = snakemake.config["active_learning"]["rounds"]
design = data.round == 0
proposals = (data.round > 0) & (data.round <= n_gp)  # GP rounds; posterior rounds come after
posterior = data.round > n_gp
summary = {
    "config_name": snakemake.config["name"],
    "config_hash": snakemake.params.config_hash,
    "commit": git_commit(Path(snakemake.scriptdir)),
    "package_version": data.attrs.get("package_version"),
    "machine": f"{os.cpu_count()} cores, {platform.machine()}",
    "timings": stage_timings(snakemake.params.benchmarks),
    "evaluation": {
        "n_points": len(data),
        "n_failed": int((~data.ok).sum()),
        "status": data.status_counts(),
        "best_chi2": best,
        "best_chi2_design": float(np.min(data.chi2[data.ok & design]))
        if (data.ok & design).any()
        else None,
        "oracle_cpu_seconds": float(np.nansum(data.cpu_seconds)),
    },
    "active_learning": {
        "rounds": int(data.round.max()),
        "share_below_2_3": float(below[proposals].mean()) if proposals.any() else None,
        "posterior_rounds_share_below_2_3": float(below[posterior].mean())
        if posterior.any()
        else None,
        "lhs_share_below_2_3": float(below[design].mean()),
    },
}
for key, path in (
    ("surrogate", snakemake.input.surrogate),
    ("inference", snakemake.input.inference),
    ("explain", snakemake.input.explain),
):
    if path:
        summary[key] = json.load(open(path if isinstance(path, str) else path[0]))
if "explain" in summary:
    ablation = summary["explain"].get("ablation") or {}
    summary["explain"] = {
        "ranking": summary["explain"]["ranking"],
        "least_important": ablation.get("dropped"),
        "verdict": ablation.get("verdict"),
        "top_pairs": summary["explain"]["interactions"]["mean_abs"][:3]
        if summary["explain"].get("interactions")
        else None,
    }
if "inference" in summary:
    keep = ("best_fit", "sm", "significance", "convergence", "trustworthy")
    inf = summary["inference"]
    summary["inference"] = {k: inf[k] for k in keep if k in inf}
    summary["inference"]["validation"] = {
        k: inf["validation"].get(k)
        for k in ("ess_fraction", "max_weight_share", "trustworthy", "sentence")
    }
with open(snakemake.output[0], "w") as f:
    json.dump(summary, f, indent=1, default=float)
log.info("%s", json.dumps(summary["timings"], indent=1))
