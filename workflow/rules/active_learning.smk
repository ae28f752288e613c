rule propose:
    input:
        dataset=previous_dataset,
        state=previous_state,
        previous_info=previous_info,
    output:
        proposal=f"{R}/rounds/{{round}}/proposal.h5",
        chunks=[f"{R}/rounds/{{round}}/chunks/{c}.h5" for c in chunk_ids("rounds/1")],
        state=f"{R}/rounds/{{round}}/gp_state.json",
        info=f"{R}/rounds/{{round}}/proposal_info.json",
    log:
        f"{R}/logs/propose/{{round}}.log",
    benchmark:
        f"{R}/benchmarks/propose/{{round}}.tsv"
    wildcard_constraints:
        round=rounds_regex(1, N_GP_ROUNDS),
    conda:
        CONDA_ENV
    threads: config["threads"]["fit"]
    params:
        # from config, not from what Snakemake grants: same numbers with any --cores
        nthread=config["threads"]["fit"],
        active_learning=AL,
        thresholds=STOP_THRESHOLDS,
        parameters=config["parameters"],
        chunking=CHUNKING,  # the chunk files are an output: re-split when this changes
        n_rounds=N_GP_ROUNDS,
        provenance=provenance(*EVALUATION_SECTIONS),
        code=script_code("propose.py"),
    script:
        "../scripts/propose.py"


rule propose_posterior:
    input:
        dataset=previous_dataset,
        previous_info=previous_info,
    output:
        proposal=f"{R}/rounds/{{round}}/proposal.h5",
        chunks=[f"{R}/rounds/{{round}}/chunks/{c}.h5" for c in chunk_ids("rounds/1")],
        info=f"{R}/rounds/{{round}}/proposal_info.json",
    log:
        f"{R}/logs/propose/{{round}}.log",
    benchmark:
        f"{R}/benchmarks/propose/{{round}}.tsv"
    wildcard_constraints:
        round=rounds_regex(N_GP_ROUNDS + 1, N_ROUNDS),
    conda:
        CONDA_ENV
    threads: config["threads"]["fit"]
    params:
        nthread=config["threads"]["fit"],
        active_learning=AL,
        thresholds=STOP_THRESHOLDS,
        surrogate=config["surrogate"],
        parameters=config["parameters"],
        n_walkers=INF["n_walkers"],
        classifier_weighted=INF["classifier_weighted"],
        chunking=CHUNKING,  # the chunk files are an output: re-split when this changes
        provenance=provenance(*EVALUATION_SECTIONS),
        code=script_code("propose_posterior.py"),
    script:
        "../scripts/propose_posterior.py"


rule active_learning_diagnostics:
    input:
        datasets=[f"{R}/rounds/{r}/dataset.h5" for r in range(N_ROUNDS + 1)],
        infos=[f"{R}/rounds/{r}/proposal_info.json" for r in range(1, N_ROUNDS + 1)],
    output:
        table=report(
            f"{R}/active_learning/diagnostics.csv",
            caption="../report/al_diagnostics_table.rst",
            category="2 Active learning",
            subcategory="Per round",
            labels={"table": "diagnostics (CSV)", "rows": "one per round"},
        ),
        plot=report(
            f"{R}/active_learning/diagnostics.png",
            caption="../report/al_diagnostics.rst",
            category="2 Active learning",
            subcategory="Per round",
            labels={"figure": "diagnostics", "per": "round"},
        ),
        stopping=f"{R}/active_learning/stopping.json",
    log:
        f"{R}/logs/active_learning_diagnostics.log",
    benchmark:
        f"{R}/benchmarks/active_learning_diagnostics.tsv"
    conda:
        CONDA_ENV
    params:
        active_learning=AL,
        thresholds=STOP_THRESHOLDS,
        parameters=config["parameters"],
        n_rounds=(N_GP_ROUNDS, AL["posterior_rounds"]),
        code=script_code("active_learning_diagnostics.py"),
    script:
        "../scripts/active_learning_diagnostics.py"
