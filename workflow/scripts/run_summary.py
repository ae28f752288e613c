"""results/run_summary.json: the numbers of this run that the README quotes, with provenance."""

import json
import os
import platform
from pathlib import Path

from globalfit.evaluation import EvaluationTable
from globalfit.jsonio import read_json, write_json
from globalfit.logs import snakemake_log
from globalfit.reporting import git_commit, stage_timings
from globalfit.run_summary import run_summary

log = snakemake_log(snakemake)


def read(path):
    """A stage's summary, or None when the stage did not run (an empty input)."""
    if not path:
        return None
    return read_json(path if isinstance(path, str) else path[0])


def batch_tables(batch):
    """True evaluations of a fan-out outside the dataset, one table per evaluated chunk."""
    return [EvaluationTable.read(f) for f in snakemake.input[batch]]


summary = run_summary(
    EvaluationTable.read(snakemake.input.dataset),
    n_gp_rounds=snakemake.config["active_learning"]["rounds"],
    provenance={
        "config_name": snakemake.config["name"],
        "config_hash": snakemake.params.config_hash,
        "commit": git_commit(Path(snakemake.scriptdir)),
        "machine": f"{os.cpu_count()} cores, {platform.machine()}",
    },
    timings=stage_timings(snakemake.params.benchmarks),
    stopping=read(snakemake.input.stopping),
    batches={b: batch_tables(b) for b in ("validation", "confirm", "profile_check")},
    surrogate=read(snakemake.input.surrogate),
    inference=read(snakemake.input.inference),
    explain=read(snakemake.input.explain),
)
write_json(snakemake.output[0], summary)
log.info("%s", json.dumps(summary["timings"], indent=1))
