"""Per-round diagnostics of active learning: one row per round, and their plot."""

import json

import numpy as np
import pandas as pd

from globalfit.active_learning import diagnostics_row
from globalfit.evaluation import EvaluationTable
from globalfit.logs import snakemake_log
from globalfit.plots.active_learning import plot_diagnostics

log = snakemake_log(snakemake)
datasets = [EvaluationTable.read(p) for p in snakemake.input.datasets]


def best(table):
    return float(np.min(table.chi2[table.ok])) if table.ok.any() else float("nan")


rows = []
for r, info_path in enumerate(snakemake.input.infos, start=1):
    info = json.load(open(info_path))
    now, before = datasets[r], datasets[r - 1]
    batch = now.round == r
    rows.append(
        diagnostics_row(
            info,
            now.chi2[batch],
            ok_batch=now.ok[batch],
            best_before=best(before),
            best_after=best(now),
            evaluation_cpu_seconds=float(np.nansum(now.cpu_seconds[batch])),
        )
    )
table = pd.DataFrame(rows)
table["round"] = range(1, len(rows) + 1)  # workflow round r proposes from rounds 0..r-1
table.to_csv(snakemake.output.table, index=False)
plot_diagnostics(table, snakemake.output.plot)
log.info("\n%s", table.to_string())
