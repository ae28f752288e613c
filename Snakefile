"""ML-assisted global fit: design -> evaluate -> active learning -> surrogate -> inference."""

from snakemake.utils import min_version, validate

min_version("9.0")


# The default fit, unless a config file is given on the command line: Snakemake would otherwise
# merge the two (nested keys such as oracle.options would mix the ALP's with another oracle's).
# `--config key=value` still overrides single keys of whichever file is used.
if not workflow.config_settings.configfiles:

    configfile: "config/config.yaml"


validate(config, "workflow/schemas/config.schema.yaml")


# the static description; workflow/rules/report.smk swaps in a finished run's landing page
report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/design.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/active_learning.smk"
include: "workflow/rules/surrogate.smk"
include: "workflow/rules/inference.smk"
include: "workflow/rules/explain.smk"
include: "workflow/rules/report.smk"


# bookkeeping rules run inside the main Snakemake process, not as cluster jobs
localrules:
    all,
    design,
    gather_round,
    dataset,
    validation_points,
    validation,
    derived_points,
    inference_summary,
    run_summary,
    importance,
    evaluation_summary,
    active_learning_diagnostics,
    surrogate_plots,
    inference_plots,
    derived_plots,
    explain_plots,
    report_pages,


rule all:
    default_target: True
    input:
        final_outputs(),
