rule run_summary:
    input:
        dataset=f"{R}/dataset.h5",
        surrogate=f"{R}/surrogate_plots/metrics.json",
        inference=f"{R}/inference/summary.json",
        explain=explain_outputs,
        plots=plot_outputs,
    output:
        report(
            f"{R}/run_summary.json",
            caption="../report/run_summary.rst",
            category="0 Summary",
        ),
    log:
        f"{R}/logs/run_summary.log",
    conda:
        CONDA_ENV
    params:
        config_hash=config_hash(*EVALUATION_SECTIONS, "surrogate", "inference"),
        benchmarks=f"{R}/benchmarks",
        code=script_code("run_summary.py"),
    script:
        "../scripts/run_summary.py"
