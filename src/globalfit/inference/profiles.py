"""Profile likelihoods of one parameter and of a pair, on grids, minimising over the others
with batched Nelder–Mead (:mod:`.minimum`). Storage: :mod:`.profile_io`.

* Δχ² is measured from χ²_min = min(best-fit χ², lowest profiled χ²); a profile that beats the
  best fit says so in ``notes``.
* 1-D intervals {x : Δχ²(x) ≤ level}, ``LEVELS_1D``: 1 and 4 (68.3 % and 95.4 % for one
  parameter); crossings are interpolated linearly between grid points, disjoint intervals are
  returned separately, and an interval that reaches the grid (= box) edge is flagged
  ``lower_at_edge`` / ``upper_at_edge`` (the true limit lies beyond the box).
* 2-D contours, ``LEVELS_2D``: Δχ² = 2.30 and 6.18 (68.3 % and 95.4 % for two parameters).
* Each grid point starts from the best few of a seeded candidate pool, then from its
  neighbours' solutions, so that a minimum found at one grid point is not lost at the next.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from globalfit.inference.minimum import BestFit, Chi2Fn, minimize_batch
from globalfit.levels import LEVELS_1D, LEVELS_2D
from globalfit.space import ParameterSpace

__all__ = [
    "Interval",
    "LEVELS_1D",
    "LEVELS_2D",
    "Profile1D",
    "Profile2D",
    "profile_1d",
    "profile_2d",
]


class Interval(NamedTuple):
    lower: float
    upper: float
    lower_at_edge: bool
    upper_at_edge: bool


def _intervals(x: np.ndarray, delta: np.ndarray, level: float) -> list[Interval]:
    inside = delta <= level
    out: list[Interval] = []
    n = x.size
    i = 0
    while i < n:
        if not inside[i]:
            i += 1
            continue
        j = i
        while j + 1 < n and inside[j + 1]:
            j += 1
        if i == 0:
            lo, lo_edge = float(x[0]), True
        else:
            lo, lo_edge = float(np.interp(level, [delta[i], delta[i - 1]], [x[i], x[i - 1]])), False
        if j == n - 1:
            hi, hi_edge = float(x[-1]), True
        else:
            hi, hi_edge = float(np.interp(level, [delta[j], delta[j + 1]], [x[j], x[j + 1]])), False
        out.append(Interval(lo, hi, lo_edge, hi_edge))
        i = j + 1
    return out


@dataclass
class Profile1D:
    """grid : (G,) values of ``name``; chi2 : (G,) profiled χ²; theta : (G, d) the minimising
    points; chi2_min the reference minimum; delta = chi2 − chi2_min."""

    name: str
    grid: np.ndarray
    chi2: np.ndarray
    theta: np.ndarray
    chi2_min: float
    notes: list[str] = field(default_factory=list)

    @property
    def delta(self) -> np.ndarray:
        return self.chi2 - self.chi2_min

    def intervals(self, level: float = 1.0) -> list[Interval]:
        """Disjoint intervals where Δχ² ≤ level (interpolated crossings)."""
        return _intervals(self.grid, self.delta, level)

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "chi2_min": self.chi2_min,
            "intervals": {
                k: [iv._asdict() for iv in self.intervals(v)] for k, v in LEVELS_1D.items()
            },
            "levels": LEVELS_1D,
            "notes": self.notes,
        }


@dataclass
class Profile2D:
    """Profile over a pair: x : (Gx,), y : (Gy,), chi2 : (Gy, Gx) (row = y, as for contour),
    theta : (Gy, Gx, d)."""

    names: tuple[str, str]
    x: np.ndarray
    y: np.ndarray
    chi2: np.ndarray
    theta: np.ndarray
    chi2_min: float
    notes: list[str] = field(default_factory=list)

    @property
    def delta(self) -> np.ndarray:
        return self.chi2 - self.chi2_min


def _candidate_pool(chi2_fn, space, best, starts, n_random, rng):
    parts = []
    if best is not None:
        parts.append(np.atleast_2d(best))
    if starts is not None:
        parts.append(space.check(starts, what="profile starting points"))
    if n_random:
        parts.append(space.from_unit(rng.random((n_random, space.dim))))
    if not parts:
        raise ValueError("profile: need a best fit, starting points or n_random > 0")
    return np.vstack(parts)


def _profile(
    chi2_fn,
    space,
    fixed_idx,
    fixed_vals,
    neighbours,
    pool,
    n_starts,
    max_pool,
    n_sweeps,
    maxiter,
    xatol=1e-7,
    fatol=1e-9,
):
    """Minimise χ² over the free coordinates at each of P fixed-value points.

    fixed_vals : (P, f); neighbours : (P, q) indices into P (−1 = none).
    Returns chi2 (P,), theta (P, d).
    """
    d = space.dim
    free = np.array([j for j in range(d) if j not in fixed_idx], dtype=int)
    fixed_idx = np.asarray(fixed_idx, dtype=int)
    P = fixed_vals.shape[0]

    def full(Xfree, prob):
        th = np.empty((Xfree.shape[0], d))
        th[:, fixed_idx] = fixed_vals[prob]
        th[:, free] = Xfree
        return th

    if free.size == 0:
        th = full(np.empty((P, 0)), np.arange(P))
        return np.asarray(chi2_fn(th), dtype=np.float64).reshape(-1), th

    # screen the pool: every candidate's free coordinates at every fixed point, keep the best few
    if pool.shape[0] > max_pool:
        pc = np.asarray(chi2_fn(pool), dtype=np.float64)
        pool = pool[np.argsort(np.where(np.isnan(pc), np.inf, pc))[:max_pool]]
    m = pool.shape[0]
    prob = np.repeat(np.arange(P), m)
    cand = pool[np.tile(np.arange(m), P)][:, free]
    cv = np.asarray(chi2_fn(full(cand, prob)), dtype=np.float64).reshape(P, m)
    cv = np.where(np.isnan(cv), np.inf, cv)
    ns = min(n_starts, m)
    pick = np.argsort(cv, axis=1)[:, :ns]
    x0 = pool[pick.reshape(-1)][:, free]
    probs = np.repeat(np.arange(P), ns)
    fun = lambda X, p: chi2_fn(full(X, probs[p]))  # noqa: E731
    x, f, _ = minimize_batch(
        fun, x0, space.lower[free], space.upper[free], maxiter=maxiter, xatol=xatol, fatol=fatol
    )
    f = f.reshape(P, ns)
    x = x.reshape(P, ns, -1)
    b = np.argmin(f, axis=1)
    best_f = f[np.arange(P), b]
    best_x = x[np.arange(P), b]

    # warm starts from the neighbours' solutions, repeated while anything improves
    for _ in range(n_sweeps):
        src = neighbours.reshape(-1)
        tgt = np.repeat(np.arange(P), neighbours.shape[1])
        ok = src >= 0
        src, tgt = src[ok], tgt[ok]
        if src.size == 0:
            break
        fun = lambda X, p, tgt=tgt: chi2_fn(full(X, tgt[p]))  # noqa: E731
        xn, fn, _ = minimize_batch(
            fun,
            best_x[src],
            space.lower[free],
            space.upper[free],
            maxiter=maxiter,
            restarts=0,
            xatol=xatol,
            fatol=fatol,
        )
        improved = False
        for t in np.unique(tgt):
            sel = np.flatnonzero(tgt == t)
            i = sel[np.argmin(fn[sel])]
            if fn[i] < best_f[t] - 1e-9 * max(1.0, abs(best_f[t])):
                best_f[t], best_x[t] = fn[i], xn[i]
                improved = True
        if not improved:
            break
    th = full(best_x, np.arange(P))
    return best_f, th


def profile_1d(
    chi2_fn: Chi2Fn,
    space: ParameterSpace,
    name: str,
    *,
    best: BestFit | np.ndarray | None = None,
    starts: np.ndarray | None = None,
    grid: np.ndarray | None = None,
    n_grid: int = 61,
    n_random: int = 16,
    n_starts: int = 4,
    max_pool: int = 128,
    n_sweeps: int = 3,
    seed: int = 0,
    maxiter: int | None = None,
    xatol: float = 1e-6,
    fatol: float = 1e-6,
) -> Profile1D:
    """Profile χ² of one parameter: at each grid value minimise over all the others.

    Parameters
    ----------
    chi2_fn : callable
        (n, d) -> (n,) χ², called in large batches.
    space : ParameterSpace
        The box; ``name`` must be one of its parameters.
    name : str
        The profiled parameter.
    best : BestFit or (d,) array, optional
        The best fit: its value of ``name`` is inserted into the grid so that Δχ² = 0 is hit,
        and a BestFit's χ² joins the reference minimum.
    starts : (m, d) array, optional
        Extra candidate points (e.g. lowest-χ² evaluated points or posterior samples).
    grid, n_grid : array or int
        The grid values (default: ``n_grid`` evenly spaced over the box).
    n_random, n_starts, max_pool, n_sweeps, seed
        Starts per grid point: the ``n_starts`` lowest-χ² candidates after setting ``name`` to
        the grid value (best fit + ``starts`` + ``n_random`` seeded random points, at most
        ``max_pool``, screened in one batch), then up to ``n_sweeps`` passes of warm starts from
        the two grid neighbours' solutions.
    maxiter, xatol, fatol
        Nelder–Mead limits per grid point (xatol in unit-box coordinates, fatol in χ²); the
        defaults give Δχ² to ~1e-6 on smooth functions.

    Returns
    -------
    Profile1D
        Grid, profiled χ², minimising points, the reference χ²_min and ``notes``.
    """
    j = space.names.index(name)
    rng = np.random.default_rng(seed)
    best_theta = (
        best.theta
        if isinstance(best, BestFit)
        else (None if best is None else np.asarray(best, dtype=np.float64))
    )
    x = (
        np.linspace(space.lower[j], space.upper[j], n_grid)
        if grid is None
        else np.asarray(grid, dtype=np.float64)
    )
    if best_theta is not None:
        x = np.union1d(x, [best_theta[j]])
    G = x.size
    pool = _candidate_pool(chi2_fn, space, best_theta, starts, n_random, rng)
    neigh = np.stack([np.arange(G) - 1, np.arange(G) + 1], axis=1)
    neigh[neigh >= G] = -1
    chi2, theta = _profile(
        chi2_fn,
        space,
        [j],
        x[:, None],
        neigh,
        pool,
        n_starts,
        max_pool,
        n_sweeps,
        maxiter,
        xatol,
        fatol,
    )
    notes = []
    ref = float(np.min(chi2))
    if isinstance(best, BestFit):
        if ref < best.chi2 - 1e-6:
            notes.append(
                f"the profile of {name} found χ² = {ref:.6g} below the best fit {best.chi2:.6g}"
            )
        ref = min(ref, best.chi2)
    return Profile1D(name, x, chi2, theta, ref, notes)


def profile_2d(
    chi2_fn: Chi2Fn,
    space: ParameterSpace,
    names: tuple[str, str],
    *,
    best: BestFit | np.ndarray | None = None,
    starts: np.ndarray | None = None,
    n_grid: int | tuple[int, int] = 41,
    n_random: int = 16,
    n_starts: int = 3,
    max_pool: int = 64,
    n_sweeps: int = 2,
    seed: int = 0,
    maxiter: int | None = None,
    xatol: float = 1e-4,
    fatol: float = 1e-4,
) -> Profile2D:
    """Profile χ² on a grid over a pair of parameters, minimising over the others.

    Parameters
    ----------
    chi2_fn, space, best, starts
        As for :func:`profile_1d`.
    names : (str, str)
        Two different parameters of ``space``, (x, y).
    n_grid : int or (int, int)
        Grid points per axis (x, y), evenly spaced over the box.
    n_random, n_starts, max_pool, n_sweeps, seed, maxiter, xatol, fatol
        As for :func:`profile_1d`, with 4-neighbour warm starts; looser default tolerances than 1-D
        (Δχ² to ~1e-4, plenty for contours), because the grid has G² points.

    Returns
    -------
    Profile2D
        The grid, χ² (Gy, Gx), minimising points, χ²_min and ``notes``; contours: ``LEVELS_2D``.

    Raises
    ------
    ValueError
        Unless ``names`` are two different parameters.
    """
    if len(names) != 2 or names[0] == names[1]:
        raise ValueError(f"profile_2d needs two different parameter names, got {names}")
    ix, iy = (space.names.index(n) for n in names)
    gx, gy = (n_grid, n_grid) if np.isscalar(n_grid) else n_grid
    x = np.linspace(space.lower[ix], space.upper[ix], gx)
    y = np.linspace(space.lower[iy], space.upper[iy], gy)
    X, Y = np.meshgrid(x, y)  # (gy, gx)
    vals = np.column_stack([X.ravel(), Y.ravel()])
    P = vals.shape[0]
    idx = np.arange(P).reshape(gy, gx)
    neigh = np.full((gy, gx, 4), -1)
    neigh[:, 1:, 0] = idx[:, :-1]
    neigh[:, :-1, 1] = idx[:, 1:]
    neigh[1:, :, 2] = idx[:-1, :]
    neigh[:-1, :, 3] = idx[1:, :]
    best_theta = (
        best.theta
        if isinstance(best, BestFit)
        else (None if best is None else np.asarray(best, dtype=np.float64))
    )
    pool = _candidate_pool(
        chi2_fn, space, best_theta, starts, n_random, np.random.default_rng(seed)
    )
    chi2, theta = _profile(
        chi2_fn,
        space,
        [ix, iy],
        vals,
        neigh.reshape(P, 4),
        pool,
        n_starts,
        max_pool,
        n_sweeps,
        maxiter,
        xatol,
        fatol,
    )
    ref = float(np.min(chi2))
    notes = []
    if isinstance(best, BestFit):
        if ref < best.chi2 - 1e-6:
            notes.append(f"the 2-D profile found χ² = {ref:.6g} below the best fit {best.chi2:.6g}")
        ref = min(ref, best.chi2)
    return Profile2D(
        (names[0], names[1]), x, y, chi2.reshape(gy, gx), theta.reshape(gy, gx, -1), ref, notes
    )
