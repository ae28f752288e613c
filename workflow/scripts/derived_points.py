"""A thinned posterior subset for the (slow) low-energy couplings, split into chunks."""

from globalfit.evaluation import write_batch
from globalfit.inference import SamplingResult, thinned_subset
from globalfit.logs import snakemake_log
from globalfit.space import ParameterSpace

log = snakemake_log(snakemake)
space = ParameterSpace.from_config(snakemake.params.parameters)
samples = SamplingResult.from_backend(snakemake.input[0], names=space.names).samples
theta = samples[thinned_subset(samples, snakemake.params.inference["derived_samples"])]
write_batch(None, list(snakemake.output), theta, space.names)
log.info("%d of %d samples", len(theta), len(samples))
