"""Tune, train, evaluate and compile the two-stage surrogate on the final dataset."""

from globalfit.threads import pin_threads

pin_threads(snakemake.params.nthread)

from pathlib import Path

from globalfit.evaluation import EvaluationTable
from globalfit.jsonio import read_json
from globalfit.logs import snakemake_log
from globalfit.provenance import state_key, versions
from globalfit.space import ParameterSpace
from globalfit.surrogate import train_bundle, train_kwargs_from_config

log = snakemake_log(snakemake)
data = EvaluationTable.read(snakemake.input.dataset)
space = ParameterSpace.from_config(snakemake.params.parameters)
section = dict(snakemake.params.surrogate)
if snakemake.input.oracle_features:  # the oracle's derived inputs first: the config's may use them
    section["features"] = read_json(snakemake.input.oracle_features[0])["features"] + list(
        section["features"]
    )
sur = train_bundle(
    data.theta,
    data.chi2,
    space,
    snakemake.output[0],
    ok=data.ok,
    # the optuna studies resume only on this code and these data (the oracle's values, its
    # failures and timeouts); the config sections name the folder
    study_dir=Path(snakemake.params.study_dir)
    / state_key(
        snakemake.params.code,
        [snakemake.input.dataset, *snakemake.input.oracle_features],
        extra=versions("optuna", "xgboost"),
    ),
    config_hash=snakemake.params.provenance["config_hash"],
    provenance=snakemake.params.provenance,
    nthread=snakemake.params.nthread,
    **train_kwargs_from_config(section),
)
m = sur.metrics_
log.info(
    "test MAE in region %.3f, recall test %.3f (lower95 %.3f), wall discard %.3f",
    m["test"]["mae_in_region"],
    m["classifier"]["recall_test"],
    m["classifier"]["recall_test_lower95"],
    m["classifier"]["wall_discard_rate"],
)
