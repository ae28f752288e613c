"""Posterior summaries: mean, sd and quantiles per parameter or derived quantity, optionally
weighted (importance-reweighted samples).

``QUANTILES`` = 2.5, 16, 50, 84 and 97.5 %: the median with the central 68 % and 95 % credible
intervals, the Bayesian counterparts of the 1σ and 2σ profile intervals. Non-finite values
(e.g. a derived quantity that failed) are left out per column and counted, never averaged in.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["QUANTILES", "posterior_summary"]

QUANTILES = (0.025, 0.16, 0.5, 0.84, 0.975)


def posterior_summary(
    samples: np.ndarray, names: Sequence[str], weights: np.ndarray | None = None
) -> dict:
    """Per-column summary {mean, sd, q2.5, q16, q50, q84, q97.5, n, n_nonfinite} of samples.

    Non-finite values (e.g. a derived quantity that failed) are excluded per column and counted in
    ``n_nonfinite``.

    Parameters
    ----------
    samples : (n, k) ndarray
        The samples ((n,) is one column).
    names : (k,) sequence of str
        Column names.
    weights : (n,) ndarray, optional
        Weights for weighted moments and quantiles.

    Returns
    -------
    dict
        {name: summary}.

    Raises
    ------
    ValueError
        If the number of columns differs from the number of names.
    """
    samples = np.asarray(samples, dtype=np.float64)
    if samples.ndim == 1:
        samples = samples[:, None]
    if samples.shape[1] != len(names):
        raise ValueError(f"posterior_summary: {samples.shape[1]} columns for {len(names)} names")
    out = {}
    for j, name in enumerate(names):
        x = samples[:, j]
        ok = np.isfinite(x)
        w = None if weights is None else np.asarray(weights, dtype=np.float64)[ok]
        x = x[ok]
        row = {"n": int(x.size), "n_nonfinite": int((~ok).sum())}
        if x.size == 0:
            row.update(
                {"mean": math.nan, "sd": math.nan, **{_qname(q): math.nan for q in QUANTILES}}
            )
        else:
            qs = _weighted_quantiles(x, QUANTILES, w)
            mean = float(np.average(x, weights=w))
            sd = float(np.sqrt(np.average((x - mean) ** 2, weights=w))) if x.size > 1 else 0.0
            row.update(
                {
                    "mean": mean,
                    "sd": sd,
                    **{_qname(q): float(v) for q, v in zip(QUANTILES, qs, strict=True)},
                }
            )
        out[name] = row
    return out


def _qname(q: float) -> str:
    return f"q{100 * q:g}"


def _weighted_quantiles(x: np.ndarray, qs, w: np.ndarray | None) -> np.ndarray:
    if w is None:
        return np.quantile(x, qs)
    order = np.argsort(x)
    cw = np.cumsum(w[order])
    cw = (cw - 0.5 * w[order]) / cw[-1]
    return np.interp(qs, cw, x[order])
