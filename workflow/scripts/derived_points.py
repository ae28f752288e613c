"""A thinned posterior subset for the (slow) low-energy couplings, split into chunks."""

from globalfit.derived import thinned_subset
from globalfit.logs import snakemake_log
from globalfit.sampling import SamplingResult
from globalfit.space import ParameterSpace
from globalfit.store import write_batch

log = snakemake_log(snakemake)
space = ParameterSpace.from_config(snakemake.params.parameters)
samples = SamplingResult.from_backend(snakemake.input[0], names=space.names).samples
theta = samples[thinned_subset(samples, snakemake.params.inference["derived_samples"])]
write_batch(None, list(snakemake.output), theta, space.names)
log.info("%d of %d samples", len(theta), len(samples))
