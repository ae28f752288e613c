"""Corner plots on the thinned subset: the couplings (c_t = cuR - cqL33, fa, and the low-energy
couplings over fa from ALP-aca's running) and the ALP observables (BR(B+ -> K+ a), c tau, the
probability to escape Belle II and the invisible rate it sees)."""

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
n = len(values["c_t"])
couplings = {
    "c_t": values["c_t"],
    "log10 fa / GeV": np.log10(values["fa"]),
    **{k: values[k] for k in values if k.endswith("_over_fa_TeV")},
}
observables = {
    "log10 BR(B+ -> K+ a)": np.log10(values["br_b_to_k_a"]),
    "log10 c tau / cm": np.log10(values["ctau_cm"]),
    "P_inv (Belle II)": values["p_invisible_belle2"],
    "log10 BR x P_inv": np.log10(values["br_invisible_belle2"]),
}
for what, vals in (("couplings", couplings), ("observables", observables)):
    constant = [k for k, v in vals.items() if np.ptp(v) == 0]
    if constant:
        log.info("%s constant on every sample (shown with a nominal range): %s", what, constant)
derived_corner_plot(
    couplings, snakemake.output.couplings, title=f"derived couplings on {n} thinned samples"
)
derived_corner_plot(
    observables, snakemake.output.observables, title=f"ALP observables on {n} thinned samples"
)
