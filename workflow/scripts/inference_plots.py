"""Corner plot of the reported posterior (with the reweighted one), trace plot of the emcee
chain, profile likelihoods, and true-vs-surrogate χ²."""

import json
from pathlib import Path

import h5py

from globalfit.inference import Posterior, SamplingResult, load_profiles, reweighted_weights
from globalfit.logs import snakemake_log
from globalfit.plots import inference as P

log = snakemake_log(snakemake)
names = [p["name"] for p in snakemake.params.parameters]
labels = [f"${p['latex']}$" if p.get("latex") else p["name"] for p in snakemake.params.parameters]
summary = json.load(open(snakemake.input.summary))
best = [summary["best_fit"]["theta"][n] for n in names]
result = SamplingResult.from_backend(snakemake.input.chain, names=names)
posterior = Posterior.read(snakemake.input.posterior)
with h5py.File(snakemake.input.validation, "r") as f:
    chi2_true, chi2_surrogate, status = f["chi2"][()], f["chi2_surrogate"][()], f["status"][()]
    theta_v, base = f["theta"][()], f["base_weight"][()]
failed = status.astype(str) != "ok"
P.corner_plot(
    posterior.samples,
    labels,
    snakemake.output.corner,
    weights=posterior.weights,
    truths=best,
    overlay=(theta_v, reweighted_weights(chi2_true, chi2_surrogate, base, ~failed)),
    title=f"posterior ({posterior.sampler} on the surrogate; orange: reweighted by the true χ²), "
    "best fit in red",
)
P.trace_plot(
    result.chain, labels, snakemake.output.trace, burn=result.burn, log_prob=result.log_prob
)
profiles, two = load_profiles(snakemake.input.profiles)
P.profile_1d_plot(profiles, snakemake.output.profiles, truths=summary["best_fit"]["theta"])
each = Path(snakemake.output.profile_each)  # one file per parameter: the report filters by name
each.mkdir(parents=True, exist_ok=True)
for profile in profiles:
    P.profile_1d_plot([profile], each / f"{profile.name}.png", truths=summary["best_fit"]["theta"])
pair = [names.index(n) for n in two.names]
P.profile_2d_plot(
    two,
    snakemake.output.profile_2d,
    best=[best[j] for j in pair],
    samples=posterior.equal_weight(4000)[:, pair],
)
P.chi2_scatter_plot(
    chi2_true,
    chi2_surrogate,
    snakemake.output.validation,
    failed=failed,
    title=summary["validation"]["sentence"][:90],
)
log.info("plots written")
