"""Status counts and oracle time per round, and the χ² distribution of the dataset."""

import numpy as np
import pandas as pd

from globalfit.evaluation import STATUSES, EvaluationTable
from globalfit.logs import snakemake_log
from globalfit.plots.evaluation import plot_chi2_by_round

log = snakemake_log(snakemake)
data = EvaluationTable.read(snakemake.input[0])
rows = []
for r in np.unique(data.round):
    sel = data.round == r
    ok = sel & data.ok
    rows.append(
        {
            "round": int(r),
            "points": int(sel.sum()),
            **{s: int(np.sum(data.status[sel] == s)) for s in STATUSES},
            "best_chi2": float(data.chi2[ok].min()) if ok.any() else float("nan"),
            "oracle_cpu_seconds": float(np.nansum(data.cpu_seconds[sel])),
            "mean_seconds_per_point": float(np.nanmean(data.seconds[sel])),
        }
    )
table = pd.DataFrame(rows)
table.to_csv(snakemake.output.table, index=False)
plot_chi2_by_round(data.chi2, data.round, data.ok, snakemake.output.plot)
log.info("\n%s", table.to_string())
