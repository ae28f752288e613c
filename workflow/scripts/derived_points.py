"""Equal-weight draws of the reported posterior for the (slow) low-energy couplings, in chunks."""

from globalfit.evaluation import write_batch
from globalfit.inference import Posterior
from globalfit.logs import snakemake_log

log = snakemake_log(snakemake)
inf = snakemake.params.inference
posterior = Posterior.read(snakemake.input[0])
theta = posterior.equal_weight(inf["derived_samples"], seed=inf["seed"] + 2)
write_batch(None, list(snakemake.output), theta, posterior.names)
log.info("%d draws of %d weighted samples", len(theta), len(posterior.samples))
