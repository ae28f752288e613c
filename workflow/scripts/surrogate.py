"""Tune, train, evaluate and compile the two-stage surrogate on the final dataset."""

import os

from globalfit.evaluation import EvaluationTable
from globalfit.logs import snakemake_log
from globalfit.space import ParameterSpace
from globalfit.surrogate import train_bundle, train_kwargs_from_config

log = snakemake_log(snakemake)
os.environ["OMP_NUM_THREADS"] = str(snakemake.params.nthread)
data = EvaluationTable.read(snakemake.input[0])
space = ParameterSpace.from_config(snakemake.params.parameters)
sur = train_bundle(
    data.theta,
    data.chi2,
    space,
    snakemake.output[0],
    ok=data.ok,
    study_dir=snakemake.params.study_dir,
    config_hash=snakemake.params.provenance["config_hash"],
    provenance=snakemake.params.provenance,
    nthread=snakemake.params.nthread,
    **train_kwargs_from_config(snakemake.params.surrogate),
)
m = sur.metrics_
log.info(
    "test MAE in region %.3f, recall test %.3f (lower95 %.3f), wall discard %.3f",
    m["test"]["mae_in_region"],
    m["classifier"]["recall_test"],
    m["classifier"]["recall_test_lower95"],
    m["classifier"]["wall_discard_rate"],
)
