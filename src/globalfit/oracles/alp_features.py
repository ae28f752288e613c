"""The ALP surrogate's derived inputs, computed from ALP-aca at the configured mₐ.

The wall and the signal of the ALP fit follow a few combinations of the couplings (module
docstring of :mod:`globalfit.features`). Their coefficients depend on mₐ (running down to μ = mₐ,
α_s(mₐ), the phase space, the ALP's boost at Belle II), so they are computed here, from ALP-aca's
own functions, and written as ordinary feature expressions the surrogate compiles:

* ``c_mumu_over_fa``, ``c_bs_over_fa``, ``c_gg_over_fa``: the muon axial coupling (ALP-aca's
  ``effcoupling_ff(.., 'mu')``), the vector s-b coupling ``cdV[1, 2]`` and the effective gluon
  coupling cG + ½ Σ c_qA B₁(4 m_q²/mₐ²) of ``decay_width_2gluons``, at μ = mₐ, over fa in units
  of 10⁷ GeV. At fixed fa they are linear in the UV couplings; the coefficients vary slowly with
  fa (the running starts at 4π fa) and are quadratics in log10 fa fitted on nodes across its box.
* ``width``: Γ(a → μμ) + Γ(a → gg) in units of Γ(a → μμ) at c_μμ/fa = 1/(10⁷ GeV), the ratio of
  the two unit widths from ALP-aca. This is ALP-aca's total width wherever it takes the hadronic
  width from a → gg (mₐ > 1.4 GeV, below the charm threshold, and not where c_gg is so small
  that its exclusive channels win); the file records how well it matches at random points.
* ``br_a_mumu``, ``b_to_k_mumu`` ∝ BR(B → K a) BR(a → μμ) (the wall), and ``b_to_k_invisible``
  ∝ BR(B → K a) P(a escapes Belle II) with P = exp(−k · width), k from the Belle II measurement's
  ``decay_probability`` (exactly exponential in the width).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from globalfit.config import ALP_FEATURES, ALP_PARAMETERS

__all__ = ["FA_UNIT_LOG10", "alp_feature_definitions", "width_check"]

#: fa in the features is in units of 10**FA_UNIT_LOG10 GeV, so that c/fa is of order c.
FA_UNIT_LOG10 = 7
#: ALP-aca's total width takes the hadronic width from a → gg only above this mass (GeV)
_PERTURBATIVE_ABOVE_GEV = 1.4
_COUPLINGS = [n for n in ALP_PARAMETERS if n != "log10_fa"]


def _low_energy_coefficients(ma: float, log10_fa: float) -> dict[str, np.ndarray]:
    """{c_mumu, c_bs, c_gg: (n_couplings,) coefficients} at μ = ma for one fa (one run each)."""
    from alpaca.decays.alp_decays.gaugebosons import B1, mb, mc, md, ms, mu
    from alpaca.decays.effcouplings import effcoupling_ff

    from globalfit.oracles.alp import uv_couplings

    out = {k: np.zeros(len(_COUPLINGS)) for k in ("c_mumu", "c_bs", "c_gg")}
    for j, name in enumerate(_COUPLINGS):
        p = {n: float(n == name) for n in _COUPLINGS} | {"log10_fa": log10_fa}
        run = uv_couplings(p)[0].match_run(ma, "VA_below")
        v = run.values
        quarks = [v["cuA"][0, 0], v["cdA"][0, 0], v["cdA"][1, 1], v["cuA"][1, 1], v["cdA"][2, 2]]
        masses = [mu, md, ms, mc, mb]
        c_gg = v["cG"] + 0.5 * sum(
            c * B1(4 * m**2 / ma**2) for c, m in zip(quarks, masses, strict=True)
        )
        out["c_mumu"][j] = np.real(effcoupling_ff(ma, run, "mu"))
        out["c_bs"][j] = np.real(v["cdV"][1, 2])
        out["c_gg"][j] = np.real(c_gg)
    return out


def _unit_widths(ma: float) -> tuple[float, float]:
    """Γ(a → μμ) at c_μμ = 1 and Γ(a → gg) at c_gg = 1, for fa = 10**FA_UNIT_LOG10 GeV."""
    from alpaca import ALPcouplings
    from alpaca.decays.alp_decays.fermion_decays import decay_width_muon
    from alpaca.decays.alp_decays.gaugebosons import decay_width_2gluons

    zero2, zero3 = np.zeros((2, 2)), np.zeros((3, 3))

    def low(**set_):
        values = {"cuV": zero2, "cuA": zero2, "cdV": zero3, "cdA": zero3, "ceV": zero3}
        values |= {"ceA": zero3, "cnu": zero3, "cG": 0.0, "cgamma": 0.0} | set_
        return ALPcouplings(values, scale=ma, basis="VA_below")

    fa = 10.0**FA_UNIT_LOG10
    gamma_mumu = float(decay_width_muon(ma, low(ceA=np.diag([0.0, 1.0, 0.0])), fa))
    gamma_gg = float(decay_width_2gluons(ma, low(cG=1.0), fa))
    return gamma_mumu, gamma_gg


def _escape_exponent(ma: float, gamma_unit: float) -> float:
    """k with P(the ALP decays outside Belle II) = exp(−k · width), width in units of gamma_unit."""
    from alpaca.constants import hbarc_GeVnm
    from alpaca.experimental_data.measurements_exp import get_measurements

    belle2 = get_measurements("B+ -> K+ a")["Belle II"]
    ctau_cm = 1e-7 * hbarc_GeVnm / gamma_unit
    p = float(np.asarray(belle2.decay_probability(ctau_cm, ma)).reshape(-1)[0])
    if not 0 < p <= 1:
        raise ValueError(f"mₐ = {ma} GeV lies outside the Belle II B+ -> K+ a measurement")
    return -float(np.log(p))


def _linear_expression(poly: np.ndarray, centre: float) -> str:
    """Σ_j (a_j + b_j x + c_j x²) θ_j, x = log10_fa − centre; poly (n_couplings, 3)."""
    x = f"(log10_fa - {centre:.6g})"
    terms = [
        f"({a:.6g} + {b:.6g} * {x} + {c:.6g} * {x}**2) * {name}"
        for name, (a, b, c) in zip(_COUPLINGS, poly, strict=True)
        if np.abs([a, b, c]).max() > 0
    ]
    return f"({' + '.join(terms)}) * 10**({FA_UNIT_LOG10} - log10_fa)"


def alp_feature_definitions(
    names: Sequence[str], ma: float, log10_fa_range: tuple[float, float], n_nodes: int = 5
) -> dict:
    """Feature expressions for ``names`` (keys of :data:`globalfit.config.ALP_FEATURES`).

    Slow: one ALP-aca running per coupling and node (~2 s each); deterministic.

    Parameters
    ----------
    names : sequence of str
        The features wanted, each after the features it is built on.
    ma : float
        The ALP mass (GeV).
    log10_fa_range : (float, float)
        The box of log10 fa: the quadratics in log10 fa are fitted on ``n_nodes`` nodes across it.
    n_nodes : int
        Nodes in log10 fa (≥ 3).

    Returns
    -------
    dict
        ``features`` ([{name, expression}], ready for :class:`globalfit.features.FeatureMap`),
        ``coefficients`` (per coupling combination, the values at the centre of the fa range and
        the largest residual of the quadratic on the nodes), ``width_ratio`` (Γ_gg/Γ_μμ per unit
        coupling²), ``escape_exponent`` (k) and ``ma``.
    """
    unknown = [n for n in names if n not in ALP_FEATURES]
    if unknown:
        raise ValueError(f"unknown ALP feature(s) {unknown}; known: {list(ALP_FEATURES)}")
    if n_nodes < 3:
        raise ValueError(f"n_nodes must be at least 3 (a quadratic in log10 fa), got {n_nodes}")
    warnings.simplefilter("ignore")
    from alpaca.constants import mc

    if not _PERTURBATIVE_ABOVE_GEV < ma < 2 * mc:
        raise ValueError(
            f"oracle.options.ma = {ma} GeV: the ALP features' width (a → μμ plus a → gg) is "
            f"ALP-aca's total width only for {_PERTURBATIVE_ABOVE_GEV} < mₐ < 2 m_c = "
            f"{2 * mc:.3g} GeV; at this mass give the features as expressions (surrogate.features)"
        )
    lo, hi = map(float, log10_fa_range)
    centre = 0.5 * (lo + hi)
    nodes = np.linspace(lo, hi, n_nodes)
    per_node = [_low_energy_coefficients(ma, L) for L in nodes]
    expressions, coefficients = {}, {}
    for key in ("c_mumu", "c_bs", "c_gg"):
        values = np.array([c[key] for c in per_node])  # (n_nodes, n_couplings)
        poly = np.polynomial.polynomial.polyfit(nodes - centre, values, 2).T  # (n_couplings, 3)
        fitted = np.polynomial.polynomial.polyval(nodes - centre, poly.T).T
        coefficients[key] = {
            "at_centre": dict(zip(_COUPLINGS, poly[:, 0].tolist(), strict=True)),
            "largest_residual": float(np.abs(fitted - values).max()),
        }
        expressions[f"{key}_over_fa"] = _linear_expression(poly, centre)
    gamma_mumu, gamma_gg = _unit_widths(ma)
    ratio = gamma_gg / gamma_mumu
    k = _escape_exponent(ma, gamma_mumu)
    expressions |= {
        "width": f"c_mumu_over_fa**2 + {ratio:.6g} * c_gg_over_fa**2",
        "br_a_mumu": "c_mumu_over_fa**2 / width",
        "b_to_k_mumu": "c_bs_over_fa**2 * br_a_mumu",
        "b_to_k_invisible": f"c_bs_over_fa**2 * exp(-{k:.6g} * width)",
    }
    return {
        "ma": float(ma),
        "features": [{"name": n, "expression": expressions[n]} for n in names],
        "coefficients": coefficients,
        "width_ratio": ratio,
        "unit_width_mumu_GeV": gamma_mumu,
        "escape_exponent": k,
    }


def width_check(definitions: dict, theta: np.ndarray, names: Sequence[str]) -> dict:
    """How well the ``width`` feature matches ALP-aca's total width at points ``theta``.

    Parameters
    ----------
    definitions : dict
        What :func:`alp_feature_definitions` returned (with ``c_mumu_over_fa``, ``c_gg_over_fa``
        and ``width`` among its features).
    theta : (n, 6) ndarray
        ALP parameter points.
    names : (6,) sequence of str
        Their names.

    Returns
    -------
    dict
        ``relative_error`` of the feature's width (per point, signed) and its median and
        largest absolute value.
    """
    from alpaca.decays.alp_decays.branching_ratios import total_decay_width

    from globalfit.features import FeatureMap
    from globalfit.oracles.alp import uv_couplings

    warnings.simplefilter("ignore")
    fmap = FeatureMap(names, definitions["features"])
    X = fmap(np.atleast_2d(theta))
    width = X[:, fmap.names.index("width")] * definitions["unit_width_mumu_GeV"]
    err = []
    for row, w in zip(np.atleast_2d(theta), width, strict=True):
        couplings, fa = uv_couplings(dict(zip(names, map(float, row), strict=True)))
        true = float(total_decay_width(definitions["ma"], couplings, fa)["DW_SM"])
        err.append(w / true - 1)  # w already carries the (10**FA_UNIT_LOG10 / fa)**2
    err = np.array(err)
    return {
        "relative_error": err.tolist(),
        "median_abs": float(np.median(np.abs(err))),
        "largest_abs": float(np.abs(err).max()),
    }
