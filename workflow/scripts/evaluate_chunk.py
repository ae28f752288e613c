"""One evaluation job: the chunk's points through the cache and the oracle, in one worker
process."""

from globalfit.evaluation import EvaluationCache, batch_round, evaluate_points, read_points
from globalfit.logs import snakemake_log
from globalfit.oracles import OracleSpec

log = snakemake_log(snakemake)
theta, names, _ = read_points(snakemake.input[0])
spec = OracleSpec.from_config(snakemake.config)
settings = snakemake.params.evaluation
cache = EvaluationCache(snakemake.params.cache_dir, spec.identity_hash(), spec.identity())
table = evaluate_points(
    theta,
    spec,
    cache=cache,
    timeout=settings["timeout"],
    setup_timeout=settings["setup_timeout"],
    jobs=snakemake.params.nthread,
    round_index=batch_round(snakemake.wildcards.batch),
    label=f"{snakemake.wildcards.batch} chunk {snakemake.wildcards.chunk}",
)
table.write(snakemake.output[0], attrs=snakemake.params.provenance)
log.info("done: %s", table.status_counts())
