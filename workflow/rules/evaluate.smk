rule evaluate_chunk:
    input:
        f"{R}/rounds/{{round}}/chunks/{{chunk}}.h5",
    output:
        f"{R}/rounds/{{round}}/evaluated/{{chunk}}.h5",
    log:
        f"{R}/logs/evaluate/{{round}}_{{chunk}}.log",
    benchmark:
        f"{R}/benchmarks/evaluate/{{round}}_{{chunk}}.tsv"
    wildcard_constraints:
        round=r"\d+",
        chunk=r"\d+",
    conda:
        CONDA_ENV
    threads: config["threads"]["evaluate"]
    resources:
        runtime=evaluate_runtime,
        mem_mb=2000,
    params:
        oracle=ORACLE.identity(),
        evaluation=config["evaluation"],
        cache_dir=gfconfig.cache_dir(config),
        provenance=provenance(*EVALUATION_SECTIONS),
        code=module_hash("evaluation.py", "store.py"),
    script:
        "../scripts/evaluate_chunk.py"


rule gather_round:
    input:
        chunks=evaluated_chunks,
        previous=previous_dataset,
    output:
        f"{R}/rounds/{{round}}/dataset.h5",
    log:
        f"{R}/logs/gather/{{round}}.log",
    wildcard_constraints:
        round=r"\d+",
    conda:
        CONDA_ENV
    params:
        provenance=provenance(*EVALUATION_SECTIONS),
        code=module_hash("store.py"),
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
    conda:
        CONDA_ENV
    params:
        provenance=provenance(*EVALUATION_SECTIONS),
        code=module_hash("store.py"),
    script:
        "../scripts/dataset.py"
