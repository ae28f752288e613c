"""Best fit: batched, bounded Nelder–Mead (:func:`minimize_batch`) and the multi-start
:func:`best_fit` built on it.

Many independent simplices advance together and the χ² function sees one large batch per step,
which is what a vectorised surrogate needs (cheap per point, expensive per call). Nelder–Mead
rather than a gradient method because tree-ensemble surrogates are piecewise constant (zero
gradient almost everywhere); scipy's bounded methods ("L-BFGS-B", "Powell", "Nelder-Mead", ...)
remain available in :func:`best_fit` for smooth χ² functions. Random starts are the lowest-χ²
of a seeded uniform screen, because most of an ALP-like box is a wall where a start is wasted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from globalfit.space import ParameterSpace

__all__ = ["BestFit", "Chi2Fn", "best_fit", "minimize_batch"]

Chi2Fn = Callable[[np.ndarray], np.ndarray]


def minimize_batch(
    fun: Callable[[np.ndarray, np.ndarray], np.ndarray],
    x0: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    *,
    step: float = 0.05,
    xatol: float = 1e-7,
    fatol: float = 1e-9,
    maxiter: int | None = None,
    restarts: int = 1,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Minimise B independent problems at once with bounded Nelder–Mead.

    Parameters
    ----------
    fun : callable
        (X (N, k), problem (N,) int) -> (N,) objective; ``problem`` says which of the B problems
        each row belongs to (e.g. which profile grid point). NaN counts as +inf.
    x0 : (B, k) ndarray
        Starting points inside [lower, upper].
    lower, upper : (k,) ndarray
        Bounds, common to all problems.
    step : float
        Initial simplex edge as a fraction of each bound's width (points are projected into the
        bounds, as scipy's bounded Nelder–Mead does).
    xatol, fatol : float
        Per-problem convergence (in unit-box coordinates / objective units), scipy's rule.
    maxiter : int, optional
        Iteration limit per simplex (default 200 k).
    restarts : int
        Fresh simplices (step/4) started at the result, against premature collapse.

    Returns
    -------
    x : (B, k) ndarray
        The minima.
    f : (B,) ndarray
        Their objective values.
    calls : int
        Number of objective calls.
    """
    x0 = np.atleast_2d(np.asarray(x0, dtype=np.float64))
    lower = np.asarray(lower, dtype=np.float64)
    upper = np.asarray(upper, dtype=np.float64)
    width = upper - lower
    B, k = x0.shape
    maxiter = maxiter or 200 * k
    calls = 0

    def f_unit(u, prob):
        nonlocal calls
        calls += 1
        v = np.asarray(fun(lower + u * width, prob), dtype=np.float64).reshape(-1)
        return np.where(np.isnan(v), np.inf, v)

    u = np.clip((x0 - lower) / width, 0.0, 1.0)
    ubest, fbest = u, None
    for r in range(restarts + 1):
        u, fval = _nm_unit(f_unit, u, step / 4**r, xatol, fatol, maxiter)
        if fbest is not None:
            keep = fbest < fval
            u[keep], fval[keep] = ubest[keep], fbest[keep]
        ubest, fbest = u.copy(), fval.copy()
    return lower + ubest * width, fbest, calls


