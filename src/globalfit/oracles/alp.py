"""The ALP-aca χ² of the Belle II B⁺→K⁺νν̄ fit, as in the lecture notes, made a pure function of θ.

Couplings at Λ = 4π fa in the ``derivative_above`` basis (cqL = diag(0, 0, cqL33),
clL = diag(0, 0, clL33), cuR, cdR, ceR universal), run with ``match_run(ma, 'VA_below')``, then
``get_chi2(default_sectors[sectors], ma, couplings=run, fa=fa).chi2_tot()``.

Why the ritual in :meth:`AlpOracle.setup` and :meth:`AlpOracle.__call__`: flavio draws the theory
uncertainties of meson mixing by Monte Carlo once per process, in an order that depends on string
hashing, and the first call consumes random numbers (docs/design.md). With PYTHONHASHSEED=0,
numpy and gvar seeded with 7, one warm-up point, and a reseed before every point, χ² is
bit-identical across processes, call orders and machines.
"""

from __future__ import annotations

import os
import warnings

import numpy as np

__all__ = ["AlpOracle", "SEED", "WARMUP", "sector_observables", "uv_couplings"]

SEED = 7
WARMUP = {"cqL33": 0.1, "cuR": 0.1, "cdR": 0.1, "clL33": 0.1, "ceR": 0.1, "log10_fa": 7.0}


def uv_couplings(p: dict):
    """(ALPcouplings at Λ = 4π fa in the ``derivative_above`` basis, fa) for parameters ``p``."""
    from alpaca import ALPcouplings

    fa = 10.0 ** p["log10_fa"]
    couplings = ALPcouplings(
        {
            "cqL": np.diag([0.0, 0.0, p["cqL33"]]),
            "cuR": p["cuR"],
            "cdR": p["cdR"],
            "clL": np.diag([0.0, 0.0, p["clL33"]]),
            "ceR": p["ceR"],
        },
        scale=4 * np.pi * fa,
        basis="derivative_above",
    )
    return couplings, fa


def sector_observables() -> dict[str, list[str]]:
    """{ALP-aca sector: the names of its observables, as the χ² breakdown spells them}, for
    every default sector but 'all'."""
    warnings.simplefilter("ignore")
    from alpaca.sectors import default_sectors

    return {
        name: sorted(str(o) for o in sector.observables)
        for name, sector in default_sectors.items()
        if name != "all"
    }


class AlpOracle:
    def __init__(self, names, ma: float = 2.0, sectors: str = "all"):
        self.names = tuple(names)
        self.ma = float(ma)
        self.sectors = sectors

    def setup(self):
        if os.environ.get("PYTHONHASHSEED") != "0":
            raise RuntimeError(
                "the ALP oracle must run in a process started with PYTHONHASHSEED=0 "
                "(globalfit.evaluation.worker starts such workers); refusing to return "
                "irreproducible χ²"
            )
        warnings.simplefilter("ignore")  # alpaca warns per point about kinematics; noise in logs
        import gvar
        from alpaca.sectors import default_sectors
        from alpaca.statistics import get_chi2

        if self.sectors not in default_sectors:
            raise ValueError(
                f"oracle.options.sectors: unknown sector {self.sectors!r}; known: "
                f"{sorted(default_sectors)}"
            )
        self._gvar, self._get_chi2 = gvar, get_chi2
        self._sector = default_sectors[self.sectors]
        self._reseed()
        self._chi2(WARMUP)

    def _reseed(self):
        np.random.seed(SEED)
        self._gvar.ranseed(SEED)

    def _chi2(self, p: dict):
        couplings, fa = uv_couplings(p)
        run = couplings.match_run(self.ma, "VA_below")
        result = self._get_chi2(self._sector, self.ma, couplings=run, fa=fa)
        total = float(np.asarray(result.chi2_tot()).reshape(-1)[0])
        breakdown = {
            str(c.name): float(np.asarray(c.chi2_tot()).reshape(-1)[0])
            for c in result.split_observables()
        }
        return total, breakdown

    def __call__(self, theta: np.ndarray):
        self._reseed()
        return self._chi2({n: float(v) for n, v in zip(self.names, theta, strict=True)})
