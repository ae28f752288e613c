"""importance.json: mean |SHAP| per band, top interactions, and the ablation verdict."""

from globalfit.explain import importance_summary, write_importance_json
from globalfit.explain.storage import load_result
from globalfit.logs import snakemake_log

log = snakemake_log(snakemake)
explanation = load_result(snakemake.input.explanation)
ablation = load_result(snakemake.input.ablation)
summary = importance_summary(
    explanation.regressor,
    explanation.interactions,
    ablation,
    classifier=explanation.classifier,
    top_k=snakemake.params.explain["top_k"],
)
write_importance_json(summary, snakemake.output[0])
log.info("ranking %s; %s", summary["ranking"], ablation.verdict)
