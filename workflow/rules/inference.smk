rule nested:
    input:
        bundle=f"{R}/surrogate",
    output:
        posterior=f"{R}/inference/nested.h5",
        summary=f"{R}/inference/nested.json",
    log:
        f"{R}/logs/nested.log",
    benchmark:
        f"{R}/benchmarks/nested.tsv"
    conda:
        CONDA_ENV
    resources:
        runtime=60,
    params:
        inference=INF,
        parameters=config["parameters"],
        code=script_code("nested.py"),
    script:
        "../scripts/nested.py"


rule sample:
    input:
        bundle=f"{R}/surrogate",
        dataset=f"{R}/dataset.h5",
        nested=f"{R}/inference/nested.h5",
    output:
        chain=f"{R}/inference/chain.h5",
        sampling=f"{R}/inference/sampling.json",
    log:
        f"{R}/logs/sample.log",
    benchmark:
        f"{R}/benchmarks/sample.tsv"
    conda:
        CONDA_ENV
    resources:
        runtime=60,
    params:
        inference=INF,
        parameters=config["parameters"],
        # emcee's backend outside the outputs, which Snakemake deletes when a job fails
        state_dir=f"{R}/state/inference/{config_hash('parameters', 'oracle', 'design', 'active_learning', 'surrogate', 'inference')}",
        code=script_code("sample.py"),
    script:
        "../scripts/sample.py"


rule posterior:
    input:
        nested=f"{R}/inference/nested.h5",
        nested_summary=f"{R}/inference/nested.json",
        chain=f"{R}/inference/chain.h5",
    output:
        posterior=f"{R}/inference/posterior.h5",
        summary=f"{R}/inference/posterior.json",
    log:
        f"{R}/logs/posterior.log",
    benchmark:
        f"{R}/benchmarks/posterior.tsv"
    conda:
        CONDA_ENV
    params:
        inference=INF,
        parameters=config["parameters"],
        code=script_code("posterior.py"),
    script:
        "../scripts/posterior.py"


rule frequentist:
    input:
        bundle=f"{R}/surrogate",
        dataset=f"{R}/dataset.h5",
    output:
        profiles=f"{R}/inference/profiles.h5",
        best_fit=f"{R}/inference/best_fit_surrogate.json",
        chunks=batch_chunks("confirm", "chunks"),
        check_chunks=batch_chunks("profile_check", "chunks"),
    log:
        f"{R}/logs/frequentist.log",
    benchmark:
        f"{R}/benchmarks/frequentist.tsv"
    conda:
        CONDA_ENV
    resources:
        runtime=60,
    params:
        inference=INF,
        parameters=config["parameters"],
        chunking=CHUNKING,  # the chunk files are an output: re-split when this changes
        n_confirm=N_CONFIRM,
        code=script_code("frequentist.py"),
    script:
        "../scripts/frequentist.py"


rule validation_points:
    input:
        posterior=f"{R}/inference/posterior.h5",
        bundle=f"{R}/surrogate",
    output:
        points=f"{R}/inference/validation_points.h5",
        chunks=batch_chunks("validation", "chunks"),
    log:
        f"{R}/logs/validation_points.log",
    benchmark:
        f"{R}/benchmarks/validation_points.tsv"
    conda:
        CONDA_ENV
    params:
        inference=INF,
        parameters=config["parameters"],
        chunking=CHUNKING,  # the chunk files are an output: re-split when this changes
        code=script_code("validation_points.py"),
    script:
        "../scripts/validation_points.py"


rule validation:
    input:
        points=f"{R}/inference/validation_points.h5",
        evaluated=batch_chunks("validation", "evaluated"),
        nested_summary=f"{R}/inference/nested.json",
    output:
        table=f"{R}/inference/validation.h5",
        metrics=f"{R}/inference/validation.json",
    log:
        f"{R}/logs/validation.log",
    benchmark:
        f"{R}/benchmarks/validation.tsv"
    conda:
        CONDA_ENV
    params:
        inference=INF,
        code=script_code("validation.py"),
    script:
        "../scripts/validation.py"


rule derived_points:
    input:
        f"{R}/inference/posterior.h5",
    output:
        batch_chunks("derived", "chunks"),
    log:
        f"{R}/logs/derived_points.log",
    benchmark:
        f"{R}/benchmarks/derived_points.tsv"
    conda:
        CONDA_ENV
    params:
        inference=INF,
        parameters=config["parameters"],
        chunking=CHUNKING,  # the chunk files are an output: re-split when this changes
        code=script_code("derived_points.py"),
    script:
        "../scripts/derived_points.py"


