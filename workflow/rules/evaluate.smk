# Every oracle fan-out: design and active-learning rounds (rounds/<r>), the best-fit and reference
# points (confirm), the profiles' minimisers (profile_check) and the posterior validation samples
# (validation).
rule evaluate_chunk:
    input:
        f"{R}/{{batch}}/chunks/{{chunk}}.h5",
    output:
        f"{R}/{{batch}}/evaluated/{{chunk}}.h5",
    log:
        f"{R}/logs/evaluate/{{batch}}/{{chunk}}.log",
    benchmark:
        f"{R}/benchmarks/evaluate/{{batch}}/{{chunk}}.tsv"
    wildcard_constraints:
        batch=r"rounds/\d+|validation|confirm|profile_check",
        chunk=r"\d+",
    # in the main Snakemake only: inside a SLURM job a retry would rerun on the same allocation
    retries: 0 if workflow.remote_exec else config["retries"]
    conda:
        CONDA_ENV
    threads: config["threads"]["evaluate"]
    resources:
        runtime=evaluate_runtime,
        mem_mb=2000,
    params:
        # from config, not from what Snakemake grants: same numbers with any --cores
        nthread=config["threads"]["evaluate"],
        oracle=ORACLE.identity(),
        evaluation=config["evaluation"],
        cache_dir=gfconfig.cache_dir(config),
        provenance=provenance(*EVALUATION_SECTIONS),
        code=script_code("evaluate_chunk.py"),
    script:
        "../scripts/evaluate_chunk.py"


rule gather_round:
    input:
        chunks=round_evaluated_chunks,
        previous=previous_dataset,
    output:
        f"{R}/rounds/{{round}}/dataset.h5",
    log:
        f"{R}/logs/gather/{{round}}.log",
    benchmark:
        f"{R}/benchmarks/gather_round/{{round}}.tsv"
    wildcard_constraints:
        round=r"\d+",
    conda:
        CONDA_ENV
    params:
        provenance=provenance(*EVALUATION_SECTIONS),
        max_failed_fraction=config["evaluation"]["max_failed_fraction"],
        code=script_code("gather_round.py"),
    script:
        "../scripts/gather_round.py"


rule dataset:
    input:
        f"{R}/rounds/{N_ROUNDS}/dataset.h5",
    output:
        h5=f"{R}/dataset.h5",
        csv=f"{R}/dataset.csv",
    log:
        f"{R}/logs/dataset.log",
    benchmark:
        f"{R}/benchmarks/dataset.tsv"
    conda:
        CONDA_ENV
    params:
        provenance=provenance(*EVALUATION_SECTIONS),
        code=script_code("dataset.py"),
    script:
        "../scripts/dataset.py"


rule evaluation_summary:
    input:
        f"{R}/dataset.h5",
    output:
        table=report(
            f"{R}/evaluation/summary.csv",
            caption="../report/evaluation_summary.rst",
            category="1 Evaluation",
            subcategory="Per round",
            labels={"table": "evaluations", "per": "round"},
        ),
        plot=report(
            f"{R}/evaluation/chi2_by_round.png",
            caption="../report/evaluation_plot.rst",
            category="1 Evaluation",
            subcategory="Per round",
            labels={"figure": "χ² of every point", "per": "round"},
        ),
    log:
        f"{R}/logs/evaluation_summary.log",
    benchmark:
        f"{R}/benchmarks/evaluation_summary.tsv"
    conda:
        CONDA_ENV
    params:
        code=script_code("evaluation_summary.py"),
    script:
        "../scripts/evaluation_summary.py"
