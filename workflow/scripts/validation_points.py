"""Draw the posterior samples that the true oracle checks, per island, with their surrogate χ²."""

from globalfit.threads import pin_threads

pin_threads(1)

import h5py

from globalfit.evaluation import write_batch
from globalfit.inference import Islands, Posterior, draw_per_island
from globalfit.logs import snakemake_log
from globalfit.space import ParameterSpace
from globalfit.surrogate import Surrogate

log = snakemake_log(snakemake)
inf = snakemake.params.inference
space = ParameterSpace.from_config(snakemake.params.parameters)
posterior = Posterior.read(snakemake.input.posterior)
islands = Islands.read(snakemake.input.posterior, space)  # found by the posterior rule
theta, base_weights, labels = draw_per_island(
    posterior,
    islands,
    inf["validation_samples"],
    min_per_island=inf["min_per_island"],
    seed=inf["seed"] + 1,
)
# the χ² the sampler saw, which the importance weights compare with the truth
surrogate = Surrogate.load(snakemake.input.bundle, backend="compiled")
chi2_surrogate = surrogate.predict_chi2(theta, classifier_weighted=inf["classifier_weighted"])
write_batch(snakemake.output.points, list(snakemake.output.chunks), theta, space.names)
with h5py.File(snakemake.output.points, "a") as f:
    f["chi2_surrogate"] = chi2_surrogate
    f["base_weight"] = base_weights
    f["island"] = labels
log.info(
    "%d validation points over %d islands from %d posterior samples",
    len(theta),
    islands.n_islands,
    len(posterior.samples),
)
