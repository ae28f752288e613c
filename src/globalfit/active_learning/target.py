"""The GP's target and the acquisition margin's schedule.

y = −sign(Δ) log10(1 + |Δ|/scale), Δ = min(χ² − χ²_ref, cap): Δχ² < 10 fills half of the target's
range and the wall (10³–10¹⁴) is one flat "bad" level the GP need not learn. The EI margin δ falls
geometrically from ``delta_start`` (explore) to ``delta_end`` (exploit) over the rounds.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "DEFAULT_START",
    "TARGET_KIND",
    "delta_schedule",
    "inverse_transform_target",
    "transform_target",
]

TARGET_KIND = "-log10(1 + min(chi2 - chi2_ref, cap) / scale)"


DEFAULT_START = {"lengthscale": 0.3, "kernel_variance": 1.0, "noise_variance": 1e-2}


def transform_target(
    chi2, chi2_ref: float, *, scale: float = 1.0, cap: float = 100.0
) -> np.ndarray:
    """χ² -> maximised GP target y = -sign(Δ) log10(1 + |Δ| / scale), Δ = min(χ² - χ²_ref, cap).

    Parameters
    ----------
    chi2 : (n,) array_like
        Finite χ² values (exclude failed points first).
    chi2_ref : float
        The reference, normally the smallest χ² of the fitted points (then max y = 0); χ² below it
        (a new batch's better points) gives y > 0.
    scale : float
        Δχ² scale of the logarithm, > 0.
    cap : float
        Cap on Δ (Δχ² units), > 0; flattens the wall.

    Returns
    -------
    (n,) ndarray
        The target y.

    Raises
    ------
    ValueError
        If scale or cap is not positive, or chi2 is not finite.
    """
    chi2 = np.asarray(chi2, dtype=np.float64)
    if not (scale > 0 and cap > 0):
        raise ValueError(f"target transform: scale and cap must be positive, got {scale}, {cap}")
    if not np.all(np.isfinite(chi2)):
        raise ValueError("transform_target: chi2 must be finite (exclude failed points first)")
    dchi2 = np.minimum(chi2 - chi2_ref, cap)
    return -np.sign(dchi2) * np.log10(1.0 + np.abs(dchi2) / scale)


def inverse_transform_target(y, chi2_ref: float, *, scale: float = 1.0) -> np.ndarray:
    """The inverse of :func:`transform_target` (below the cap): y -> χ².

    Parameters
    ----------
    y : (n,) array_like
        Target values.
    chi2_ref : float
        The reference χ² used in the transform.
    scale : float
        The transform's scale.

    Returns
    -------
    (n,) ndarray
        χ².
    """
    y = np.asarray(y, dtype=np.float64)
    return chi2_ref - np.sign(y) * scale * (10.0 ** np.abs(y) - 1.0)


def delta_schedule(round_index: int, n_rounds: int, start: float = 1.0, end: float = 0.01) -> float:
    """The relative EI margin δ_rel of a round (multiply by std(y)).

    Geometric from ``start`` (round 0) to ``end`` (last round), linear if ``end`` is 0.

    Parameters
    ----------
    round_index : int
        The round, from 0.
    n_rounds : int
        Number of rounds (one round gives ``start``).
    start, end : float
        δ_rel of the first and last round, 0 ≤ end ≤ start.

    Returns
    -------
    float
        δ_rel.

    Raises
    ------
    ValueError
        Unless 0 ≤ end ≤ start.
    """
    if not (0 <= end <= start):
        raise ValueError(f"delta schedule: need 0 <= delta_end <= delta_start, got {start}, {end}")
    t = round_index / (n_rounds - 1) if n_rounds > 1 else 0.0
    if end == 0 or start == 0:
        return float(start + (end - start) * t)
    return float(start * (end / start) ** t)
