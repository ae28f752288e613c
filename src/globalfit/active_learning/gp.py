"""The Gaussian process of active learning (gpflow): GPR with an ARD squared-exponential kernel on
the unit cube, SGPR with inducing points above ``sparse_above`` points, a warm-startable state
(hyperparameters of the round before), a noise floor, and a pool posterior whose covariance
columns are computed only for the candidates the batch needs. TensorFlow is imported lazily.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping

import numpy as np
from scipy.linalg import cho_solve, cholesky, solve_triangular

from globalfit.active_learning.target import DEFAULT_START
from globalfit.logs import CUDA_PROBING, has_nvidia_gpu, without_lines

__all__ = [
    "GPModel",
    "JITTER",
    "LENGTHSCALE_MIN",
    "STATE_FORMAT",
    "VARIANCE_MIN",
    "select_inducing_points",
]

STATE_FORMAT = "globalfit.active_learning.gp/1"


JITTER = 1e-6  # gpflow's default_jitter, added to K_uu of the sparse GP


LENGTHSCALE_MIN = 1e-2  # unit-cube units; shorter scales only fit noise


VARIANCE_MIN = 1e-6  # standardised units


def select_inducing_points(
    u: np.ndarray, y: np.ndarray, m: int, rng: np.random.Generator, *, best_share: float = 0.25
) -> np.ndarray:
    """Inducing points: the best ``best_share`` · m points by y, then k-means++ (D²) draws.

    Parameters
    ----------
    u : (n, d) ndarray
        Candidate points (unit cube).
    y : (n,) ndarray
        Their maximised target.
    m : int
        Number of inducing points.
    rng : numpy.random.Generator
        Source of the D² draws.
    best_share : float
        Share of ``m`` taken as the best points by y.

    Returns
    -------
    (m, d) ndarray
        The inducing points; all of u when m ≥ n (fewer than m if the rest coincide with
        chosen points).
    """
    u = np.asarray(u, dtype=np.float64)
    n = len(u)
    if m >= n:
        return u.copy()
    n_best = min(int(best_share * m), m)
    chosen = list(np.argsort(-np.asarray(y), kind="stable")[:n_best])
    if not chosen:
        chosen = [int(rng.integers(n))]
    d2 = np.min(np.sum((u[:, None, :] - u[None, chosen, :]) ** 2, axis=-1), axis=1)
    while len(chosen) < m:
        total = d2.sum()
        if total <= 0:
            break
        i = int(rng.choice(n, p=d2 / total))
        chosen.append(i)
        d2 = np.minimum(d2, np.sum((u - u[i]) ** 2, axis=1))
    return u[np.array(chosen)]


def _gpflow():
    """Import TensorFlow/gpflow lazily (seconds of CPU) with determinism on."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")  # only effective before TF's first import
    # Without a GPU, TensorFlow's search for CUDA prints errors at any log level (at import and
    # when it first lists devices); drop those lines, keep every other one.
    with without_lines(() if has_nvidia_gpu() else CUDA_PROBING):
        import gpflow
        import tensorflow as tf

        tf.config.list_physical_devices("GPU")
    tf.config.experimental.enable_op_determinism()
    return tf, gpflow


def _se_kernel(
    a: np.ndarray, b: np.ndarray, lengthscales: np.ndarray, variance: float
) -> np.ndarray:
    """Squared-exponential kernel matrix (len(a), len(b)), numerically as gpflow's."""
    a = a / lengthscales
    b = b / lengthscales
    sq = np.sum(a**2, axis=1)[:, None] + np.sum(b**2, axis=1)[None, :] - 2.0 * a @ b.T
    return variance * np.exp(-0.5 * np.maximum(sq, 0.0))


class _PoolPosterior:
    """Posterior of the standardised GP on a fixed pool of points, with covariance columns on
    demand.

    cov(x, x') = k(x, x') - t1(x)·t1(x') [+ t2(x)·t2(x') for the sparse GP].
    """

    def __init__(self, model: GPModel, u_pool: np.ndarray):
        self.model = model
        self.u = u_pool
        ls, var = model.lengthscales_, model.kernel_variance_std_
        if model.Z_ is None:
            ks = _se_kernel(model.X_, u_pool, ls, var)
            self.mean = ks.T @ model._alpha
            self.t1 = solve_triangular(model._L, ks, lower=True, check_finite=False)
            self.t2 = None
            self.var = var - np.sum(self.t1**2, axis=0)
        else:
            kus = _se_kernel(model.Z_, u_pool, ls, var)
            self.t1 = solve_triangular(model._L, kus, lower=True, check_finite=False)
            self.t2 = solve_triangular(model._LB, self.t1, lower=True, check_finite=False)
            self.mean = self.t2.T @ model._c
            self.var = var - np.sum(self.t1**2, axis=0) + np.sum(self.t2**2, axis=0)
        self.var = np.maximum(self.var, 0.0)

    def cov_column(self, j: int) -> np.ndarray:
        model = self.model
        col = _se_kernel(
            self.u, self.u[j : j + 1], model.lengthscales_, model.kernel_variance_std_
        )[:, 0]
        col -= self.t1.T @ self.t1[:, j]
        if self.t2 is not None:
            col += self.t2.T @ self.t2[:, j]
        return col


