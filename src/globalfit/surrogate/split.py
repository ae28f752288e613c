"""The data split of the surrogate and the region it learns: train / validation / test parts,
stratified by "in region" (Δχ² = χ² − min χ² < ``threshold``, strictly), seeded.

Why two stages: χ² spans a few units in the interesting region and 10³–10¹⁴ on the wall that
fills most of the box, so a single regressor would spend its capacity on the wall. Outside the
region the surrogate returns :data:`WALL_CHI2` = 10⁶: large enough that any sampler sees a wall,
finite so that arithmetic on it stays defined. The test part is only ever used for the report.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from globalfit.levels import REGION
from globalfit.space import ParameterSpace

__all__ = ["kfold_indices", "DEFAULT_THRESHOLD", "DataSplit", "WALL_CHI2", "split_dataset"]

#: χ² returned where the classifier says "not in region": large enough that any sampler sees a
#: wall (exp(−χ²/2) underflows to 0), finite so that arithmetic on it stays well defined.
WALL_CHI2 = 1.0e6


#: Default threshold on Δχ² defining the region (strict: Δχ² < threshold).
DEFAULT_THRESHOLD = REGION


@dataclass(frozen=True)
class DataSplit:
    """Fitted points split into train / validation / test (index arrays into ``theta``).

    theta : (n, d) parameter values of the usable (status ok) points
    chi2 : (n,) their χ²;  delta : (n,) χ² − chi2_best;  in_region : (n,) bool, delta < threshold
    train, validation, test : sorted int index arrays, disjoint, covering 0..n−1
    n_excluded : points of the input not used (status not ok)
    """

    theta: np.ndarray
    chi2: np.ndarray
    chi2_best: float
    threshold: float
    delta: np.ndarray
    in_region: np.ndarray
    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray
    n_excluded: int
    seed: int
    fractions: tuple

    def part(self, name: str) -> np.ndarray:
        if name not in ("train", "validation", "test"):
            raise ValueError(f"unknown part {name!r}; expected train, validation or test")
        return getattr(self, name)

    def region_mask(self, margin: float = 0.0) -> np.ndarray:
        """(n,) bool: delta < threshold + margin (the regressor's training domain)."""
        return self.delta < self.threshold + margin

    def roles(self) -> np.ndarray:
        """(n,) str: 'train', 'validation' or 'test' for every point."""
        out = np.empty(self.delta.size, dtype=object)
        for name in ("train", "validation", "test"):
            out[self.part(name)] = name
        return out

    def counts(self) -> dict:
        c = {name: int(self.part(name).size) for name in ("train", "validation", "test")}
        c["total"] = int(self.delta.size)
        c["excluded_not_ok"] = int(self.n_excluded)
        for name in ("train", "validation", "test"):
            c[f"in_region_{name}"] = int(self.in_region[self.part(name)].sum())
        return c


def split_dataset(
    theta: np.ndarray,
    chi2: np.ndarray,
    *,
    ok: np.ndarray | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    fractions: Sequence[float] = (0.6, 0.2, 0.2),
    seed: int = 0,
    space: ParameterSpace | None = None,
) -> DataSplit:
    """Split the usable points into train / validation / test, stratified by "in region".

    Stratifying keeps the in-region share equal in the three parts, so calibration and test see
    in-region points even when they are rare. The split depends only on (chi2 ordering,
    fractions, seed).

    Parameters
    ----------
    theta : (N, d) ndarray
        The points.
    chi2 : (N,) ndarray
        Their χ²; may be +inf (a wall point) but not NaN or −inf for an ok point.
    ok : (N,) bool ndarray, optional
        Usable points (None: all); points with ok False are excluded (counted in
        ``n_excluded``), never silently.
    threshold : float
        The region is Δχ² < threshold, > 0.
    fractions : (3,) sequence of float
        Train, validation and test shares, positive and summing to 1.
    seed : int
        The seed.
    space : ParameterSpace, optional
        If given, the ok points must lie in its box (else they need only be finite).

    Returns
    -------
    DataSplit
        The split.

    Raises
    ------
    ValueError
        For bad shapes, points, χ², fractions or threshold, no usable finite point, or a part
        without an in-region point.
    """
    theta = np.asarray(theta, dtype=np.float64)
    chi2 = np.asarray(chi2, dtype=np.float64).reshape(-1)
    if theta.ndim != 2 or theta.shape[0] != chi2.size:
        raise ValueError(f"theta must be (n, d) and chi2 (n,); got {theta.shape} and {chi2.shape}")
    if ok is None:
        ok = np.ones(chi2.size, dtype=bool)
    ok = np.asarray(ok, dtype=bool).reshape(-1)
    if ok.size != chi2.size:
        raise ValueError(f"ok has {ok.size} entries for {chi2.size} points")
    if space is not None:
        space.check(theta[ok], what="training points")
    elif not np.all(np.isfinite(theta[ok])):
        raise ValueError("training points: theta has non-finite values")
    bad = ok & (np.isnan(chi2) | (chi2 == -np.inf))
    if bad.any():
        raise ValueError(
            f"chi2 is NaN or -inf for {int(bad.sum())} points with status ok (first: row "
            f"{int(np.argmax(bad))})"
        )
    fr = np.asarray(fractions, dtype=np.float64)
    if fr.shape != (3,) or np.any(fr <= 0) or not math.isclose(fr.sum(), 1.0, abs_tol=1e-9):
        raise ValueError(
            f"fractions must be three positive numbers summing to 1, got {list(fractions)}"
        )
    if not threshold > 0:
        raise ValueError(f"threshold must be > 0, got {threshold}")

    theta, chi2 = theta[ok], chi2[ok]
    if chi2.size == 0:
        raise ValueError("no usable points (status ok)")
    chi2_best = float(np.min(chi2))
    if not np.isfinite(chi2_best):
        raise ValueError("all usable points have chi2 = +inf")
    delta = chi2 - chi2_best
    in_region = delta < threshold
    rng = np.random.default_rng(seed)
    parts = ([], [], [])
    for label in (False, True):
        idx = rng.permutation(np.flatnonzero(in_region == label))
        n_val = int(round(fr[1] * idx.size))
        n_test = int(round(fr[2] * idx.size))
        parts[1].append(idx[:n_val])
        parts[2].append(idx[n_val : n_val + n_test])
        parts[0].append(idx[n_val + n_test :])
    train, validation, test = (np.sort(np.concatenate(p)).astype(np.int64) for p in parts)
    for name, idx in (("train", train), ("validation", validation), ("test", test)):
        if not in_region[idx].any():
            raise ValueError(
                f"the {name} part has no in-region point (Δχ² < {threshold}); "
                f"only {int(in_region.sum())} of {chi2.size} points are in the region: add points "
                "near the minimum"
            )
    return DataSplit(
        theta=theta,
        chi2=chi2,
        chi2_best=chi2_best,
        threshold=float(threshold),
        delta=delta,
        in_region=in_region,
        train=train,
        validation=validation,
        test=test,
        n_excluded=int((~ok).sum()),
        seed=int(seed),
        fractions=tuple(float(f) for f in fr),
    )


def kfold_indices(
    n: int, n_folds: int, *, seed: int, labels: np.ndarray | None = None
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Seeded k-fold split of range(n).

    With ``labels`` the folds are stratified (each class dealt round-robin after a shuffle), so
    every fold of a classifier sees in-region points.

    Parameters
    ----------
    n : int
        Number of points.
    n_folds : int
        Number of folds, 2 ≤ n_folds ≤ n.
    seed : int
        The seed.
    labels : (n,) ndarray, optional
        Classes to stratify by.

    Returns
    -------
    list of (ndarray, ndarray)
        [(train_idx, held_out_idx)] * n_folds.

    Raises
    ------
    ValueError
        Unless 2 ≤ n_folds ≤ n.
    """
    if n_folds < 2 or n < n_folds:
        raise ValueError(f"need 2 <= n_folds <= n, got n_folds={n_folds}, n={n}")
    rng = np.random.default_rng(seed)
    fold_of = np.empty(n, dtype=np.int64)
    groups = (
        [np.arange(n)]
        if labels is None
        else [np.flatnonzero(labels == v) for v in np.unique(labels)]
    )
    start = 0
    for g in groups:
        perm = rng.permutation(g)
        # continue the round-robin across classes so fold sizes stay balanced
        fold_of[perm] = (start + np.arange(perm.size)) % n_folds
        start += perm.size
    all_idx = np.arange(n)
    return [(all_idx[fold_of != k], all_idx[fold_of == k]) for k in range(n_folds)]
