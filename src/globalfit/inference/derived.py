"""Derived quantities of the ALP fit: coupling combinations, low-energy couplings and the
observables the physics is about, from ALP-aca.

After ``match_run(ma, 'VA_below')`` the couplings' ``.values`` hold ``cuV cuA cdV cdA ceV ceA cnu
cG cgamma`` (flavour matrices: 2x2 up-type, 3x3 down-type, leptons, neutrinos). We report
c_γγ = cgamma, c_μμ = ceA[1, 1] (the muon axial coupling, which drives a → μμ) and
c_bs = cdV[1, 2] (the vector s-b coupling, which drives B → K a: the axial current has no
B → K matrix element), all at μ = mₐ and real parts (the imaginary parts are CKM-suppressed),
bare and divided by fa (in TeV⁻¹: the bare ones are degenerate with fa). Observables from
ALP-aca's own functions: BR(B⁺ → K⁺ a), the total width and proper decay length cτ, the
probability that the ALP decays outside Belle II (its B⁺ → K⁺ a measurement's
``decay_probability``), and their product, the rate Belle II sees as B⁺ → K⁺ + invisible.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

__all__ = ["LOW_ENERGY", "OBSERVABLES", "alp_observables", "coupling_combinations"]

LOW_ENERGY = ("c_gamma_gamma", "c_mumu", "c_bs")
#: what :func:`alp_observables` returns, beside LOW_ENERGY
OBSERVABLES = (
    "c_gamma_gamma_over_fa_TeV",
    "c_mumu_over_fa_TeV",
    "c_bs_over_fa_TeV",
    "br_b_to_k_a",
    "ctau_cm",
    "p_invisible_belle2",
    "br_invisible_belle2",
)


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


def alp_observables(
    theta: np.ndarray, names: Sequence[str], ma: float = 2.0, log=None
) -> dict[str, np.ndarray]:
    """Low-energy ALP couplings at μ = ma and the ALP observables, per point.

    Slow (a renormalisation-group running and the hadronic widths per point, ~1.5 s; hence a
    thinned subset); deterministic.

    Parameters
    ----------
    theta : (n, d) ndarray
        ALP parameters.
    names : (d,) sequence of str
        The parameter names.
    ma : float
        The ALP mass mₐ (GeV), the scale μ of the couplings.
    log : logging.Logger, optional
        Gets a progress line per point.

    Returns
    -------
    dict of str to (n,) ndarray
        :data:`LOW_ENERGY` (real parts) and :data:`OBSERVABLES`: c/fa in TeV⁻¹,
        BR(B⁺ → K⁺ a), cτ in cm, P(decay outside Belle II) and BR × P.
    """
    warnings.simplefilter("ignore")
    import alpaca
    from alpaca.constants import hbarc_GeVnm
    from alpaca.decays.alp_decays.branching_ratios import total_decay_width
    from alpaca.experimental_data.measurements_exp import get_measurements

    from globalfit.oracles.alp import uv_couplings

    belle2 = get_measurements("B+ -> K+ a")["Belle II"]
    col = {n: i for i, n in enumerate(names)}
    out = {k: np.empty(len(theta)) for k in LOW_ENERGY + OBSERVABLES}
    for i, row in enumerate(np.atleast_2d(theta)):
        couplings, fa = uv_couplings({n: float(row[j]) for n, j in col.items()})
        run = couplings.match_run(ma, "VA_below")
        v = run.values
        low = {
            "c_gamma_gamma": np.real(v["cgamma"]),
            "c_mumu": np.real(v["ceA"][1, 1]),
            "c_bs": np.real(v["cdV"][1, 2]),
        }
        ctau_cm = 1e-7 * hbarc_GeVnm / float(total_decay_width(ma, couplings, fa)["DW_SM"])
        br = float(np.asarray(alpaca.branching_ratio("B+ -> K+ a", ma, couplings, fa)))
        p_inv = float(np.asarray(belle2.decay_probability(ctau_cm, ma)).reshape(-1)[0])
        values = {
            **low,
            **{f"{k}_over_fa_TeV": 1e3 * c / fa for k, c in low.items()},
            "br_b_to_k_a": br,
            "ctau_cm": ctau_cm,
            "p_invisible_belle2": p_inv,
            "br_invisible_belle2": br * p_inv,
        }
        for k in out:
            out[k][i] = values[k]
        if log is not None:
            log.info("ALP observables: %d/%d points", i + 1, len(theta))
    return out
