"""Drop the least important parameter (by its importance through the features built on it), fix
it at the reference point (or, without one, at the best evaluated point), retrain with the same
tuning budget, resample to 50 tau, compare."""

from globalfit.threads import pin_threads

pin_threads(1)

from pathlib import Path

from globalfit.evaluation import EvaluationTable
from globalfit.explain import emcee_sampler, parameter_importance, retuning_fitter, run_ablation
from globalfit.explain.storage import load_result, save_result
from globalfit.inference import Prior
from globalfit.logs import snakemake_log
from globalfit.provenance import state_key, versions
from globalfit.space import ParameterSpace
from globalfit.surrogate import Surrogate, train_kwargs_from_config

log = snakemake_log(snakemake)
ex, inf = snakemake.params.explain, snakemake.params.inference
space = ParameterSpace.from_config(snakemake.params.parameters)
data = EvaluationTable.read(snakemake.input.dataset)
explanation = load_result(snakemake.input.explanation)
full = Surrogate.load(snakemake.input.bundle, backend="xgboost", nthread=snakemake.params.nthread)
features = full.features  # as trained: the oracle's derived inputs and the config's
best = data.best(1)[0]
reference = inf["reference_point"] or dict(zip(space.names, map(float, best), strict=True))
importance = parameter_importance(
    full,
    explanation.regressor.theta[:, : space.dim],  # the in-region points the explain stage used
    space.names,
    seed=ex["seed"],
    nthread=snakemake.params.nthread,
)
log.info("importance through the features: %s", importance)
fit = retuning_fitter(
    data.theta,
    data.chi2,
    space,
    # resumed only on this code, these data and this explanation; config sections name the folder
    Path(snakemake.params.workdir)
    / state_key(
        snakemake.params.code,
        [snakemake.input.dataset, snakemake.input.explanation],
        extra=versions("optuna", "xgboost", "emcee"),
    ),
    reference=reference,
    ok=data.ok,
    nthread=snakemake.params.nthread,
    **train_kwargs_from_config({**snakemake.params.surrogate, "features": features}),
)
sample = emcee_sampler(
    Prior.from_config(snakemake.params.parameters, space),
    data.best(inf["n_starts"]),
    n_walkers=ex["ablation_walkers"],
    n_steps=ex["ablation_steps"],
    seed=ex["seed"],
    moves=inf["moves"],
    classifier_weighted=inf["classifier_weighted"],
)
result = run_ablation(
    importance,
    space.names,
    fit=fit,
    sample=sample,
    reference=reference,
    features=features,
    full=(full, float(full.metrics_["test"]["mae_in_region"])),
)
save_result(snakemake.output[0], result)
log.info("%s", result.verdict)
