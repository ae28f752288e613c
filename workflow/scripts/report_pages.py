"""The report's own pages: the landing page (the answer, from run_summary.json) and the run
summary and per-round diagnostics as tables."""

from pathlib import Path

import pandas as pd

from globalfit.jsonio import read_json
from globalfit.landing import flat_summary, html_table, render_landing
from globalfit.logs import snakemake_log

log = snakemake_log(snakemake)
summary = read_json(snakemake.input.summary)
text = render_landing(
    summary, list(snakemake.params.parameters), Path(snakemake.input.corner).read_bytes()
)
Path(snakemake.output.landing).write_text(text)
Path(snakemake.output.summary).write_text(html_table(flat_summary(summary), "Run summary"))
diagnostics = pd.read_csv(snakemake.input.diagnostics)
Path(snakemake.output.diagnostics).write_text(
    html_table(diagnostics, "Active learning, one row per round")
)
log.info("landing page: %d characters", len(text))
