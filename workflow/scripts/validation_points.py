"""Draw the posterior samples that the true oracle checks, per island, with their surrogate χ²."""

import os

os.environ["OMP_NUM_THREADS"] = "1"

import h5py  # noqa: E402

from globalfit.evaluation import write_batch  # noqa: E402
from globalfit.inference import Posterior, draw_per_island, find_islands  # noqa: E402
from globalfit.logs import snakemake_log  # noqa: E402
from globalfit.space import ParameterSpace  # noqa: E402
from globalfit.surrogate import Surrogate  # noqa: E402

log = snakemake_log(snakemake)
inf = snakemake.params.inference
space = ParameterSpace.from_config(snakemake.params.parameters)
posterior = Posterior.read(snakemake.input.posterior)
islands = find_islands(space, posterior.equal_weight(2000, seed=inf["seed"]))
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
