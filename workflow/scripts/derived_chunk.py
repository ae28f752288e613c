"""One chunk of ALP-aca: low-energy couplings, BR(B+ -> K+ a), c tau, Belle II invisible rate."""

import h5py

from globalfit.evaluation import read_points
from globalfit.inference import alp_observables
from globalfit.logs import snakemake_log

log = snakemake_log(snakemake)
theta, names, _ = read_points(snakemake.input[0])
values = alp_observables(theta, names, snakemake.params.ma, log=log)
with h5py.File(snakemake.output[0], "w") as f:
    f["theta"] = theta
    f["theta"].attrs["names"] = list(names)
    for k, v in values.items():
        f[k] = v