def _nm_unit(f, u0, step, xatol, fatol, maxiter):
    B, k = u0.shape
    S = np.repeat(u0[:, None, :], k + 1, axis=1)
    for j in range(k):
        S[:, j + 1, j] += np.where(u0[:, j] + step <= 1.0, step, -step)
    prob_all = np.arange(B)
    F = f(S.reshape(-1, k), np.repeat(prob_all, k + 1)).reshape(B, k + 1)
    active = np.arange(B)
    for _ in range(maxiter):
        if active.size == 0:
            break
        Sa, Fa = S[active], F[active]
        order = np.argsort(Fa, axis=1, kind="stable")
        Sa = np.take_along_axis(Sa, order[:, :, None], axis=1)
        Fa = np.take_along_axis(Fa, order, axis=1)
        with np.errstate(invalid="ignore"):
            fspread = np.max(np.abs(Fa[:, 1:] - Fa[:, :1]), axis=1)
        xspread = np.max(np.abs(Sa[:, 1:] - Sa[:, :1]), axis=(1, 2))
        done = (xspread <= xatol) & ((fspread <= fatol) | ~np.isfinite(Fa[:, 0]))
        S[active], F[active] = Sa, Fa
        if done.any():
            keep = ~done
            active, Sa, Fa = active[keep], Sa[keep], Fa[keep]
            if active.size == 0:
                break
        xbar = Sa[:, :-1].mean(axis=1)
        xw = Sa[:, -1]
        xr = np.clip(2.0 * xbar - xw, 0.0, 1.0)
        fr = f(xr, active)
        f0, fs, fw = Fa[:, 0], Fa[:, -2], Fa[:, -1]
        expand = fr < f0
        accept_r = (fr >= f0) & (fr < fs)
        outside = (fr >= fs) & (fr < fw)
        inside = fr >= fw
        x2 = np.where(
            expand[:, None],
            np.clip(3.0 * xbar - 2.0 * xw, 0.0, 1.0),
            np.where(outside[:, None], xbar + 0.5 * (xr - xbar), xbar + 0.5 * (xw - xbar)),
        )
        need2 = ~accept_r
        f2 = np.full(active.size, np.inf)
        if need2.any():
            f2[need2] = f(x2[need2], active[need2])
        use2 = (expand & (f2 < fr)) | (outside & (f2 <= fr)) | (inside & (f2 < fw))
        use_r = accept_r | (expand & ~(f2 < fr))
        shrink = ~(use2 | use_r)
        newx = np.where(use2[:, None], x2, xr)
        newf = np.where(use2, f2, fr)
        repl = ~shrink
        Sa[repl, -1] = newx[repl]
        Fa[repl, -1] = newf[repl]
        if shrink.any():
            sidx = np.flatnonzero(shrink)
            Ss = Sa[sidx]
            Ss[:, 1:] = Ss[:, :1] + 0.5 * (Ss[:, 1:] - Ss[:, :1])
            Fs = f(Ss[:, 1:].reshape(-1, k), np.repeat(active[sidx], k)).reshape(-1, k)
            Sa[sidx] = Ss
            Fa[sidx, 1:] = Fs
        S[active], F[active] = Sa, Fa
    best = np.argmin(F, axis=1)
    return S[np.arange(B), best].copy(), F[np.arange(B), best].copy()


@dataclass
class BestFit:
    """theta : (d,) best point, chi2 its χ²; minima : (m, d) distinct local minima found (sorted),
    minima_chi2 : (m,); n_starts, n_calls (batched calls of the χ² function)."""

    names: tuple[str, ...]
    theta: np.ndarray
    chi2: float
    minima: np.ndarray
    minima_chi2: np.ndarray
    n_starts: int
    n_calls: int
    method: str

    def as_dict(self) -> dict:
        return {
            "theta": dict(zip(self.names, map(float, self.theta), strict=False)),
            "chi2": float(self.chi2),
            "method": self.method,
            "n_starts": self.n_starts,
            "local_minima": [
                {"theta": dict(zip(self.names, map(float, t), strict=False)), "chi2": float(c)}
                for t, c in zip(self.minima, self.minima_chi2, strict=True)
            ],
        }


def _distinct(theta_u: np.ndarray, chi2: np.ndarray, tol: float = 1e-3) -> np.ndarray:
    order = np.argsort(chi2)
    keep: list[int] = []
    for i in order:
        if not np.isfinite(chi2[i]):
            continue
        if all(np.max(np.abs(theta_u[i] - theta_u[j])) > tol for j in keep):
            keep.append(i)
    return np.array(keep, dtype=int)


