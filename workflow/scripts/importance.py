"""importance.json: mean |SHAP| per band, top interactions, and the ablation verdict."""

import pickle

from globalfit.explain import importance_summary, write_importance_json
from globalfit.logs import snakemake_log

log = snakemake_log(snakemake)
explanation = pickle.load(open(snakemake.input.explanation, "rb"))
ablation = pickle.load(open(snakemake.input.ablation, "rb"))
summary = importance_summary(
    explanation.regressor,
    explanation.interactions,
    ablation,
    classifier=explanation.classifier,
    top_k=snakemake.params.explain["top_k"],
)
write_importance_json(summary, snakemake.output[0])
log.info("ranking %s; %s", summary["ranking"], ablation.verdict)