class GPModel:
    """GP regression of a maximised target on unit-cube inputs (gpflow GPR or SGPR, ARD SE kernel).

    Parameters
    ----------
    sparse : use SGPR with ``n_inducing`` fixed inducing points instead of exact GPR.
    n_inducing : number of inducing points (sparse only).
    noise_floor : lower bound of the likelihood variance, in units of the standardised target.
    warm_start : a dict from :meth:`get_state` of a previous fit (or None); used as a first
        optimisation start besides the fixed default start.
    max_iter : L-BFGS-B iterations per start.
    random_state : int or numpy Generator (inducing-point selection only).

    Learned attributes: ``X_`` (n, d), ``y_mean_``, ``y_std_``, ``lengthscales_`` (d,) unit-cube
    units, ``kernel_variance_std_``, ``noise_variance_std_`` (standardised target units),
    ``Z_`` (m, d) inducing points or None, ``objective_`` (log marginal likelihood, ELBO if
    sparse, standardised target), ``n_iter_``, ``start_`` ('warm' or 'default'), ``cpu_seconds_``.
    """

    def __init__(
        self,
        *,
        sparse: bool = False,
        n_inducing: int = 256,
        noise_floor: float = 1e-6,
        warm_start: Mapping | None = None,
        max_iter: int = 200,
        random_state: int | np.random.Generator = 0,
    ):
        self.sparse = sparse
        self.n_inducing = n_inducing
        self.noise_floor = noise_floor
        self.warm_start = warm_start
        self.max_iter = max_iter
        self.random_state = random_state

    def _starts(self, d: int) -> list[tuple[str, dict]]:
        default = {
            "lengthscales": np.full(d, DEFAULT_START["lengthscale"]),
            "kernel_variance": DEFAULT_START["kernel_variance"],
            "noise_variance": max(DEFAULT_START["noise_variance"], 10 * self.noise_floor),
        }
        starts = []
        ws = self.warm_start
        if ws:
            if ws.get("format") != STATE_FORMAT:
                raise ValueError(
                    f"GP warm start: unknown state format {ws.get('format')!r}, expected "
                    f"{STATE_FORMAT!r}"
                )
            ls = np.asarray(ws["lengthscales"], dtype=np.float64)
            if ls.shape != (d,):
                raise ValueError(f"GP warm start: {ls.size} length scales for {d} parameters")
            starts.append(
                (
                    "warm",
                    {
                        "lengthscales": ls,
                        "kernel_variance": float(ws["kernel_variance"]),
                        "noise_variance": float(ws["noise_variance"]),
                    },
                )
            )
        starts.append(("default", default))
        for _, s in starts:  # strictly inside the bounds, else the bijector's inverse is -inf
            s["lengthscales"] = np.maximum(s["lengthscales"], 1.01 * LENGTHSCALE_MIN)
            s["kernel_variance"] = max(s["kernel_variance"], 1.01 * VARIANCE_MIN)
            s["noise_variance"] = max(s["noise_variance"], 1.01 * self.noise_floor)
        return starts

    def fit(self, u: np.ndarray, y: np.ndarray) -> GPModel:
        """u : (n, d) unit-cube inputs, y : (n,) finite target values. Returns self."""
        t0 = time.process_time()
        u = np.ascontiguousarray(u, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64).reshape(-1)
        if u.ndim != 2 or len(u) != len(y):
            raise ValueError(
                f"GPModel.fit: u must be (n, d) and y (n,), got {u.shape} and {y.shape}"
            )
        if len(y) < 2 or not (np.all(np.isfinite(u)) and np.all(np.isfinite(y))):
            raise ValueError("GPModel.fit: need at least two points with finite inputs and targets")
        if not self.noise_floor > 0:
            raise ValueError(f"GPModel: noise_floor must be positive, got {self.noise_floor}")
        tf, gpflow = _gpflow()
        from gpflow.utilities import positive

        n, d = u.shape
        self.X_ = u
        self.y_mean_ = float(np.mean(y))
        std = float(np.std(y))
        self.y_std_ = std if std > 1e-12 else 1.0
        ys = ((y - self.y_mean_) / self.y_std_)[:, None]
        rng = np.random.default_rng(self.random_state)
        self.Z_ = select_inducing_points(u, y, self.n_inducing, rng) if self.sparse else None

        kernel = gpflow.kernels.SquaredExponential()
        kernel.lengthscales = gpflow.Parameter(
            np.full(d, DEFAULT_START["lengthscale"]), transform=positive(lower=LENGTHSCALE_MIN)
        )
        kernel.variance = gpflow.Parameter(1.0, transform=positive(lower=VARIANCE_MIN))
        likelihood = gpflow.likelihoods.Gaussian(
            variance=1.0, variance_lower_bound=self.noise_floor
        )
        if self.Z_ is None:
            model = gpflow.models.GPR((u, ys), kernel=kernel, likelihood=likelihood)
        else:
            model = gpflow.models.SGPR(
                (u, ys), kernel=kernel, inducing_variable=self.Z_.copy(), likelihood=likelihood
            )
            gpflow.set_trainable(model.inducing_variable, False)
        loss = model.training_loss
        opt = gpflow.optimizers.Scipy()
        best = None
        for name, start in self._starts(d):
            kernel.lengthscales.assign(start["lengthscales"])
            kernel.variance.assign(start["kernel_variance"])
            likelihood.variance.assign(start["noise_variance"])
            try:
                res = opt.minimize(
                    loss,
                    model.trainable_variables,
                    options={"maxiter": self.max_iter},
                    # the loss has no Python control flow: skipping autograph's source conversion
                    # saves ~0.1 s per fit (a third of a proposal's CPU time), same graph
                    tf_fun_args={"autograph": False},
                )
                value = float(loss().numpy())
            except tf.errors.InvalidArgumentError:  # Cholesky failure from this start
                continue
            if not np.isfinite(value):
                continue
            if best is None or value < best[0]:
                best = (
                    value,
                    name,
                    int(res.nit),
                    kernel.lengthscales.numpy().astype(np.float64).copy(),
                    float(kernel.variance.numpy()),
                    float(likelihood.variance.numpy()),
                )
        if best is None:
            raise RuntimeError("GPModel.fit: hyperparameter optimisation failed from every start")
        (
            value,
            self.start_,
            self.n_iter_,
            self.lengthscales_,
            self.kernel_variance_std_,
            self.noise_variance_std_,
        ) = best
        self.objective_ = -value
        self._precompute(ys[:, 0])
        self.cpu_seconds_ = time.process_time() - t0
        return self

    def _precompute(self, ys: np.ndarray) -> None:
        ls, var, noise = self.lengthscales_, self.kernel_variance_std_, self.noise_variance_std_
        if self.Z_ is None:
            k = _se_kernel(self.X_, self.X_, ls, var)
            k[np.diag_indices_from(k)] += noise
            self._L = cholesky(k, lower=True, check_finite=False)
            self._alpha = cho_solve((self._L, True), ys, check_finite=False)
        else:
            sigma = math.sqrt(noise)
            kuu = _se_kernel(self.Z_, self.Z_, ls, var) + JITTER * np.eye(len(self.Z_))
            self._L = cholesky(kuu, lower=True, check_finite=False)
            a = (
                solve_triangular(
                    self._L, _se_kernel(self.Z_, self.X_, ls, var), lower=True, check_finite=False
                )
                / sigma
            )
            self._LB = cholesky(a @ a.T + np.eye(len(self.Z_)), lower=True, check_finite=False)
            self._c = solve_triangular(self._LB, a @ ys / sigma, lower=True, check_finite=False)

    def predict(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """u : (m, d) unit cube -> (mean (m,), sd (m,)) of the latent target (noise excluded), in
        target units."""
        post = _PoolPosterior(self, np.ascontiguousarray(u, dtype=np.float64))
        return self.y_mean_ + self.y_std_ * post.mean, self.y_std_ * np.sqrt(post.var)

    def get_state(self) -> dict:
        """JSON-serialisable hyperparameters (standardised target units) for a warm start."""
        return {
            "format": STATE_FORMAT,
            "lengthscales": [float(v) for v in self.lengthscales_],
            "kernel_variance": float(self.kernel_variance_std_),
            "noise_variance": float(self.noise_variance_std_),
        }
