"""Learning curves, hyperparameter importances and predicted-vs-true χ² of the surrogate bundle."""

import shutil
from pathlib import Path

from globalfit.logs import snakemake_log
from globalfit.plots.surrogate import plot_bundle

log = snakemake_log(snakemake)
out = Path(snakemake.output.curves).parent
paths = plot_bundle(snakemake.input[0], out)
importance = Path(snakemake.output.importance)
importance.mkdir(parents=True, exist_ok=True)
for p in paths:
    if p.name.endswith("_importance.png"):
        p.rename(importance / p.name)
shutil.copy(Path(snakemake.input[0]) / "metrics.json", snakemake.output.metrics)
log.info("plots: %s", [str(p) for p in paths])
