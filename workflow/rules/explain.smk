rule explain:
    input:
        bundle=f"{R}/surrogate",
        summary=f"{R}/inference/summary.json",
    output:
        f"{R}/explain/explanation.h5",
    log:
        f"{R}/logs/explain.log",
    benchmark:
        f"{R}/benchmarks/explain.tsv"
    conda:
        CONDA_ENV
    threads: config["threads"]["fit"]
    params:
        # from config, not from what Snakemake grants: same numbers with any --cores
        nthread=config["threads"]["fit"],
        explain=config["explain"],
        code=script_code("explain.py"),
    script:
        "../scripts/explain.py"


rule ablation:
    input:
        bundle=f"{R}/surrogate",
        dataset=f"{R}/dataset.h5",
        explanation=f"{R}/explain/explanation.h5",
    output:
        f"{R}/explain/ablation.h5",
    log:
        f"{R}/logs/ablation.log",
    benchmark:
        f"{R}/benchmarks/ablation.tsv"
    conda:
        CONDA_ENV
    threads: config["threads"]["fit"]
    resources:
        runtime=30,
    params:
        # from config, not from what Snakemake grants: same numbers with any --cores
        nthread=config["threads"]["fit"],
        explain=config["explain"],
        surrogate=config["surrogate"],
        inference=INF,
        parameters=config["parameters"],
        workdir=f"{R}/state/ablation/{config_hash('parameters', 'oracle', 'design', 'active_learning', 'surrogate', 'explain')}",
        code=script_code("ablation.py"),
    script:
        "../scripts/ablation.py"


rule importance:
    input:
        explanation=f"{R}/explain/explanation.h5",
        ablation=f"{R}/explain/ablation.h5",
    output:
        report(
            f"{R}/explain/importance.json",
            caption="../report/importance.rst",
            category="5 Explanation",
            subcategory="Importance",
            labels={"file": "Shapley importance", "per": "parameter"},
        ),
    log:
        f"{R}/logs/importance.log",
    benchmark:
        f"{R}/benchmarks/explain_importance.tsv"
    conda:
        CONDA_ENV
    params:
        explain=config["explain"],
        code=script_code("importance.py"),
    script:
        "../scripts/importance.py"


rule explain_plots:
    input:
        explanation=f"{R}/explain/explanation.h5",
        ablation=f"{R}/explain/ablation.h5",
    output:
        bars=report(
            f"{R}/explain/plots/importance_bars.png",
            caption="../report/shap_bars.rst",
            category="5 Explanation",
            subcategory="Per band",
            labels={"figure": "mean |SHAP|", "per": "Δχ² band"},
        ),
        beeswarm=report(
            f"{R}/explain/plots/beeswarm.png",
            caption="../report/shap_beeswarm.rst",
            category="5 Explanation",
            subcategory="Per band",
            labels={"figure": "beeswarm", "per": "Δχ² band"},
        ),
        dependence=report(
            f"{R}/explain/plots/dependence.png",
            caption="../report/shap_dependence.rst",
            category="5 Explanation",
            subcategory="Per parameter",
            labels={"figure": "SHAP dependence", "per": "parameter"},
        ),
        waterfall=report(
            f"{R}/explain/plots/waterfall_best_fit.png",
            caption="../report/shap_waterfall.rst",
            category="5 Explanation",
            subcategory="Best fit",
            labels={"figure": "waterfall", "point": "best fit"},
        ),
        network=report(
            f"{R}/explain/plots/interaction_network.png",
            caption="../report/shapiq_network.rst",
            category="5 Explanation",
            subcategory="Interactions",
            labels={"figure": "network", "order": "pairs"},
        ),
        matrix=report(
            f"{R}/explain/plots/interaction_matrix.png",
            caption="../report/shapiq_matrix.rst",
            category="5 Explanation",
            subcategory="Interactions",
            labels={"figure": "matrix", "order": "pairs"},
        ),
        ablation=report(
            f"{R}/explain/plots/ablation.png",
            caption="../report/ablation.rst",
            category="5 Explanation",
            subcategory="Ablation",
            labels={
                "figure": "ablation",
                "model": "least important parameter dropped",
            },
        ),
    log:
        f"{R}/logs/explain_plots.log",
    benchmark:
        f"{R}/benchmarks/explain_plots.tsv"
    conda:
        CONDA_ENV
    params:
        code=script_code("explain_plots.py"),
    script:
        "../scripts/explain_plots.py"