def best_fit(
    chi2_fn: Chi2Fn,
    space: ParameterSpace,
    starts: np.ndarray | None = None,
    *,
    n_random: int = 32,
    n_screen: int = 4096,
    seed: int = 0,
    method: str = "batch-nelder-mead",
    maxiter: int | None = None,
) -> BestFit:
    """Multi-start minimisation of χ² inside the box.

    Parameters
    ----------
    chi2_fn : callable
        (n, d) -> (n,) χ²; NaN counts as +inf.
    space : ParameterSpace
        The box to minimise in.
    starts : (m, d) array, optional
        Points to start from (e.g. the best evaluated points), in addition to ``n_random``
        random starts: the lowest-χ² of ``n_screen`` uniform points drawn with
        ``np.random.default_rng(seed)`` (one batch call). ``n_screen = n_random`` gives plain
        uniform random starts.
    n_random, n_screen, seed : int
        Number of random starts, the uniform points screened for them, and their seed.
    method : str
        "batch-nelder-mead" (all starts advance together; works on piecewise-constant tree
        surrogates) or a bounded ``scipy.optimize.minimize`` method ("L-BFGS-B", "Powell",
        "Nelder-Mead", "TNC", "SLSQP"), run per start; gradient methods get central finite
        differences evaluated in one batch (2d + 1 points per call).
    maxiter : int, optional
        Iteration limit per start (default: 200 d for Nelder–Mead, scipy's otherwise).

    Returns
    -------
    BestFit
        The best point and its χ², with the distinct local minima found, sorted by χ².
    """
    d = space.dim
    rng = np.random.default_rng(seed)
    parts = []
    if starts is not None:
        parts.append(space.check(starts, what="best-fit starting points"))
    if n_random > 0:
        cand = space.from_unit(rng.random((max(n_screen, n_random), d)))
        cv = np.asarray(chi2_fn(cand), dtype=np.float64).reshape(-1)
        parts.append(cand[np.argsort(np.where(np.isnan(cv), np.inf, cv), kind="stable")[:n_random]])
    if not parts:
        raise ValueError("best_fit: no starting points (give starts or n_random > 0)")
    x0 = np.vstack(parts)
    if method == "batch-nelder-mead":
        x, f, calls = minimize_batch(
            lambda X, _p: chi2_fn(X), x0, space.lower, space.upper, maxiter=maxiter
        )
    else:
        x, f, calls = _scipy_multistart(chi2_fn, space, x0, method, maxiter)
    idx = _distinct(space.to_unit(x), f)
    if idx.size == 0:
        raise RuntimeError("best_fit: χ² was not finite at any local minimum found")
    return BestFit(
        space.names,
        x[idx[0]].copy(),
        float(f[idx[0]]),
        x[idx].copy(),
        f[idx].copy(),
        x0.shape[0],
        calls,
        method,
    )


def _scipy_multistart(chi2_fn, space, x0, method, maxiter):
    d = space.dim
    calls = 0
    h = 1e-6 * space.width

    def fun(x):
        nonlocal calls
        calls += 1
        v = float(np.asarray(chi2_fn(x[None, :])).reshape(-1)[0])
        return v if np.isfinite(v) else 1e300

    def fun_grad(x):
        nonlocal calls
        calls += 1
        pts = np.vstack([x, x + np.diag(h), x - np.diag(h)])
        pts = np.clip(pts, space.lower, space.upper)
        v = np.asarray(chi2_fn(pts), dtype=np.float64).reshape(-1)
        dx = pts[1 : d + 1].diagonal() - pts[d + 1 :].diagonal()
        g = (v[1 : d + 1] - v[d + 1 :]) / np.where(dx == 0, 1.0, dx)
        f0 = v[0] if np.isfinite(v[0]) else 1e300
        return f0, np.where(np.isfinite(g), g, 0.0)

    grad_methods = {"L-BFGS-B", "TNC", "SLSQP"}
    opts = {} if maxiter is None else {"maxiter": maxiter}
    bounds = list(zip(space.lower, space.upper, strict=True))
    xs, fs = [], []
    for start in x0:
        if method in grad_methods:
            r = optimize.minimize(
                fun_grad, start, jac=True, method=method, bounds=bounds, options=opts
            )
        else:
            r = optimize.minimize(fun, start, method=method, bounds=bounds, options=opts)
        xs.append(np.clip(r.x, space.lower, space.upper))
        fs.append(float(np.asarray(chi2_fn(xs[-1][None, :])).reshape(-1)[0]))
    return np.array(xs), np.array(fs), calls
