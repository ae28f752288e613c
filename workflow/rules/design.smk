rule design:
    output:
        proposal=f"{R}/rounds/0/proposal.h5",
        chunks=batch_chunks("rounds/0", "chunks"),
    log:
        f"{R}/logs/design.log",
    benchmark:
        f"{R}/benchmarks/design.tsv"
    conda:
        CONDA_ENV
    params:
        design=config["design"],
        parameters=config["parameters"],
        chunking=CHUNKING,  # the chunk files are an output: re-split when this changes
        provenance=provenance("parameters", "design"),
        code=script_code("design.py"),
    script:
        "../scripts/design.py"
