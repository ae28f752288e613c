"""SHAP summary, beeswarm, dependence and waterfall plots, the interaction network and matrix,
and the ablation's posterior comparison."""

from globalfit.explain.storage import load_result
from globalfit.logs import snakemake_log
from globalfit.plots import explain as P

log = snakemake_log(snakemake)
ex = load_result(snakemake.input.explanation)
ablation = load_result(snakemake.input.ablation)
out = snakemake.output
P.plot_importance_bars(ex.regressor, out.bars)
P.plot_beeswarm(ex.regressor, out.beeswarm)
P.plot_dependence(ex.regressor, out.dependence)
P.plot_waterfall(ex.best_fit, out.waterfall)
P.plot_interaction_network(ex.interactions, out.network)
P.plot_interaction_matrix(ex.interactions, out.matrix)
P.plot_ablation(ablation, out.ablation)
log.info("plots written")
