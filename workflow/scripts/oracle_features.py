"""The ALP surrogate's derived inputs from ALP-aca at the configured mₐ, and how well their width
matches ALP-aca's total width at a few random points of the box."""

import numpy as np

from globalfit.jsonio import write_json
from globalfit.logs import snakemake_log
from globalfit.oracles.alp_features import alp_feature_definitions, width_check
from globalfit.space import ParameterSpace

N_WIDTH_CHECKS = 4  # ALP-aca's total width takes ~10 s a point (three-body integrals)

log = snakemake_log(snakemake)
space = ParameterSpace.from_config(snakemake.params.parameters)
ma = snakemake.params.oracle["options"].get("ma", 2.0)
fa = space.names.index("log10_fa")
definitions = alp_feature_definitions(
    snakemake.params.names, ma, (space.lower[fa], space.upper[fa])
)
if "width" in snakemake.params.names:
    u = np.random.default_rng(snakemake.params.seed).uniform(size=(N_WIDTH_CHECKS, space.dim))
    definitions["width_check"] = width_check(definitions, space.from_unit(u), space.names)
    log.info(
        "width against ALP-aca's total width: median |relative error| %.3g, largest %.3g",
        definitions["width_check"]["median_abs"],
        definitions["width_check"]["largest_abs"],
    )
for f in definitions["features"]:
    log.info("%s = %s", f["name"], f["expression"])
write_json(snakemake.output[0], definitions)
