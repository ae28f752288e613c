rule run_summary:
    input:
        dataset=f"{R}/dataset.h5",
        stopping=[f"{R}/active_learning/stopping.json"] if N_ROUNDS else [],
        surrogate=f"{R}/surrogate_plots/metrics.json",
        inference=f"{R}/inference/summary.json",
        explain=explain_outputs,
        plots=plot_outputs,
        # true evaluations outside the dataset, counted into oracle_calls
        validation=batch_chunks("validation", "evaluated"),
        confirm=batch_chunks("confirm", "evaluated"),
        profile_check=batch_chunks("profile_check", "evaluated"),
    output:
        report(
            f"{R}/run_summary.json",
            caption="../report/run_summary.rst",
            category="0 Summary",
            subcategory="Files",
            labels={"file": "run_summary.json"},
        ),
    log:
        f"{R}/logs/run_summary.log",
    conda:
        CONDA_ENV
    params:
        config_hash=RUN_SUMMARY_HASH,
        benchmarks=f"{R}/benchmarks",
        code=script_code("run_summary.py"),
    script:
        "../scripts/run_summary.py"


rule report_pages:
    input:
        summary=f"{R}/run_summary.json",
        corner=f"{R}/inference/plots/corner.png",
        diagnostics=f"{R}/active_learning/diagnostics.csv",
    output:
        landing=LANDING,
        summary=report(
            f"{R}/report/run_summary.html",
            caption="../report/run_summary_table.rst",
            category="0 Summary",
            subcategory="Tables",
            labels={"table": "run summary", "rows": "every number of the run"},
        ),
        diagnostics=report(
            f"{R}/report/al_diagnostics.html",
            caption="../report/al_diagnostics_table.rst",
            category="2 Active learning",
            subcategory="Per round",
            labels={"table": "diagnostics", "rows": "one per round"},
        ),
    log:
        f"{R}/logs/report_pages.log",
    conda:
        CONDA_ENV
    params:
        parameters=[p["name"] for p in config["parameters"]],
        code=script_code("report_pages.py"),
    script:
        "../scripts/report_pages.py"


# The report opens on the answer once a run has written its landing page (`snakemake --report`
# comes after the run); before that, on the static description. Not when this workflow is a
# module of one that declares its own report description.
if landing_is_current() and not workflow.modifier.skip_global_report_caption:
    workflow.report_text = LocalSourceFile(str(Path(LANDING).resolve()))
