"""Per-round diagnostics of active learning."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from globalfit.plots.figures import save_figure

__all__ = ["REQUIRED_COLUMNS", "plot_diagnostics"]

REQUIRED_COLUMNS = (
    "round",
    "best_chi2_after",
    "gp_rmse",
    "frac_dchi2_below_2_3",
    "frac_dchi2_below_10",
    "delta",
    "proposal_cpu_seconds",
    "evaluation_cpu_seconds",
)


def _log_if_positive(ax, values) -> None:
    values = np.asarray(values, dtype=float)
    if np.all(values[np.isfinite(values)] > 0):
        ax.set_yscale("log")


def plot_diagnostics(df: pd.DataFrame, path: Path | str) -> Path:
    """Five panels against the round index, written to ``path`` (format from its suffix).

    df : one row per round, as built by :func:`globalfit.active_learning.diagnostics_row`; used
    columns:

    - ``round`` (int), round index;
    - ``best_chi2_after`` (float), best χ² of the dataset after adding the round's batch
      (``best_chi2_before`` of the first row, if present, is drawn at round -1 = before AL);
    - ``gp_rmse`` (float), GP out-of-sample RMSE on the batch, target units;
      ``gp_frac_within_2sd`` (float, optional), share of the batch within 2 predicted sd;
    - ``frac_dchi2_below_2_3``, ``frac_dchi2_below_10`` (float), shares of the batch with
      Δχ² < 2.3 and < 10;
    - ``delta`` (float), the EI margin δ in target units;
    - ``proposal_cpu_seconds``, ``evaluation_cpu_seconds`` (float), CPU seconds spent proposing
      the batch and evaluating it (summed over points).
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"plot_diagnostics: missing column(s) {missing}")
    if df.empty:
        raise ValueError("plot_diagnostics: the diagnostics table has no rows")
    df = df.sort_values("round")
    r = df["round"].to_numpy()

    fig = Figure(figsize=(14, 3.2))
    axes = fig.subplots(1, 5)

    ax = axes[0]
    rounds, best = r, df["best_chi2_after"].to_numpy(dtype=float)
    if "best_chi2_before" in df.columns:
        rounds = np.concatenate([[r[0] - 1], r])
        best = np.concatenate([[float(df["best_chi2_before"].iloc[0])], best])
    ax.plot(rounds, best, "o-")
    ax.set_ylabel(r"best $\chi^2$ so far")
    ax.set_title("best point")

    ax = axes[1]
    ax.plot(r, df["gp_rmse"], "o-", label="RMSE (target units)")
    if "gp_frac_within_2sd" in df.columns:
        ax.plot(r, df["gp_frac_within_2sd"], "s--", label="share within 2 sd")
    ax.set_ylim(bottom=0)
    ax.set_title("GP error on the new batch")
    ax.legend(fontsize=7)

    ax = axes[2]
    ax.plot(r, df["frac_dchi2_below_2_3"], "o-", label=r"$\Delta\chi^2 < 2.3$")
    ax.plot(r, df["frac_dchi2_below_10"], "s--", label=r"$\Delta\chi^2 < 10$")
    ax.set_ylim(0, 1.02)
    ax.set_title("share of the batch")
    ax.legend(fontsize=7)

    ax = axes[3]
    ax.plot(r, df["delta"], "o-")
    _log_if_positive(ax, df["delta"])
    ax.set_title(r"EI margin $\delta$")

    ax = axes[4]
    ax.plot(r, df["proposal_cpu_seconds"], "o-", label="proposal")
    ax.plot(r, df["evaluation_cpu_seconds"], "s--", label="evaluation")
    _log_if_positive(ax, df[["proposal_cpu_seconds", "evaluation_cpu_seconds"]].to_numpy())
    ax.set_title("CPU seconds")
    ax.legend(fontsize=7)

    posterior = r[df["method"].to_numpy() == "posterior"] if "method" in df.columns else []
    for ax in axes:
        ax.set_xlabel("round")
        ax.grid(alpha=0.3)
        for k in posterior:  # rounds drawn from a surrogate's posterior, not by the GP
            ax.axvspan(k - 0.5, k + 0.5, color="tab:orange", alpha=0.12, lw=0)
    if len(posterior):
        axes[0].text(
            0.02, 0.02, "shaded: posterior rounds", transform=axes[0].transAxes, fontsize=7
        )
    fig.tight_layout()
    out = save_figure(fig, path)
    return out
