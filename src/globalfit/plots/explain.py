"""Plots of the explain stage: SHAP importance per Δχ² band, beeswarm, dependence, waterfall at the
best fit, pairwise-interaction network and matrix, and the ablation's posterior comparison.

Every function writes ONE figure to ``path`` (PNG by suffix) and returns the path, so that the
workflow can put each into the Snakemake report with its own caption. Figures are built on
``matplotlib.figure.Figure`` (no pyplot state, any backend) except :func:`plot_waterfall`, which
calls shap's pyplot-based waterfall and closes its figure afterwards.
Inputs are the result objects of :mod:`globalfit.explain`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from globalfit.explain.ablation import AblationResult
from globalfit.explain.bands import ALL
from globalfit.explain.interactions import InteractionResult
from globalfit.explain.shapley import ShapResult
from globalfit.plots.figures import save_figure

__all__ = [
    "plot_ablation",
    "plot_beeswarm",
    "plot_dependence",
    "plot_importance_bars",
    "plot_interaction_matrix",
    "plot_interaction_network",
    "plot_waterfall",
]

_NONE_COLOR = "0.6"


def _pretty(label: str) -> str:
    return label.replace("delta_chi2", "Δχ²").replace("<=", "≤")


def _band_colors(n: int) -> list[str]:
    return [f"C{i % 10}" for i in range(n)]


def _scale_label(result: ShapResult) -> str:
    return f"SHAP value ({_pretty(result.scale)})" if result.scale else "SHAP value"


def plot_importance_bars(result: ShapResult, path: Path | str, *, title: str | None = None) -> Path:
    """Global SHAP summary: mean |SHAP| per parameter, one bar per Δχ² band, with the mean over all
    points as a black tick. Parameters sorted by the overall mean, most important on top."""
    t = result.table()
    counts = t.attrs["counts"]
    t = t.loc[t[ALL].sort_values(ascending=True, kind="stable").index]
    labels = list(result.labels)
    k = len(labels)
    y = np.arange(len(t))
    h = 0.8 / max(k, 1)
    fig = Figure(figsize=(6.2, 0.55 * len(t) * max(1, k / 2) + 1.6))
    ax = fig.subplots()
    for i, (lab, col) in enumerate(zip(labels, _band_colors(k), strict=False)):
        vals = t[lab].to_numpy()
        ax.barh(
            y - 0.4 + h * (i + 0.5),
            np.nan_to_num(vals),
            height=h,
            color=col,
            label=f"{_pretty(lab)} (n = {counts[lab]})",
        )
    ax.scatter(t[ALL], y, marker="|", s=300, color="k", zorder=3, label=f"all (n = {counts[ALL]})")
    ax.set_yticks(y, list(t.index))
    ax.set_xlabel(f"mean |SHAP| ({_pretty(result.scale)})" if result.scale else "mean |SHAP|")
    ax.legend(frameon=False, fontsize=8, loc="lower right")
    ax.set_title(title or f"{result.model}: parameter importance by true Δχ² band")
    return save_figure(fig, path)


def plot_beeswarm(
    result: ShapResult,
    path: Path | str,
    *,
    band: str | int | None = None,
    max_display: int | None = None,
    title: str | None = None,
) -> Path:
    """shap's beeswarm (one dot per point and parameter, coloured by the parameter value) of the
    points of one band (label or index) or of all points (band=None)."""
    import shap

    m = result.select(band)
    if not m.any():
        raise ValueError(f"band {band!r} has no points to plot")
    fig = Figure(figsize=(7, 0.45 * len(result.names) + 1.6))
    ax = fig.subplots()
    shap.plots.beeswarm(
        result.explanation(band),
        max_display=max_display or len(result.names),
        ax=ax,
        show=False,
        plot_size=None,
        color_bar_label="parameter value",
    )
    ax.set_xlabel(_scale_label(result))
    which = (
        "all points" if band in (None, ALL) else _pretty(result.labels[result.band_number(band)])
    )
    ax.set_title(title or f"{result.model}: SHAP values, {which} (n = {int(m.sum())})")
    return save_figure(fig, path)


def plot_dependence(
    result: ShapResult,
    path: Path | str,
    *,
    ncols: int = 3,
    max_points: int = 5000,
    seed: int = 0,
    title: str | None = None,
) -> Path:
    """Dependence plots for every parameter (one panel each): SHAP value against the parameter's
    value, points coloured by their true-Δχ² band. At most ``max_points`` (seeded subsample)."""
    n, d = result.values.shape
    rows = (
        np.arange(n)
        if n <= max_points
        else np.sort(np.random.default_rng(seed).choice(n, max_points, replace=False))
    )
    nrows = int(np.ceil(d / ncols))
    fig = Figure(figsize=(3.4 * ncols, 2.8 * nrows + 0.6))
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    colors = _band_colors(len(result.labels))
    band = result.band[rows]
    for j, ax in enumerate(axes):
        if j >= d:
            ax.set_axis_off()
            continue
        x, s = result.theta[rows, j], result.values[rows, j]
        none = band < 0
        if none.any():
            ax.scatter(
                x[none],
                s[none],
                s=6,
                color=_NONE_COLOR,
                alpha=0.5,
                lw=0,
                label=f"Δχ² ≥ {result.edges[-1]:g}" if j == 0 else None,
            )
        for i, lab in enumerate(result.labels):
            m = band == i
            if m.any():
                # low-Δχ² bands on top: they are the few points the fit is about
                ax.scatter(
                    x[m],
                    s[m],
                    s=6,
                    color=colors[i],
                    alpha=0.7,
                    lw=0,
                    zorder=3 + len(result.labels) - i,
                    label=_pretty(lab) if j == 0 else None,
                )
        ax.axhline(0, color="0.3", lw=0.6)
        ax.set_xlabel(result.names[j])
        if j % ncols == 0:
            ax.set_ylabel(_scale_label(result))
    fig.legend(
        loc="upper center",
        ncol=len(result.labels) + 1,
        frameon=False,
        markerscale=3,
        bbox_to_anchor=(0.5, 1.0),
    )
    fig.suptitle(title or f"{result.model}: SHAP dependence", y=1.04)
    fig.tight_layout()
    return save_figure(fig, path)


def plot_waterfall(
    result: ShapResult, path: Path | str, *, row: int = 0, title: str | None = None
) -> Path:
    """shap's waterfall of one point (e.g. the best fit): from the base value to the model output,
    parameter by parameter (parameter values shown on the axis)."""
    import matplotlib.pyplot as plt
    import shap

    if not 0 <= row < result.values.shape[0]:
        raise ValueError(f"row {row} out of range for {result.values.shape[0]} explained points")
    exp = result.explanation()[row]
    fig = plt.figure()  # shap's waterfall draws on pyplot's current figure
    try:
        shap.plots.waterfall(exp, max_display=len(result.names), show=False)
        fig = plt.gcf()
        fig.axes[0].set_title(
            title
            or f"{result.model}: SHAP at θ = ("
            + ", ".join(f"{v:.3g}" for v in result.theta[row])
            + ")",
            fontsize=10,
        )
        return save_figure(fig, path)
    finally:
        plt.close(fig)


def plot_interaction_network(
    inter: InteractionResult,
    path: Path | str,
    *,
    which: str = "mean_abs",
    style: str = "matplotlib",
    n_labels: int = 3,
    title: str | None = None,
) -> Path:
    """Network of pairwise k-SII interactions: nodes = parameters (size ∝ |first-order value|),
    edges = pairs (width ∝ |pair value|). which = 'mean_abs' (mean |value| over the sample) or
    'best_fit' (signed: red positive, blue negative). The ``n_labels`` strongest edges are labelled.
    style='shapiq' draws shapiq's own ``network_plot`` instead."""
    if which not in ("mean_abs", "best_fit"):
        raise ValueError(f"which must be 'mean_abs' or 'best_fit', got {which!r}")
    label = "mean |k-SII| over the sample" if which == "mean_abs" else "k-SII at the best fit"
    if style == "shapiq":
        import matplotlib.pyplot as plt
        import shapiq

        fig, ax = shapiq.network_plot(
            inter.interaction_values(which), feature_names=list(inter.names), show=False
        )
        try:
            ax.set_title(title or f"pairwise interactions: {label}")
            return save_figure(fig, path)
        finally:
            plt.close(fig)
    if style != "matplotlib":
        raise ValueError(f"style must be 'matplotlib' or 'shapiq', got {style!r}")
    if which == "mean_abs":
        first, pairs = inter.mean_abs_first, inter.mean_abs_pairs
    else:
        first, pairs = inter.best_first, inter.best_pairs
    d = len(inter.names)
    ang = np.pi / 2 - 2 * np.pi * np.arange(d) / d
    xy = np.column_stack([np.cos(ang), np.sin(ang)])
    fig = Figure(figsize=(6, 6))
    ax = fig.subplots()
    pmax = max(float(np.max(np.abs(pairs))), 1e-300)
    fmax = max(float(np.max(np.abs(first))), 1e-300)
    edges = sorted(
        ((abs(pairs[i, j]), i, j) for i in range(d) for j in range(i + 1, d)), reverse=True
    )
    for rank, (a, i, j) in enumerate(edges):
        v = pairs[i, j]
        color = "0.35" if which == "mean_abs" else ("tab:red" if v > 0 else "tab:blue")
        ax.plot(
            *xy[[i, j]].T,
            color=color,
            lw=0.3 + 9 * a / pmax,
            alpha=0.25 + 0.75 * a / pmax,
            zorder=1,
            solid_capstyle="round",
        )
        if rank < n_labels and a > 0:
            mid = xy[[i, j]].mean(axis=0)
            ax.text(
                *mid,
                f"{v:.3g}",
                ha="center",
                va="center",
                fontsize=8,
                zorder=4,
                bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.8},
            )
    sizes = 150 + 1800 * np.abs(first) / fmax
    ncolor = ["0.8" if which == "mean_abs" else ("#f4a6a6" if v > 0 else "#a6c8f4") for v in first]
    ax.scatter(xy[:, 0], xy[:, 1], s=sizes, c=ncolor, edgecolors="0.2", zorder=2)
    for k, name in enumerate(inter.names):
        ax.text(*(1.36 * xy[k]), f"{name}\n{first[k]:.3g}", ha="center", va="center", fontsize=9)
    ax.set_xlim(-1.65, 1.65)
    ax.set_ylim(-1.65, 1.65)
    ax.set_aspect("equal")
    ax.set_axis_off()
    n = inter.sample_theta.shape[0]
    sub = f"{label}" + (f" (n = {n}, seed {inter.seed})" if which == "mean_abs" else "")
    ax.set_title(
        title
        or f"pairwise interactions: {sub}\nnode size: first-order term, edge width: pair term",
        fontsize=10,
    )
    return save_figure(fig, path)


