"""Plots of the evaluated dataset."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from globalfit.levels import HIT, REGION
from globalfit.plots.figures import save_figure

__all__ = ["plot_chi2_by_round"]


def plot_chi2_by_round(
    chi2: np.ndarray, rounds: np.ndarray, ok: np.ndarray, path: Path | str
) -> Path:
    """Histogram of log10 Δχ² per round (round 0 = Latin hypercube) and best χ² so far.

    chi2, rounds, ok : (n,) arrays of the dataset.
    """
    best = np.min(chi2[ok])
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4))
    bins = np.linspace(-2, np.log10(max(np.max(chi2[ok]) - best, 1.0)) + 0.1, 40)
    for r in np.unique(rounds):
        sel = ok & (rounds == r)
        if not sel.any():
            continue
        label = "design" if r == 0 else f"round {r}"
        ax.hist(
            np.log10(np.maximum(chi2[sel] - best, 1e-2)), bins=bins, histtype="step", label=label
        )
    for edge in (HIT, REGION):
        ax.axvline(np.log10(edge), color="grey", ls=":", lw=1)
    ax.set_xlabel(r"$\log_{10}\,\Delta\chi^2$ (to the best point)")
    ax.set_ylabel("points")
    ax.legend(fontsize=7, ncol=2)
    order = np.argsort(rounds, kind="stable")
    running = np.minimum.accumulate(np.where(ok, chi2, np.inf)[order])
    bx.plot(np.arange(1, len(order) + 1), running)
    bx.set_xlabel("evaluations (design, then rounds)")
    bx.set_ylabel(r"best $\chi^2$ so far")
    bx.set_yscale("log")
    fig.tight_layout()
    out = save_figure(fig, path)
    plt.close(fig)
    return out
