"""SHAP of the surrogate by Δχ² band, at the best fit, and pairwise k-SII interactions."""

from globalfit.threads import pin_threads

pin_threads(1)

import json

import numpy as np

from globalfit.explain import explain_surrogate, points_from_bundle
from globalfit.explain.storage import save_result
from globalfit.logs import snakemake_log
from globalfit.surrogate import Surrogate

log = snakemake_log(snakemake)
ex = snakemake.params.explain
surrogate = Surrogate.load(
    snakemake.input.bundle, backend="xgboost", nthread=snakemake.params.nthread
)
theta, delta, names = points_from_bundle(snakemake.input.bundle)
best = json.load(open(snakemake.input.summary))["best_fit"]["theta"]
explanation = explain_surrogate(
    surrogate,
    theta,
    delta,
    theta_best=np.array([best[n] for n in names]),
    edges=ex["band_edges"],
    n_interaction_points=ex["n_interaction_points"],
    seed=ex["seed"],
    nthread=snakemake.params.nthread,
    backend=ex["backend"],
)
save_result(snakemake.output[0], explanation)
log.info("ranking: %s", explanation.regressor.ranking())