rule derived_chunk:
    input:
        f"{R}/derived/chunks/{{chunk}}.h5",
    output:
        f"{R}/derived/values/{{chunk}}.h5",
    log:
        f"{R}/logs/derived/{{chunk}}.log",
    benchmark:
        f"{R}/benchmarks/derived/{{chunk}}.tsv"
    wildcard_constraints:
        chunk=r"\d+",
    conda:
        CONDA_ENV
    resources:
        runtime=30,
    params:
        ma=config["oracle"]["options"].get("ma", 2.0),
        code=script_code("derived_chunk.py"),
    script:
        "../scripts/derived_chunk.py"


rule inference_summary:
    input:
        sampling=f"{R}/inference/sampling.json",
        posterior=f"{R}/inference/posterior.json",
        best_fit=f"{R}/inference/best_fit_surrogate.json",
        profiles=f"{R}/inference/profiles.h5",
        confirm=batch_chunks("confirm", "evaluated"),
        profile_check=batch_chunks("profile_check", "evaluated"),
        validation=f"{R}/inference/validation.json",
        derived=derived_values,
    output:
        report(
            f"{R}/inference/summary.json",
            caption="../report/inference_summary.rst",
            category="4 Inference",
            subcategory="Summary",
            labels={"file": "inference summary"},
        ),
    log:
        f"{R}/logs/inference_summary.log",
    benchmark:
        f"{R}/benchmarks/inference_summary.tsv"
    conda:
        CONDA_ENV
    params:
        inference=INF,
        parameters=config["parameters"],
        oracle=ORACLE.name,
        code=script_code("inference_summary.py"),
    script:
        "../scripts/inference_summary.py"


rule inference_plots:
    input:
        chain=f"{R}/inference/chain.h5",
        posterior=f"{R}/inference/posterior.h5",
        summary=f"{R}/inference/summary.json",
        profiles=f"{R}/inference/profiles.h5",
        validation=f"{R}/inference/validation.h5",
    output:
        corner=report(
            f"{R}/inference/plots/corner.png",
            caption="../report/corner.rst",
            category="4 Inference",
            subcategory="Posterior",
            labels={"figure": "corner", "of": "parameters"},
        ),
        trace=report(
            f"{R}/inference/plots/trace.png",
            caption="../report/trace.rst",
            category="4 Inference",
            subcategory="Sampler",
            labels={"figure": "trace", "of": "emcee chain"},
        ),
        profiles=report(
            f"{R}/inference/plots/profiles_1d.png",
            caption="../report/profiles_1d.rst",
            category="4 Inference",
            subcategory="Per parameter",
            labels={"figure": "profiles, all", "parameter": "all"},
        ),
        profile_each=report(
            directory(f"{R}/inference/plots/profiles"),
            patterns=["{parameter}.png"],
            caption="../report/profiles_1d.rst",
            category="4 Inference",
            subcategory="Per parameter",
            labels={"figure": "profile", "parameter": "{parameter}"},
        ),
        profile_2d=report(
            f"{R}/inference/plots/profile_2d.png",
            caption="../report/profile_2d.rst",
            category="4 Inference",
            subcategory="Profiles",
            labels={"figure": "2-D profile", "of": "profile_pair"},
        ),
        validation=report(
            f"{R}/inference/plots/validation_chi2.png",
            caption="../report/validation_chi2.rst",
            category="4 Inference",
            subcategory="Validation",
            labels={"figure": "true vs surrogate χ²", "of": "posterior samples"},
        ),
    log:
        f"{R}/logs/inference_plots.log",
    benchmark:
        f"{R}/benchmarks/inference_plots.tsv"
    conda:
        CONDA_ENV
    params:
        parameters=config["parameters"],
        code=script_code("inference_plots.py"),
    script:
        "../scripts/inference_plots.py"


rule derived_plots:
    input:
        derived_values,
    output:
        couplings=report(
            f"{R}/inference/plots/corner_derived.png",
            caption="../report/corner_derived.rst",
            category="4 Inference",
            subcategory="ALP observables",
            labels={"figure": "corner", "of": "couplings at mₐ"},
        ),
        observables=report(
            f"{R}/inference/plots/corner_observables.png",
            caption="../report/corner_observables.rst",
            category="4 Inference",
            subcategory="ALP observables",
            labels={"figure": "corner", "of": "observables"},
        ),
    log:
        f"{R}/logs/derived_plots.log",
    benchmark:
        f"{R}/benchmarks/derived_plots.tsv"
    conda:
        CONDA_ENV
    params:
        code=script_code("derived_plots.py"),
    script:
        "../scripts/derived_plots.py"
