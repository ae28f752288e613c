"""ML-assisted global fit: design -> evaluate -> active learning -> surrogate -> inference."""

from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config/config.yaml"


validate(config, "workflow/schemas/config.schema.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/design.smk"
include: "workflow/rules/evaluate.smk"


# bookkeeping rules run inside the main Snakemake process, not as cluster jobs
localrules:
    all,
    design,
    gather_round,
    dataset,


rule all:
    default_target: True
    input:
        final_outputs(),
