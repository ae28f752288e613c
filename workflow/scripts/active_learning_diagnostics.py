"""Per-round diagnostics of active learning: one row per round, with the check of its batch that
the adaptive stopping used, their plot, and why the loop stopped."""

import json

import numpy as np
import pandas as pd

from globalfit.active_learning import diagnostics_row
from globalfit.active_learning.stopping import plan_next_round, stop_columns, stop_reason
from globalfit.evaluation import EvaluationTable
from globalfit.jsonio import write_json
from globalfit.logs import snakemake_log
from globalfit.plots.active_learning import plot_diagnostics
from globalfit.space import ParameterSpace

log = snakemake_log(snakemake)
datasets = [EvaluationTable.read(p) for p in snakemake.input.datasets]
infos = [json.load(open(p)) for p in snakemake.input.infos]
n_gp, n_posterior = snakemake.params.n_rounds


def best(table):
    return float(np.min(table.chi2[table.ok])) if table.ok.any() else float("nan")


# the last round's batch is checked here, as the next round's proposer would have
final = plan_next_round(
    "gp" if len(infos) <= n_gp else "posterior",
    len(infos) + 1,
    datasets[-1],
    infos[-1],
    space=ParameterSpace.from_config(snakemake.params.parameters),
    settings=snakemake.params.active_learning,
    **snakemake.params.thresholds,
)
rows = []
for r, info in enumerate(infos, start=1):
    now, before = datasets[r], datasets[r - 1]
    batch = now.round == r
    row = diagnostics_row(
        info,
        now.chi2[batch],
        ok_batch=now.ok[batch],
        best_before=best(before),
        best_after=best(now),
        evaluation_cpu_seconds=float(np.nansum(now.cpu_seconds[batch])),
    )
    rows.append({**row, **stop_columns(final, r)})
table = pd.DataFrame(rows)
table["round"] = range(1, len(rows) + 1)  # workflow round r proposes from rounds 0..r-1
table.to_csv(snakemake.output.table, index=False)
plot_diagnostics(table, snakemake.output.plot)
reason = stop_reason(final, n_gp, n_posterior)
write_json(snakemake.output.stopping, {"stop_reason": reason, **final})
log.info("\n%s\n%s", table.to_string(), reason)
