"""Plots of the surrogate stage: learning curves, parameter importances, the depth × learning-rate
exercise, predicted vs true χ².

Figures are built with ``matplotlib.figure.Figure`` (no pyplot global state, no GUI backend), so
these functions are safe in Snakemake jobs and threads. Each writes one file and returns its path.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from globalfit.plots.figures import save_figure
from globalfit.surrogate.model import Surrogate

__all__ = [
    "plot_bundle",
    "plot_hyperparameter_grid",
    "plot_learning_curves",
    "plot_param_importances",
    "plot_predicted_vs_true",
]


def plot_learning_curves(
    curves: pd.DataFrame,
    path: Path | str,
    *,
    title: str = "regressor",
    best_iteration: int | None = None,
) -> Path:
    """curves : DataFrame with ``iteration`` and ``train_<metric>`` / ``validation_<metric>``
    columns (``*_curves.csv`` of a bundle). One panel per metric, log-scaled y axis."""
    metrics = sorted({c.split("_", 1)[1] for c in curves.columns if c.startswith("train_")})
    if not metrics:
        raise ValueError(f"curves have no train_<metric> columns: {list(curves.columns)}")
    fig = Figure(figsize=(4.2 * len(metrics), 3.4))
    axes = fig.subplots(1, len(metrics), squeeze=False)[0]
    for ax, m in zip(axes, metrics, strict=False):
        ax.plot(curves["iteration"], curves[f"train_{m}"], label="train")
        if f"validation_{m}" in curves:
            ax.plot(curves["iteration"], curves[f"validation_{m}"], label="validation")
        if best_iteration is not None:
            ax.axvline(best_iteration, color="0.5", ls=":", label=f"best ({best_iteration})")
        ax.set_yscale("log")
        ax.set_xlabel("boosting iteration")
        ax.set_ylabel(m)
        ax.legend(frameon=False)
    fig.suptitle(f"{title}: train vs validation")
    return save_figure(fig, path)


def plot_param_importances(
    importances: Mapping[str, float], path: Path | str, *, title: str = ""
) -> Path:
    """importances : {parameter: normalised importance}
    (:func:`globalfit.surrogate.study_tables.param_importances`)."""
    fig = Figure(figsize=(5, 0.45 * max(len(importances), 2) + 1.2))
    ax = fig.subplots()
    if importances:
        items = sorted(importances.items(), key=lambda kv: kv[1])
        ax.barh([k for k, _ in items], [v for _, v in items], color="C0")
        ax.set_xlabel("importance (fANOVA, normalised)")
    else:
        ax.text(
            0.5, 0.5, "not enough complete trials", ha="center", va="center", transform=ax.transAxes
        )
        ax.set_axis_off()
    ax.set_title(title or "hyperparameter importance")
    return save_figure(fig, path)


def plot_hyperparameter_grid(grid: pd.DataFrame, path: Path | str) -> Path:
    """grid : output of :func:`globalfit.surrogate.hyperparameter_grid`; one panel per
    (depth, learning rate) with train and validation curves on shared axes, so under-fitting
    (both high) and over-fitting (validation rising while train falls) are visible side by side."""
    depths = sorted(grid["depth"].unique())
    rates = sorted(grid["learning_rate"].unique())
    metric = grid.attrs.get("metric", "metric")
    fig = Figure(figsize=(3.2 * len(rates), 2.6 * len(depths)))
    axes = fig.subplots(len(depths), len(rates), squeeze=False, sharex=True, sharey=True)
    for i, d in enumerate(depths):
        for j, lr in enumerate(rates):
            ax = axes[i, j]
            g = grid[(grid["depth"] == d) & (grid["learning_rate"] == lr)]
            ax.plot(g["iteration"], g["train"], label="train")
            ax.plot(g["iteration"], g["validation"], label="validation")
            k = int(np.argmin(g["validation"].to_numpy()))
            ax.plot(g["iteration"].iloc[k], g["validation"].iloc[k], "k.", ms=6)
            ax.set_yscale("log")
            ax.set_title(f"depth {d}, rate {lr:g}", fontsize=9)
            if i == len(depths) - 1:
                ax.set_xlabel("iteration")
            if j == 0:
                ax.set_ylabel(metric)
    axes[0, 0].legend(frameon=False, fontsize=8)
    fig.suptitle("under-fitting (top left) to over-fitting (bottom right); dot = best validation")
    return save_figure(fig, path)


def plot_predicted_vs_true(
    chi2_true: np.ndarray,
    chi2_pred: np.ndarray,
    path: Path | str,
    *,
    chi2_best: float,
    threshold: float,
) -> Path:
    """chi2_true, chi2_pred : (n,) on in-region test points; the diagonal is perfect prediction."""
    chi2_true = np.asarray(chi2_true)
    chi2_pred = np.asarray(chi2_pred)
    fig = Figure(figsize=(4.2, 4))
    ax = fig.subplots()
    ax.plot(chi2_true, chi2_pred, ".", ms=3, alpha=0.6)
    lo, hi = chi2_best, chi2_best + threshold
    ax.plot([lo, hi], [lo, hi], "k--", lw=1)
    ax.set_xlabel("true χ²")
    ax.set_ylabel("surrogate χ²")
    mae = float(np.mean(np.abs(chi2_pred - chi2_true))) if chi2_true.size else float("nan")
    ax.set_title(f"test points in region: MAE = {mae:.3g}")
    return save_figure(fig, path)


def plot_bundle(
    bundle_dir: Path | str, out_dir: Path | str, *, backend: str = "xgboost"
) -> list[Path]:
    """Plots of a saved bundle into ``out_dir``: learning curves of both models, hyperparameter
    importances (when tuned) and predicted vs true χ² on the test part. Returns the paths."""
    bundle, out = Path(bundle_dir), Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sur = Surrogate.load(bundle, backend=backend)
    meta = json.loads((bundle / "metrics.json").read_text())
    paths = []
    for name in ("classifier", "regressor"):
        curves = pd.read_csv(bundle / f"{name}_curves.csv")
        best = meta.get(name, {}).get("best_iteration")
        paths.append(
            plot_learning_curves(
                curves, out / f"{name}_curves.png", title=name, best_iteration=best
            )
        )
        imp = bundle / "tuning" / f"{name}_importance.json"
        if imp.exists():
            paths.append(
                plot_param_importances(
                    json.loads(imp.read_text()),
                    out / f"{name}_importance.png",
                    title=f"{name} hyperparameters",
                )
            )
    split = pd.read_csv(bundle / "split.csv", float_precision="round_trip")
    test = split[(split["split"] == "test") & (split["in_region"].astype(bool))]
    theta = test[list(sur.space.names)].to_numpy(dtype=np.float64)
    paths.append(
        plot_predicted_vs_true(
            test["chi2"].to_numpy(),
            sur.predict_chi2_unmasked(theta),
            out / "predicted_vs_true.png",
            chi2_best=sur.chi2_best_,
            threshold=sur.threshold,
        )
    )
    return paths
