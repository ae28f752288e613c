"""The reported posterior (posterior.h5) from the configured sampler, the islands' masses in both
samplers side by side, and the surrogate's evidence with its prior dependence."""

import numpy as np

from globalfit.inference import (
    Posterior,
    Prior,
    SamplingResult,
    UnitCubePrior,
    box_variation,
    compare_island_masses,
    find_islands,
)
from globalfit.jsonio import read_json, write_json
from globalfit.logs import snakemake_log
from globalfit.space import ParameterSpace

log = snakemake_log(snakemake)
inf = snakemake.params.inference
space = ParameterSpace.from_config(snakemake.params.parameters)
prior = Prior.from_config(snakemake.params.parameters, space)
nested = Posterior.read(snakemake.input.nested)
nested_info = read_json(snakemake.input.nested_summary)
chain = SamplingResult.from_backend(snakemake.input.chain, names=space.names)
emcee = Posterior(space.names, chain.samples, np.ones(len(chain.samples)), "emcee")
reported = nested if inf["sampler"] == "nested" else emcee
# islands are found once, in the nested posterior (whose weights between them are right), and
# stored with the reported posterior for the validation's per-island draws
islands = find_islands(space, nested.equal_weight(2000, seed=inf["seed"]))
reported.write(snakemake.output.posterior, extra=islands.arrays())

comparison = compare_island_masses(
    islands.masses(nested.samples, nested.weights),
    nested_info["n_eff"],
    islands.masses(emcee.samples),
    float(min(chain.ess)),  # the worst parameter's ESS: mixing between islands is the slowest
    n_sigma=inf["island_sigma"],
)
centres = islands.centres()
for row in comparison["islands"]:
    row["centre"] = dict(zip(space.names, map(float, centres[row["island"]]), strict=True))
summary = {
    "sampler": reported.sampler,
    "n_samples": int(len(reported.samples)),
    "n_eff": reported.n_eff,
    "parameters": reported.summary(),
    "islands": comparison,
    "evidence": {
        "log_z": nested_info["log_z"],
        "log_z_err": nested_info["log_z_err"],
        "sampler": nested_info["sampler"],
        "prior_dependence": (
            "ln Z is an average of the likelihood over the prior: widening a flat parameter's box "
            "by a factor f lowers it by ln f when no mass lies in the added range"
        ),
        "box_variation": box_variation(
            UnitCubePrior(prior), nested.samples, np.log(nested.weights), seed=inf["seed"]
        ),
    },
}
write_json(snakemake.output.summary, summary)
log.info("%s", comparison["sentence"])