def plot_interaction_matrix(
    inter: InteractionResult, path: Path | str, *, title: str | None = None
) -> Path:
    """Two heat maps side by side: mean |k-SII| pair values over the sample, and the signed pair
    values at the best fit, with the numbers written in the cells."""
    d = len(inter.names)
    fig = Figure(figsize=(4.2 * 2 + 1, 4.0))
    axes = fig.subplots(1, 2)
    for ax, mat, lab, cmap in (
        (axes[0], inter.mean_abs_pairs, "mean |k-SII| (sample)", "viridis"),
        (axes[1], inter.best_pairs, "k-SII at the best fit", "RdBu_r"),
    ):
        m = np.array(mat, dtype=float)
        np.fill_diagonal(m, np.nan)
        vmax = max(float(np.nanmax(np.abs(m))), 1e-300)
        im = ax.imshow(m, cmap=cmap, vmin=0 if cmap == "viridis" else -vmax, vmax=vmax)
        for i in range(d):
            for j in range(d):
                if i != j:
                    ax.text(
                        j,
                        i,
                        f"{m[i, j]:.2g}",
                        ha="center",
                        va="center",
                        fontsize=7,
                        color="w"
                        if (
                            m[i, j] < 0.6 * vmax if cmap == "viridis" else abs(m[i, j]) > 0.6 * vmax
                        )
                        else "k",
                    )
        ax.set_xticks(range(d), inter.names, rotation=45, ha="right")
        ax.set_yticks(range(d), inter.names)
        ax.set_title(lab, fontsize=10)
        fig.colorbar(im, ax=ax, shrink=0.8)
    fig.suptitle(title or "pairwise interactions (k-SII, order 2)")
    return save_figure(fig, path)


