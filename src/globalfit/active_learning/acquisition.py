"""Acquisition: expected improvement with a margin δ, a log EI that stays finite far in the tail,
and the kriging-believer batch: picks are made one by one on a candidate pool, each added as a
fantasy observation so that the next goes elsewhere, with a minimum distance between picks.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from scipy.spatial import cKDTree
from scipy.special import erfcx, ndtr

if TYPE_CHECKING:
    from globalfit.active_learning.gp import _PoolPosterior

__all__ = ["expected_improvement", "log_expected_improvement"]


def _log_h(z: np.ndarray) -> np.ndarray:
    """log(z Φ(z) + φ(z)), stable for z ≪ 0 (via the scaled complementary error function)."""
    z = np.clip(np.asarray(z, dtype=np.float64), -1e150, 1e150)
    out = np.empty_like(z)
    big = z > -1.0
    zb = z[big]
    out[big] = np.log(zb * ndtr(zb) + np.exp(-0.5 * zb**2) / math.sqrt(2 * math.pi))
    zs = z[~big]
    # h(z) = φ(z) (1 + z √(π/2) erfcx(-z/√2)); the bracket → 1/z² for z → -∞
    bracket = 1.0 + zs * math.sqrt(math.pi / 2) * erfcx(-zs / math.sqrt(2))
    bracket = np.where(zs < -1e4, 1.0 / zs**2, np.maximum(bracket, 1e-300))
    out[~big] = -0.5 * zs**2 - 0.5 * math.log(2 * math.pi) + np.log(bracket)
    return out


def log_expected_improvement(mean, sd, y_best: float, delta: float = 0.0) -> np.ndarray:
    """Log expected improvement for a maximised target, finite far in the tail.

    Parameters
    ----------
    mean, sd : (n,) array_like
        GP posterior mean μ and standard deviation σ.
    y_best : float
        The incumbent y*.
    delta : float
        Required margin δ ≥ 0 (large = explore).

    Returns
    -------
    (n,) ndarray
        log EI; σ = 0 gives log max(μ - y* - δ, 0).
    """
    mean, sd = np.broadcast_arrays(
        np.asarray(mean, dtype=np.float64), np.asarray(sd, dtype=np.float64)
    )
    gain = mean - y_best - delta
    out = np.empty(mean.shape)
    pos = sd > 1e-150
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        out[pos] = np.log(sd[pos]) + _log_h(gain[pos] / sd[pos])
        out[~pos] = np.log(np.maximum(gain[~pos], 0.0))
    return out


def expected_improvement(mean, sd, y_best: float, delta: float = 0.0) -> np.ndarray:
    """Expected improvement EI = σ (I Φ(I) + φ(I)), I = (μ - y* - δ)/σ, for a maximised target.

    Parameters
    ----------
    mean, sd : (n,) array_like
        GP posterior mean μ and standard deviation σ.
    y_best : float
        The incumbent y*.
    delta : float
        Required margin δ ≥ 0 (large = explore).

    Returns
    -------
    (n,) ndarray
        EI (the exponential of :func:`log_expected_improvement`); σ = 0 gives
        max(μ - y* - δ, 0).
    """
    return np.exp(log_expected_improvement(mean, sd, y_best, delta))


def _kriging_believer(
    post: _PoolPosterior,
    y_mean: float,
    y_std: float,
    y_best: float,
    delta: float,
    q: int,
    min_distance: float,
    allowed: np.ndarray,
    forced: np.ndarray | list = (),
):
    """Greedy batch of q pool indices (see module docstring); returns (indices, EI at pick time).

    ``forced``: pool indices taken first, in order, whatever their EI (the trust regions' picks,
    chosen by their own GPs); they condition the rest of the batch like any other pick.
    """
    mean = y_mean + y_std * post.mean  # unchanged by believer fantasies
    var = post.var.copy()
    noise = post.model.noise_floor  # noise-free fantasies (module docstring); floor for stability
    allowed = allowed.copy()
    factors: list[tuple[np.ndarray, int]] = []
    picks, eis = [], []
    tree = cKDTree(post.u)
    forced = list(forced)
    for i in range(q):
        if not allowed.any():
            raise RuntimeError("active learning: candidate pool exhausted; increase n_candidates")
        log_ei = log_expected_improvement(mean, y_std * np.sqrt(var), y_best, delta)
        log_ei = np.where(allowed, log_ei, -np.inf)
        j = int(forced[i]) if i < len(forced) else int(np.argmax(log_ei))
        if not np.isfinite(log_ei[j]) and i >= len(
            forced
        ):  # EI 0 everywhere: the most uncertain point
            j = int(np.argmax(np.where(allowed, var, -np.inf)))
        picks.append(j)
        eis.append(float(np.exp(log_ei[j])))
        col = post.cov_column(j)
        for f, _ in factors:
            col -= f * f[j]
        f = col / math.sqrt(var[j] + noise)
        factors.append((f, j))
        var = np.maximum(var - f**2, 0.0)
        y_best = max(y_best, float(mean[j]))
        allowed[tree.query_ball_point(post.u[j], r=min_distance)] = False
        allowed[j] = False
    return np.array(picks, dtype=np.int64), np.array(eis)
