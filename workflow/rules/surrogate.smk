rule oracle_features:
    output:
        f"{R}/surrogate_inputs/oracle_features.json",
    log:
        f"{R}/logs/oracle_features.log",
    benchmark:
        f"{R}/benchmarks/oracle_features.tsv"
    # first in the queue: it needs no points, and a mass its derivation does not cover fails here
    # before any oracle call
    priority: 100
    conda:
        CONDA_ENV
    resources:
        runtime=30,
    params:
        names=config["surrogate"]["oracle_features"],
        oracle=ORACLE.identity(),
        parameters=config["parameters"],
        seed=config["surrogate"]["seed"],
        code=script_code("oracle_features.py"),
    script:
        "../scripts/oracle_features.py"


rule surrogate:
    input:
        dataset=f"{R}/dataset.h5",
        oracle_features=oracle_features_file,
    output:
        directory(f"{R}/surrogate"),
    log:
        f"{R}/logs/surrogate.log",
    benchmark:
        f"{R}/benchmarks/surrogate.tsv"
    conda:
        CONDA_ENV
    threads: config["threads"]["fit"]
    resources:
        runtime=30,
        mem_mb=4000,
    params:
        # from config, not from what Snakemake grants: same numbers with any --cores
        nthread=config["threads"]["fit"],
        surrogate=config["surrogate"],
        parameters=config["parameters"],
        # optuna studies outside the output, which Snakemake deletes when a job fails
        study_dir=f"{R}/state/surrogate/{config_hash('parameters', 'oracle', 'design', 'active_learning', 'surrogate')}",
        provenance=provenance(*EVALUATION_SECTIONS, "surrogate"),
        code=script_code("surrogate.py"),
    script:
        "../scripts/surrogate.py"


rule surrogate_plots:
    input:
        f"{R}/surrogate",
    output:
        curves=report(
            f"{R}/surrogate_plots/regressor_curves.png",
            caption="../report/surrogate_curves.rst",
            category="3 Surrogate",
            subcategory="Training",
            labels={"figure": "learning curves", "model": "regressor"},
        ),
        classifier_curves=report(
            f"{R}/surrogate_plots/classifier_curves.png",
            caption="../report/surrogate_classifier_curves.rst",
            category="3 Surrogate",
            subcategory="Training",
            labels={"figure": "learning curves", "model": "classifier"},
        ),
        predicted=report(
            f"{R}/surrogate_plots/predicted_vs_true.png",
            caption="../report/surrogate_predicted.rst",
            category="3 Surrogate",
            subcategory="Test",
            labels={"figure": "predicted vs true", "model": "both"},
        ),
        importance=report(
            directory(f"{R}/surrogate_plots/importance"),
            patterns=["{name}.png"],
            caption="../report/surrogate_importance.rst",
            category="3 Surrogate",
            subcategory="Tuning",
            labels={"figure": "optuna importance", "study": "{name}"},
        ),
        metrics=report(
            f"{R}/surrogate_plots/metrics.json",
            caption="../report/surrogate_metrics.rst",
            category="3 Surrogate",
            subcategory="Test",
            labels={"file": "metrics", "model": "both"},
        ),
    log:
        f"{R}/logs/surrogate_plots.log",
    benchmark:
        f"{R}/benchmarks/surrogate_plots.tsv"
    conda:
        CONDA_ENV
    params:
        code=script_code("surrogate_plots.py"),
    script:
        "../scripts/surrogate_plots.py"