def plot_ablation(
    abl: AblationResult,
    path: Path | str,
    *,
    bins: int = 40,
    ncols: int = 3,
    title: str | None = None,
) -> Path:
    """Posterior of every remaining parameter with the full and the reduced surrogate (normalised
    histograms), each panel titled with the KS distance and the largest quantile shift (in sd)."""
    k = len(abl.remaining)
    nrows = int(np.ceil(k / ncols))
    fig = Figure(figsize=(3.4 * ncols, 2.7 * nrows + 0.8))
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for j, ax in enumerate(axes):
        if j >= k:
            ax.set_axis_off()
            continue
        name = abl.remaining[j]
        a, b = abl.samples_full[:, j], abl.samples_reduced[:, j]
        edges = np.histogram_bin_edges(np.concatenate([a, b]), bins=bins)
        ax.hist(a, bins=edges, density=True, histtype="step", lw=1.5, color="C0", label="full")
        ax.hist(
            b,
            bins=edges,
            density=True,
            histtype="step",
            lw=1.5,
            color="C1",
            ls="--",
            label=(
                f"without {abl.dropped}"
                if abl.fixed_at is None
                else f"{abl.dropped} fixed at {abl.fixed_at:g}"
            ),
        )
        ax.set_xlabel(name)
        ax.set_yticks([])
        ax.set_title(f"KS {abl.ks[name]:.3f}, shift {abl.quantile_shift[name]:.2f} sd", fontsize=9)
    axes[0].legend(frameon=False, fontsize=8)
    verdict = "can be dropped" if abl.can_drop else "should be kept"
    fig.suptitle(
        title
        or (
            f"ablation: {abl.dropped} {verdict} (test MAE {abl.mae_full:.3g} → "
            f"{abl.mae_reduced:.3g})"
        )
    )
    fig.tight_layout()
    return save_figure(fig, path)
