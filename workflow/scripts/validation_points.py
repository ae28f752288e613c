"""Draw the posterior samples that the true oracle checks, with their surrogate χ²."""

import os

os.environ["OMP_NUM_THREADS"] = "1"

import h5py  # noqa: E402
import numpy as np  # noqa: E402

from globalfit.evaluation import write_batch  # noqa: E402
from globalfit.inference import SamplingResult  # noqa: E402
from globalfit.logs import snakemake_log  # noqa: E402
from globalfit.space import ParameterSpace  # noqa: E402
from globalfit.surrogate import Surrogate  # noqa: E402

log = snakemake_log(snakemake)
inf = snakemake.params.inference
space = ParameterSpace.from_config(snakemake.params.parameters)
samples = SamplingResult.from_backend(snakemake.input.chain, names=space.names).samples
rng = np.random.default_rng([inf["seed"], 1])
pick = rng.choice(len(samples), size=min(inf["validation_samples"], len(samples)), replace=False)
theta = samples[np.sort(pick)]
# the χ² the sampler saw, which the importance weights compare with the truth
surrogate = Surrogate.load(snakemake.input.bundle, backend="compiled")
chi2_surrogate = surrogate.predict_chi2(theta, classifier_weighted=inf["classifier_weighted"])
write_batch(snakemake.output.points, list(snakemake.output.chunks), theta, space.names)
with h5py.File(snakemake.output.points, "a") as f:
    f["chi2_surrogate"] = chi2_surrogate
log.info("%d validation points drawn from %d posterior samples", len(theta), len(samples))
