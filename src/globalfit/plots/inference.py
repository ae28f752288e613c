"""Plots of the inference stage: corner plots (parameters, derived quantities), walker traces,
1-D and 2-D profile likelihoods, true vs surrogate χ² at posterior samples.

Figures are ``matplotlib.figure.Figure`` objects (no pyplot state, Agg rendering on save), passed
to ``corner.corner(fig=...)``. Each function writes one file and returns its path. Corner plots
draw the 2-D 1σ and 2σ regions, i.e. levels = (1 − e^{−1/2}, 1 − e^{−2}) of probability mass
(39.3 % and 86.5 %), and the 16/50/84 % quantiles in the 1-D panels.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import corner
import numpy as np
from matplotlib.figure import Figure

from globalfit.inference.profiles import LEVELS_1D, LEVELS_2D, Profile1D, Profile2D
from globalfit.plots.figures import save_figure

__all__ = [
    "CORNER_LEVELS",
    "chi2_scatter_plot",
    "corner_plot",
    "derived_corner_plot",
    "profile_1d_plot",
    "profile_2d_plot",
    "trace_plot",
]

CORNER_LEVELS = (1.0 - np.exp(-0.5), 1.0 - np.exp(-2.0))


def corner_plot(
    samples: np.ndarray,
    names: Sequence[str],
    path: Path | str,
    *,
    truths: Sequence[float] | None = None,
    weights: np.ndarray | None = None,
    title: str | None = None,
    range_: Sequence | None = None,
    overlay: tuple[np.ndarray, np.ndarray] | None = None,
) -> Path:
    """samples : (n, k). Non-finite rows are dropped (and their count is written in the title).
    overlay : (samples (m, k), weights (m,)) drawn as orange contours over the same axes (the
    posterior reweighted by the true χ²)."""
    X = np.asarray(samples, dtype=np.float64)
    if X.ndim == 1:
        X = X[:, None]
    ok = np.all(np.isfinite(X), axis=1)
    n_bad = int((~ok).sum())
    X = X[ok]
    w = None if weights is None else np.asarray(weights, dtype=np.float64)[ok]
    if X.shape[0] < 2:
        raise ValueError(f"corner_plot: need at least 2 finite samples, got {X.shape[0]}")
    k = X.shape[1]
    # constant columns break the histograms: give them a small range
    rng = list(range_) if range_ is not None else []
    if not rng:
        for j in range(k):
            lo, hi = float(np.min(X[:, j])), float(np.max(X[:, j]))
            rng.append((lo - 0.5, hi + 0.5) if hi <= lo else (lo, hi))
    fig = Figure(figsize=(2.0 * k + 1.0, 2.0 * k + 1.0))
    corner.corner(
        X,
        fig=fig,
        labels=list(names),
        weights=w,
        truths=truths,
        range=rng,
        levels=CORNER_LEVELS,
        quantiles=(0.16, 0.5, 0.84),
        show_titles=True,
        title_fmt=".3g",
        plot_datapoints=X.shape[0] < 5000,
        fill_contours=True,
        smooth=0.8 if X.shape[0] > 500 else None,
        truth_color="C3",
    )
    if overlay is not None:
        Y, wy = (np.asarray(a, dtype=np.float64) for a in overlay)
        good = np.all(np.isfinite(Y), axis=1) & (wy > 0)
        if good.sum() > k + 1:
            corner.corner(
                Y[good],
                fig=fig,
                weights=wy[good],
                range=rng,
                levels=CORNER_LEVELS,
                color="C1",
                plot_datapoints=False,
                plot_density=False,
                fill_contours=False,
                smooth=1.0,
            )
    note = f" ({n_bad} non-finite samples dropped)" if n_bad else ""
    if title or note:
        fig.suptitle((title or "") + note, y=1.01)
    return save_figure(fig, path)


def derived_corner_plot(
    derived: Mapping[str, np.ndarray], path: Path | str, *, title: str | None = None
) -> Path:
    """Corner plot of derived quantities {name: (n,) values} (all of the same length)."""
    names = list(derived)
    X = np.column_stack([np.asarray(derived[n], dtype=np.float64).reshape(-1) for n in names])
    return corner_plot(X, names, path, title=title or "derived quantities")


def trace_plot(
    chain: np.ndarray,
    names: Sequence[str],
    path: Path | str,
    *,
    burn: int | None = None,
    log_prob: np.ndarray | None = None,
    max_walkers: int = 32,
) -> Path:
    """chain : (n_steps, n_walkers, d) walker traces, one panel per parameter (plus log-posterior
    if given); a dashed line marks the burn-in."""
    chain = np.asarray(chain)
    n_steps, n_walkers, d = chain.shape
    rows = d + (log_prob is not None)
    fig = Figure(figsize=(8, 1.6 * rows + 0.4))
    axes = fig.subplots(rows, 1, sharex=True, squeeze=False)[:, 0]
    sel = np.linspace(0, n_walkers - 1, min(max_walkers, n_walkers)).astype(int)
    steps = np.arange(n_steps)
    series = [(chain[:, sel, j], n) for j, n in enumerate(names)]
    if log_prob is not None:
        lp = np.asarray(log_prob)[:, sel]
        series.append((np.where(np.isfinite(lp), lp, np.nan), "log posterior"))
    for ax, (y, label) in zip(axes, series, strict=False):
        ax.plot(steps, y, color="k", alpha=0.25, lw=0.5)
        ax.set_ylabel(label)
        if burn:
            ax.axvline(burn, color="C3", ls="--", lw=1)
    axes[-1].set_xlabel("step")
    axes[0].set_title(
        f"{n_walkers} walkers ({len(sel)} shown)" + (f", burn-in {burn} steps" if burn else "")
    )
    return save_figure(fig, path)


def profile_1d_plot(
    profiles: Sequence[Profile1D],
    path: Path | str,
    *,
    ymax: float = 9.0,
    truths: Mapping[str, float] | None = None,
) -> Path:
    """One panel per profiled parameter: Δχ² with the Δχ² = 1 and 4 lines and shaded intervals."""
    n = len(profiles)
    if n == 0:
        raise ValueError("profile_1d_plot: no profiles")
    ncol = min(3, n)
    nrow = (n + ncol - 1) // ncol
    fig = Figure(figsize=(4.0 * ncol, 3.0 * nrow))
    axes = fig.subplots(nrow, ncol, squeeze=False).ravel()
    for ax, p in zip(axes, profiles, strict=False):
        ax.plot(p.grid, p.delta, color="k", lw=1.5)
        for (label, level), color in zip(LEVELS_1D.items(), ("C0", "C1"), strict=False):
            ax.axhline(level, color=color, ls="--", lw=1, label=f"Δχ² = {level:g} ({label})")
            for iv in p.intervals(level):
                ax.axvspan(iv.lower, iv.upper, color=color, alpha=0.12)
        if truths and p.name in truths:
            ax.axvline(truths[p.name], color="C3", lw=1)
        ax.set_ylim(0, ymax)
        ax.set_xlim(p.grid[0], p.grid[-1])
        ax.set_xlabel(p.name)
        ax.set_ylabel("Δχ² (profiled)")
    axes[0].legend(fontsize=7, loc="upper right")
    for ax in axes[n:]:
        ax.set_visible(False)
    return save_figure(fig, path)


def profile_2d_plot(
    profile: Profile2D,
    path: Path | str,
    *,
    best: Sequence[float] | None = None,
    samples: np.ndarray | None = None,
    vmax: float = 12.0,
) -> Path:
    """Filled Δχ² map of a 2-D profile with contours Δχ² = 2.30 (68 %) and 6.18 (95 %); optional
    best point (x, y) and posterior samples (n, 2) overlaid."""
    fig = Figure(figsize=(5.2, 4.4))
    ax = fig.subplots()
    D = np.clip(profile.delta, 0.0, vmax)
    im = ax.pcolormesh(profile.x, profile.y, D, cmap="viridis_r", shading="auto", vmin=0, vmax=vmax)
    fig.colorbar(im, ax=ax, label="Δχ² (profiled)")
    if samples is not None:
        s = np.asarray(samples)
        ax.plot(s[:, 0], s[:, 1], ",", color="w", alpha=0.3)
    finite = np.isfinite(profile.delta)
    if finite.any() and np.nanmin(profile.delta) < max(LEVELS_2D.values()):
        cs = ax.contour(
            profile.x,
            profile.y,
            np.where(finite, profile.delta, 1e30),
            levels=sorted(LEVELS_2D.values()),
            colors=["w", "orange"],
            linewidths=1.5,
        )
        ax.clabel(cs, fmt={v: f"{v:g}" for v in LEVELS_2D.values()}, fontsize=7)
    if best is not None:
        ax.plot(best[0], best[1], "r*", ms=10, label="best fit")
        ax.legend(fontsize=7)
    ax.set_xlabel(profile.names[0])
    ax.set_ylabel(profile.names[1])
    ax.set_title("profile likelihood: contours Δχ² = 2.30, 6.18")
    return save_figure(fig, path)


def chi2_scatter_plot(
    chi2_true: np.ndarray,
    chi2_surrogate: np.ndarray,
    path: Path | str,
    *,
    failed: np.ndarray | None = None,
    title: str | None = None,
) -> Path:
    """True vs surrogate χ² at posterior samples, with the diagonal. Failed true evaluations (NaN or
    ``failed``) are not plotted; their number is written in the title."""
    t = np.asarray(chi2_true, dtype=np.float64).reshape(-1)
    s = np.asarray(chi2_surrogate, dtype=np.float64).reshape(-1)
    bad = ~np.isfinite(t) | ~np.isfinite(s)
    if failed is not None:
        bad |= np.asarray(failed, dtype=bool).reshape(-1)
    t, s = t[~bad], s[~bad]
    fig = Figure(figsize=(4.6, 4.4))
    ax = fig.subplots()
    if t.size:
        lo, hi = float(min(t.min(), s.min())), float(max(t.max(), s.max()))
        if lo > 0 and hi / lo > 100:
            ax.set_xscale("log")
            ax.set_yscale("log")
        ax.plot([lo, hi], [lo, hi], color="0.5", ls="--", lw=1, label="y = x")
        ax.scatter(s, t, s=8, alpha=0.6, color="C0", label=f"{t.size} posterior samples")
        ax.legend(fontsize=7)
    ax.set_xlabel("surrogate χ²")
    ax.set_ylabel("true χ²")
    ttl = title or "true vs surrogate χ² at posterior samples"
    if bad.any():
        ttl += f"\n({int(bad.sum())} failed evaluations not shown)"
    ax.set_title(ttl, fontsize=9)
    return save_figure(fig, path)
