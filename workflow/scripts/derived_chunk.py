"""Low-energy couplings (c_γγ, c_μμ, c_bs at mₐ) from ALP-aca's running for one chunk."""

import h5py

from globalfit.evaluation import read_points
from globalfit.inference import alp_low_energy_couplings
from globalfit.logs import snakemake_log

log = snakemake_log(snakemake)
theta, names, _ = read_points(snakemake.input[0])
values = alp_low_energy_couplings(theta, names, snakemake.params.ma, log=log)
with h5py.File(snakemake.output[0], "w") as f:
    f["theta"] = theta
    f["theta"].attrs["names"] = list(names)
    for k, v in values.items():
        f[k] = v
