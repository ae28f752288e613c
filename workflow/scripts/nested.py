"""Nested sampling (nautilus) of the surrogate posterior: island weights and the evidence."""

import os
from functools import partial

os.environ["OMP_NUM_THREADS"] = "1"  # before xgboost: thread contention slows per-call prediction

import numpy as np  # noqa: E402

from globalfit.config import section_kwargs  # noqa: E402
from globalfit.inference import Prior, run_nested, sample_nested  # noqa: E402
from globalfit.jsonio import write_json  # noqa: E402
from globalfit.logs import snakemake_log  # noqa: E402
from globalfit.space import ParameterSpace  # noqa: E402
from globalfit.surrogate import Surrogate  # noqa: E402

log = snakemake_log(snakemake)
inf = snakemake.params.inference
space = ParameterSpace.from_config(snakemake.params.parameters)
prior = Prior.from_config(snakemake.params.parameters, space)
surrogate = Surrogate.load(snakemake.input.bundle, backend="compiled")
result = sample_nested(
    # outside the classifier's region the likelihood is zero (the sampler's floor), not a wall χ²
    partial(
        surrogate.predict_chi2_inside,
        classifier_weighted=inf["classifier_weighted"],
        outside=np.inf,
    ),
    prior,
    seed=inf["seed"],
    logger=log,
    **section_kwargs(inf["nested"], run_nested),
)
result.posterior().write(snakemake.output.posterior)
summary = result.summary()
summary["classifier_weighted"] = inf["classifier_weighted"]
summary["prior"] = prior.describe()
write_json(snakemake.output.summary, summary)
