"""TODO docstring (active_learning.py)."""

from __future__ import annotations

import math

import numpy as np
from scipy.special import erfcx, ndtr

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
    """log EI (n,) for a maximised target; σ = 0 gives log max(μ - y* - δ, 0)."""
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
    """EI (n,) = σ (I Φ(I) + φ(I)), I = (μ - y* - δ)/σ, for a maximised target.

    mean, sd : (n,) GP posterior mean and standard deviation; y_best : incumbent y*; delta ≥ 0 :
    required margin (large = explore). σ = 0 gives max(μ - y* - δ, 0).
    """
    return np.exp(log_expected_improvement(mean, sd, y_best, delta))
