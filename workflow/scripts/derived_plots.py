"""Corner plot of derived quantities on the thinned subset: c_t = cuR - cqL33, fa and the
low-energy couplings c_γγ, c_μμ(mₐ), c_bs(mₐ) from ALP-aca's running."""

import h5py
import numpy as np

from globalfit.inference import coupling_combinations
from globalfit.logs import snakemake_log
from globalfit.plots.inference import derived_corner_plot

log = snakemake_log(snakemake)
parts = {}
for path in snakemake.input:
    with h5py.File(path, "r") as f:
        names = [str(n) for n in f["theta"].attrs["names"]]
        for k, v in coupling_combinations(f["theta"][()], names).items():
            parts.setdefault(k, []).append(v)
        for k in f:
            if k != "theta":
                parts.setdefault(k, []).append(f[k][()])
values = {k: np.concatenate(v) for k, v in parts.items()}
constant = [k for k, v in values.items() if np.ptp(v) == 0]
if constant:
    log.info("constant on every sample (shown with a nominal range): %s", constant)
derived_corner_plot(
    values, snakemake.output[0], title=f"derived quantities on {len(values['c_t'])} thinned samples"
)
