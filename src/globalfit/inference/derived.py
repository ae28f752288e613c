"""Derived quantities of the ALP fit: coupling combinations and low-energy couplings from ALP-aca.

After ``match_run(ma, 'VA_below')`` the couplings' ``.values`` hold ``cuV cuA cdV cdA ceV ceA cnu
cG cgamma`` (flavour matrices: 2x2 up-type, 3x3 down-type, leptons, neutrinos). We report
c_γγ = cgamma, c_μμ = ceA[1, 1] (the muon axial coupling, which drives a → μμ) and
c_bs = cdV[1, 2] (the vector s-b coupling, which drives B → K a: the axial current has no
B → K matrix element), all at μ = mₐ and real parts (the imaginary parts are CKM-suppressed).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

__all__ = ["LOW_ENERGY", "alp_low_energy_couplings", "coupling_combinations"]

LOW_ENERGY = ("c_gamma_gamma", "c_mumu", "c_bs")


def coupling_combinations(theta: np.ndarray, names: Sequence[str]) -> dict[str, np.ndarray]:
    """Coupling combinations c_t = cuR - cqL33 and fa = 10**log10_fa, where their inputs exist.

    Parameters
    ----------
    theta : (n, d) ndarray
        The points.
    names : (d,) sequence of str
        The parameter names.

    Returns
    -------
    dict of str to (n,) ndarray
        ``c_t`` and/or ``fa``.
    """
    col = {n: i for i, n in enumerate(names)}
    out = {}
    if {"cuR", "cqL33"} <= set(col):
        out["c_t"] = theta[:, col["cuR"]] - theta[:, col["cqL33"]]
    if "log10_fa" in col:
        out["fa"] = 10.0 ** theta[:, col["log10_fa"]]
    return out


def alp_low_energy_couplings(
    theta: np.ndarray, names: Sequence[str], ma: float = 2.0, log=None
) -> dict[str, np.ndarray]:
    """Low-energy ALP couplings {c_gamma_gamma, c_mumu, c_bs} at μ = ma.

    Slow (a renormalisation-group running per point, hence :func:`thinned_subset`);
    deterministic.

    Parameters
    ----------
    theta : (n, d) ndarray
        ALP parameters.
    names : (d,) sequence of str
        The parameter names.
    ma : float
        The ALP mass mₐ, the scale μ of the couplings.
    log : logging.Logger, optional
        Gets a progress line per point.

    Returns
    -------
    dict of str to (n,) ndarray
        The three couplings (real parts).
    """
    warnings.simplefilter("ignore")
    from globalfit.oracles.alp import uv_couplings

    col = {n: i for i, n in enumerate(names)}
    out = {k: np.empty(len(theta)) for k in LOW_ENERGY}
    for i, row in enumerate(np.atleast_2d(theta)):
        couplings, _ = uv_couplings({n: float(row[j]) for n, j in col.items()})
        v = couplings.match_run(ma, "VA_below").values
        out["c_gamma_gamma"][i] = np.real(v["cgamma"])
        out["c_mumu"][i] = np.real(v["ceA"][1, 1])
        out["c_bs"][i] = np.real(v["cdV"][1, 2])
        if log is not None:
            log.info("derived couplings: %d/%d points", i + 1, len(theta))
    return out
