"""Posterior sampling with emcee: seeded, resumable, with honest convergence diagnostics.

Entry points
------------
``sample_posterior(chi2_fn, prior, starts, ...)``  -> :class:`SamplingResult`
    log p = −χ²/2 + log prior (−inf outside the box), emcee ``EnsembleSampler`` with
    ``vectorize=True`` so the χ² function sees one batch of n_walkers/2 points per call.
``run_emcee(log_prob, space, starts, ...)``  -> :class:`SamplingResult`
    the same for any vectorised log-probability (n, d) -> (n,).
``SamplingResult.from_backend(path)``  re-analyses a finished chain file.
``finalize_chain(backend_path, out_path)``  atomically copies the backend to the workflow output.

Reproducibility and resuming
----------------------------
emcee draws all its random numbers from ``sampler._random`` (a ``np.random.RandomState``); it is
seeded here through the public ``sampler.random_state`` setter with
``RandomState(seed).get_state()``, and the starting ball is drawn from
``np.random.default_rng(seed)``. The backend (:class:`BufferedHDFBackend`, an
``emcee.backends.HDFBackend`` that writes every few seconds instead of every step) stores the
generator state with the last written step, and an ``EnsembleSampler`` built on an existing
backend restores it together with the last walker positions and log-probabilities
(``backend.get_last_sample()``). So a run interrupted after k steps and called again with the
same arguments continues for the remaining n_steps − k steps and gives **bit-identical** chains
to an uninterrupted run (tested, including a SIGTERM-killed process). Buffered steps are written
on an exception and on SIGTERM (the process then exits with status 143); SIGKILL loses at most
``flush_seconds`` of steps. A backend whose walkers, dimension, seed, parameter names or caller
``fingerprint`` (e.g. a config hash) differ, that holds more than n_steps iterations, or that
cannot be read (killed during a write), is not resumed: it is renamed to ``<path>.stale`` and a
warning is logged.

Diagnostics (documented choices)
--------------------------------
* τ: integrated autocorrelation time per parameter, ``emcee.autocorr.integrated_time(chain,
  tol=0)`` on the whole chain (the walker-averaged estimator emcee's ``get_autocorr_time`` uses).
* burn-in = ceil(BURN_FACTOR · max τ) with BURN_FACTOR = 3;
  thin = max(1, floor(THIN_FACTOR · min τ)) with THIN_FACTOR = 0.5.
* converged ⇔ all τ finite and n_steps ≥ CONVERGENCE_FACTOR · max τ with CONVERGENCE_FACTOR = 50
  (emcee's own reliability rule for τ; the τ estimate itself is unreliable otherwise). A chain that
  fails it is still returned, with ``converged = False``, a WARNING in the log and a sentence in
  ``notes``; ``on_unconverged="raise"`` turns it into an error.
* ESS per parameter = n_walkers · (n_steps − burn) / τ.
* acceptance fraction per walker (emcee's; healthy ≈ 0.2–0.5 in several dimensions, higher in one
  or two); a mean below 0.15 is noted, and walkers below 5 % are reported as possibly stuck (e.g.
  in a separate minimum).
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence

import emcee
import h5py
import numpy as np

from globalfit.priors import LogPosterior, Prior
from globalfit.space import ParameterSpace

BURN_FACTOR = 3.0
THIN_FACTOR = 0.5
CONVERGENCE_FACTOR = 50.0
STUCK_ACCEPTANCE = 0.05
_GROUP = "mcmc"
_ATTR = "globalfit_"

log = logging.getLogger(__name__)


class NotConvergedError(RuntimeError):
    """Raised with ``on_unconverged="raise"`` when n_steps < 50 max τ."""


# --------------------------------------------------------------------------------------------
# starting points


def initial_ball(
    starts: np.ndarray,
    n_walkers: int,
    space: ParameterSpace,
    *,
    scale: float = 0.01,
    seed: int = 0,
    log_prob: Callable[[np.ndarray], np.ndarray] | None = None,
    max_tries: int = 100,
) -> np.ndarray:
    """Walker positions (n_walkers, d): a small Gaussian ball around the given best points.

    starts : (m, d) points inside the box, best first; walker i starts near ``starts[i % m]``.
    scale : ball sd as a fraction of each parameter's box width.
    Draws outside the box (or with −inf ``log_prob``) are redrawn, never clipped; after
    ``max_tries`` rounds a ValueError names the offending start.
    """
    starts = space.check(starts, what="sampler starting points")
    if scale <= 0:
        raise ValueError(f"ball scale must be > 0, got {scale}")
    rng = np.random.default_rng(seed)
    idx = np.arange(n_walkers) % starts.shape[0]
    centers = starts[idx]
    sd = scale * space.width
    pos = centers + rng.normal(size=centers.shape) * sd
    for _ in range(max_tries):
        bad = ~space.contains(pos)
        if log_prob is not None and not bad.all():
            lp = np.full(n_walkers, -np.inf)
            lp[~bad] = log_prob(pos[~bad])
            bad |= ~np.isfinite(lp)
        if not bad.any():
            return pos
        pos[bad] = centers[bad] + rng.normal(size=(int(bad.sum()), space.dim)) * sd
    worst = starts[idx[bad][0]]
    raise ValueError(
        f"could not place {int(bad.sum())} walkers inside the box with finite log-posterior after "
        f"{max_tries} draws; e.g. around start {worst.tolist()} (is its log-posterior finite?)"
    )


# --------------------------------------------------------------------------------------------
# result and diagnostics


@dataclass
class SamplingResult:
    """A finished (or analysed) chain and its diagnostics.

    chain : (n_steps, n_walkers, d); log_prob : (n_steps, n_walkers); acceptance : (n_walkers,)
    tau, ess : (d,). ``samples`` = chain[burn::thin] flattened to (n, d).
    """

    names: tuple[str, ...]
    chain: np.ndarray
    log_prob: np.ndarray
    acceptance: np.ndarray
    tau: np.ndarray
    burn: int
    thin: int
    converged: bool
    ess: np.ndarray
    seed: int | None = None
    backend_path: str | None = None
    resumed_from: int = 0
    n_invalid: int | None = None
    wall_time: float | None = None
    evals_per_second: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def n_steps(self) -> int:
        return self.chain.shape[0]

    @property
    def n_walkers(self) -> int:
        return self.chain.shape[1]

    @property
    def samples(self) -> np.ndarray:
        """(n, d) post-burn-in, thinned samples (emcee's ``get_chain(discard, thin, flat=True)``)."""
        return self.chain[self.burn :: self.thin].reshape(-1, self.chain.shape[2])

    @property
    def sample_log_prob(self) -> np.ndarray:
        """(n,) log-posterior of ``samples``."""
        return self.log_prob[self.burn :: self.thin].reshape(-1)

    def diagnostics(self) -> dict:
        """JSON-ready diagnostics: τ, burn/thin, convergence, acceptance, ESS, notes."""
        return {
            "n_walkers": self.n_walkers,
            "n_steps": self.n_steps,
            "seed": self.seed,
            "resumed_from_step": self.resumed_from,
            "tau": dict(zip(self.names, map(float, self.tau))),
            "max_tau": float(np.max(self.tau)),
            "tau_reliable": bool(self.converged),  # emcee's rule: chain longer than 50 tau
            "burn": self.burn,
            "thin": self.thin,
            "burn_rule": f"burn = ceil({BURN_FACTOR:g} max tau), thin = max(1, floor({THIN_FACTOR:g} min tau))",
            "converged": bool(self.converged),
            "convergence_rule": f"n_steps >= {CONVERGENCE_FACTOR:g} max tau",
            "acceptance_mean": float(np.mean(self.acceptance)),
            "acceptance_min": float(np.min(self.acceptance)),
            "acceptance_max": float(np.max(self.acceptance)),
            "ess": dict(zip(self.names, map(float, self.ess))),
            "n_samples": int(self.samples.shape[0]),
            "n_invalid_chi2": self.n_invalid,
            "wall_time_s": self.wall_time,
            "log_prob_evals_per_s": self.evals_per_second,
            "notes": list(self.notes),
        }

    def summary(self, derived: Mapping[str, np.ndarray] | None = None) -> dict:
        """Posterior mean, sd and 2.5/16/50/84/97.5 % quantiles of the parameters (from
        ``samples``) and of caller-supplied derived quantities {name: (n,) values}, plus the
        diagnostics."""
        from globalfit.statistics import posterior_summary

        out = {"parameters": posterior_summary(self.samples, self.names), "diagnostics": self.diagnostics()}
        if derived:
            out["derived"] = posterior_summary(
                np.column_stack([np.asarray(v, dtype=np.float64).reshape(-1) for v in derived.values()]),
                tuple(derived),
            )
        return out

    @classmethod
    def from_arrays(cls, chain, log_prob, acceptance, names, **extra) -> "SamplingResult":
        """Compute τ, burn, thin, convergence and ESS for a (n_steps, n_walkers, d) chain."""
        chain = np.asarray(chain, dtype=np.float64)
        n_steps, n_walkers, d = chain.shape
        notes = list(extra.pop("notes", []))
        tau = np.asarray(emcee.autocorr.integrated_time(chain, tol=0), dtype=np.float64)
        finite = bool(np.all(np.isfinite(tau)) and np.all(tau > 0))
        if not finite:
            notes.append(
                "autocorrelation time is not finite for "
                f"{[n for n, t in zip(names, tau) if not (np.isfinite(t) and t > 0)]}: walkers did not move"
            )
            tau_use = np.where(np.isfinite(tau) & (tau > 0), tau, float(n_steps))
        else:
            tau_use = tau
        max_tau, min_tau = float(np.max(tau_use)), float(np.min(tau_use))
        converged = finite and n_steps >= CONVERGENCE_FACTOR * max_tau
        burn = int(math.ceil(BURN_FACTOR * max_tau))
        thin = max(1, int(math.floor(THIN_FACTOR * min_tau)))
        if burn >= n_steps:
            notes.append(
                f"burn-in {burn} (= {BURN_FACTOR:g} max tau) is not shorter than the chain ({n_steps} steps); "
                f"discarding the first half instead — these samples are NOT reliable"
            )
            burn = n_steps // 2
        if not converged:
            notes.append(
                f"NOT CONVERGED: {n_steps} steps < {CONVERGENCE_FACTOR:g} x max tau = "
                f"{CONVERGENCE_FACTOR * max_tau:.0f}; tau and the posterior are unreliable — run longer "
                f"(about {int(CONVERGENCE_FACTOR * max_tau) + 1} steps)"
            )
        ess = n_walkers * (n_steps - burn) / tau_use
        acceptance = np.asarray(acceptance, dtype=np.float64)
        stuck = int(np.sum(acceptance < STUCK_ACCEPTANCE))
        if stuck:
            notes.append(
                f"{stuck} of {n_walkers} walkers accepted < {STUCK_ACCEPTANCE:.0%} of proposals "
                f"(stuck, e.g. in a separate minimum)"
            )
        mean_acc = float(np.mean(acceptance))
        if mean_acc < 0.15:
            notes.append(f"mean acceptance fraction {mean_acc:.2f} is low (healthy: about 0.2-0.5; the stretch "
                         f"move accepts more in few dimensions)")
        return cls(
            names=tuple(names), chain=chain, log_prob=np.asarray(log_prob, dtype=np.float64),
            acceptance=acceptance, tau=tau, burn=burn, thin=thin, converged=bool(converged), ess=ess,
            notes=notes, **extra,
        )

    @classmethod
    def from_backend(cls, path: str | os.PathLike, names: Sequence[str] | None = None) -> "SamplingResult":
        """Analyse a chain stored by :func:`run_emcee` (or any emcee HDFBackend file)."""
        backend = emcee.backends.HDFBackend(str(path), read_only=True)
        if backend.iteration == 0:
            raise ValueError(f"{path}: the chain is empty")
        meta = _read_meta(Path(path))
        if names is None:
            names = meta.get("names") or tuple(f"x{i}" for i in range(backend.shape[1]))
        return cls.from_arrays(
            backend.get_chain(), backend.get_log_prob(), backend.accepted / backend.iteration, names,
            seed=meta.get("seed"), backend_path=str(path),
        )


# --------------------------------------------------------------------------------------------
# backend bookkeeping


def _read_meta(path: Path) -> dict:
    with h5py.File(path, "r") as f:
        g = f[_GROUP]
        a = g.attrs
        meta = {
            "iteration": int(a["iteration"]),
            "nwalkers": int(a["nwalkers"]),
            "ndim": int(a["ndim"]),
        }
        if _ATTR + "seed" in a:
            meta["seed"] = int(a[_ATTR + "seed"])
        if _ATTR + "names" in a:
            meta["names"] = tuple(str(x) for x in a[_ATTR + "names"].split(","))
        if _ATTR + "fingerprint" in a:
            meta["fingerprint"] = str(a[_ATTR + "fingerprint"])
    return meta


def _write_meta(path: Path, seed: int, names: Sequence[str], fingerprint: str) -> None:
    from globalfit import __version__ as version  # noqa: PLC0415

    with h5py.File(path, "a") as f:
        a = f[_GROUP].attrs
        a[_ATTR + "seed"] = int(seed)
        a[_ATTR + "names"] = ",".join(names)
        a[_ATTR + "fingerprint"] = fingerprint
        a[_ATTR + "version"] = str(version)


def _resume_state(path: Path, n_walkers: int, names: Sequence[str], seed: int, fingerprint: str, n_steps: int,
                  logger: logging.Logger) -> int:
    """Iterations to resume from (0 = start afresh). Incompatible files are moved to .stale."""
    if not path.exists():
        return 0
    reason = None
    try:
        meta = _read_meta(path)
    except Exception as exc:  # unreadable / half-written file
        reason = f"cannot be read ({type(exc).__name__}: {exc})"
    else:
        want = {"nwalkers": n_walkers, "ndim": len(names), "seed": seed, "names": tuple(names), "fingerprint": fingerprint}
        diff = [f"{k}: file {meta.get(k)!r} vs run {v!r}" for k, v in want.items() if meta.get(k) != v]
        if diff:
            reason = "belongs to a different run (" + "; ".join(diff) + ")"
        elif meta["iteration"] > n_steps:
            reason = f"holds {meta['iteration']} steps, more than the requested {n_steps}"
        elif meta["iteration"] == 0:
            reason = "holds no steps"
    if reason is None:
        return meta["iteration"]
    stale = path.with_name(path.name + ".stale")
    os.replace(path, stale)
    logger.warning("sampler backend %s %s: moved to %s, starting afresh", path, reason, stale)
    return 0


def finalize_chain(backend_path: str | os.PathLike, out_path: str | os.PathLike) -> Path:
    """Copy the finished backend (kept outside Snakemake's outputs so that it survives an
    interrupted job) to the workflow output, atomically (copy to a temporary name, then rename)."""
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".partial")
    shutil.copy2(backend_path, tmp)
    os.replace(tmp, out)
    return out


class BufferedHDFBackend(emcee.backends.HDFBackend):
    """``emcee.backends.HDFBackend`` that writes every ``flush_seconds`` (or ``flush_steps``)
    instead of every step.

    The stock backend opens the HDF5 file once per step, which costs milliseconds and capped a
    fast surrogate at ~10⁴ log-posterior evaluations per second here (see
    ``benchmarks/sampling_speed.py``). Buffered steps are written together with the generator
    state of the last buffered step, so the file is always a consistent prefix of the run and a
    resumed run stays bit-identical; an abrupt kill loses at most ``flush_seconds`` of work.
    Every read (iteration, chain, acceptance, random state) flushes first. Blobs are not supported.
    """

    def __init__(self, filename, *, flush_seconds: float = 5.0, flush_steps: int = 1000, **kwargs):
        super().__init__(filename, **kwargs)
        self.flush_seconds = float(flush_seconds)
        self.flush_steps = int(flush_steps)
        self._buf_coords: list[np.ndarray] = []
        self._buf_logp: list[np.ndarray] = []
        self._buf_acc = None
        self._buf_rstate = None
        self._last_flush = time.monotonic()

    def save_step(self, state, accepted):
        if state.blobs is not None:
            raise ValueError("BufferedHDFBackend does not store blobs")
        self._buf_coords.append(np.array(state.coords, dtype=np.float64))
        self._buf_logp.append(np.array(state.log_prob, dtype=np.float64))
        acc = np.asarray(accepted, dtype=np.float64)
        self._buf_acc = acc.copy() if self._buf_acc is None else self._buf_acc + acc
        self._buf_rstate = state.random_state
        if len(self._buf_coords) >= self.flush_steps or time.monotonic() - self._last_flush >= self.flush_seconds:
            self.flush()

    def flush(self) -> None:
        """Write the buffered steps (no-op when the buffer is empty)."""
        self._last_flush = time.monotonic()
        if not self._buf_coords:
            return
        n = len(self._buf_coords)
        with self.open("a") as f:
            g = f[self.name]
            it = int(g.attrs["iteration"])
            if g["chain"].shape[0] < it + n:
                g["chain"].resize(it + n, axis=0)
                g["log_prob"].resize(it + n, axis=0)
            g["chain"][it : it + n] = np.stack(self._buf_coords)
            g["log_prob"][it : it + n] = np.stack(self._buf_logp)
            g["accepted"][:] += self._buf_acc
            for i, v in enumerate(self._buf_rstate):
                g.attrs[f"random_state_{i}"] = v
            g.attrs["iteration"] = it + n
        self._buf_coords, self._buf_logp, self._buf_acc, self._buf_rstate = [], [], None, None

    # every read sees the buffered steps
    def get_value(self, name, **kwargs):
        self.flush()
        return super().get_value(name, **kwargs)

    @property
    def iteration(self):
        self.flush()
        return super().iteration

    @property
    def accepted(self):
        self.flush()
        return super().accepted

    @property
    def random_state(self):
        self.flush()
        return super().random_state


class _StopOnSigterm:
    """Turn SIGTERM (SLURM's scancel, a workflow manager's kill) into a flag checked between
    steps, so that the backend is flushed before the process exits. Main thread only."""

    def __init__(self):
        self.stop = False
        self._old = None

    def __enter__(self):
        try:
            self._old = signal.signal(signal.SIGTERM, self._handler)
        except ValueError:  # not the main thread
            self._old = None
        return self

    def _handler(self, signum, frame):
        self.stop = True

    def __exit__(self, *exc):
        if self._old is not None:
            signal.signal(signal.SIGTERM, self._old)
        return False


# --------------------------------------------------------------------------------------------
# running


class _VectorizedAccept:
    """emcee's red-blue ``propose`` with its accept/reject loop over walkers vectorised.

    ``RandomState.rand(n)`` draws the same numbers as n calls of ``rand()``, so the chain is
    bit-identical to the emcee move's (tested); with a compiled surrogate the per-walker Python
    loop was about a third of the time of a step. Mixed into emcee's own moves below.
    """

    def propose(self, model, state):
        nwalkers, ndim = state.coords.shape
        if nwalkers < 2 * ndim and not self.live_dangerously:
            raise RuntimeError("It is unadvisable to use a red-blue move with fewer walkers than twice the number of dimensions.")
        self.setup(state.coords)
        accepted = np.zeros(nwalkers, dtype=bool)
        all_inds = np.arange(nwalkers)
        inds = all_inds % self.nsplits
        if self.randomize_split:
            model.random.shuffle(inds)
        for split in range(self.nsplits):
            subset = inds == split
            sets = [state.coords[inds == j] for j in range(self.nsplits)]
            q, factors = self.get_proposal(sets[split], sets[:split] + sets[split + 1 :], model.random)
            new_log_probs, new_blobs = model.compute_log_prob_fn(q)
            members = all_inds[subset]
            lnpdiff = factors + new_log_probs - state.log_prob[members]
            accepted[members] = lnpdiff > np.log(model.random.rand(len(members)))
            state = self.update(state, emcee.State(q, log_prob=new_log_probs, blobs=new_blobs), accepted, subset)
        return state, accepted


class VectorizedStretchMove(_VectorizedAccept, emcee.moves.StretchMove):
    """:class:`emcee.moves.StretchMove`, same chain, faster accept step."""


class VectorizedDEMove(_VectorizedAccept, emcee.moves.DEMove):
    """:class:`emcee.moves.DEMove`, same chain, faster accept step."""


class VectorizedDESnookerMove(_VectorizedAccept, emcee.moves.DESnookerMove):
    """:class:`emcee.moves.DESnookerMove`, same chain, faster accept step and proposal.

    emcee's proposal runs a dozen small numpy operations per walker; with the default run's
    compiled surrogate a snooker step (a fifth of the workflow's steps) took 3.7 times as long as a
    DE step. Here the loop only draws the random numbers, in emcee's order (three ``randint`` and
    one ``shuffle`` of three rows per walker; shuffling ``arange(3)`` draws the same numbers as
    shuffling the rows), and the geometry is computed for all walkers at once.

    Bit-identity with emcee on any CPU: emcee's ``np.dot`` and ``np.linalg.norm`` of 1-D vectors
    are OpenBLAS ``ddot`` calls, whose rounding depends on the kernel OpenBLAS picks for the CPU
    (FMA, AVX-512 block sizes). Row sums or ``einsum`` round differently on some kernels, so every
    dot product here is a stacked ``np.matmul`` of (1, d) by (d, 1), which numpy hands to the same
    ``ddot`` per row; the rest is elementwise (correctly rounded everywhere). Tested under several
    OpenBLAS kernels and with numpy's AVX-512 loops switched off.
    """

    def get_proposal(self, s, c, random):
        ns, ndim = s.shape
        nc = [len(cj) for cj in c]
        picks = np.empty((ns, 3), dtype=np.int64)
        order = np.empty((ns, 3), dtype=np.int64)
        for i in range(ns):
            picks[i] = [random.randint(nc[j]) for j in range(3)]
            perm = np.arange(3)
            random.shuffle(perm)
            order[i] = perm
        w = np.stack([c[j][picks[:, j]] for j in range(3)], axis=1)  # (ns, 3, ndim)
        w = np.take_along_axis(w, order[:, :, None], axis=1)
        z, z1, z2 = w[:, 0], w[:, 1], w[:, 2]
        delta = _like_fresh_rows(s - z)
        norm = np.sqrt(_row_dot(delta, delta))
        u = _like_fresh_rows(delta / np.sqrt(norm)[:, None])
        dots = _row_dot(u, _like_fresh_rows(z1, shift=ndim % 2)) - _row_dot(u, _like_fresh_rows(z2))
        q = s + u * self.gammas * dots[:, None]
        qz = _like_fresh_rows(q - z)
        metropolis = np.log(np.sqrt(_row_dot(qz, qz))) - np.log(norm)
        return q, 0.5 * (ndim - 1.0) * metropolis


def _row_dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise dot products (n,) of two (n, d) arrays, each rounded exactly as ``np.dot`` of
    the two rows (and ``np.linalg.norm(x)`` = ``sqrt(np.dot(x, x))``): numpy computes a stacked
    (1, d) @ (d, 1) matmul with the BLAS ``ddot`` that ``np.dot`` calls."""
    return np.matmul(a[:, None, :], b[:, :, None])[:, 0, 0]


def _like_fresh_rows(x: np.ndarray, shift: int = 0) -> np.ndarray:
    """A copy of x (n, d) whose every row starts 16-byte aligned (+ ``shift`` elements), as a
    freshly allocated row does in emcee's loop (``w[1]`` of its (3, d) array is shifted by d
    elements). The SSE2-era OpenBLAS ``ddot`` kernels (Prescott, Core2, Barcelona) peel elements
    up to a 16-byte boundary, so their rounding depends on the operands' alignment."""
    n, d = x.shape
    stride = d + d % 2  # an even row length keeps every row on the first row's alignment
    buf = np.empty(n * stride + 2)
    first = (-buf.ctypes.data % 16) // 8 + shift % 2
    out = buf[first : first + n * stride].reshape(n, stride)[:, :d]
    out[...] = x
    return out


class _EnsembleSampler(emcee.EnsembleSampler):
    """``emcee.EnsembleSampler`` whose ``compute_log_prob`` takes a vectorised log-probability's
    (n,) array as it is.

    emcee converts the returned values one by one (``float`` of each, after a try at blobs): with
    the default run's compiled surrogate a DE step took 0.46 ms with it and 0.43 ms without. Same
    values, so the chains are bit-identical (tested). Blobs are not supported (neither does
    :class:`BufferedHDFBackend` store them).
    """

    def compute_log_prob(self, coords):
        if not np.all(np.isfinite(coords)):
            return super().compute_log_prob(coords)  # emcee's errors for inf / NaN parameters
        log_prob = np.asarray(self.log_prob_fn(coords), dtype=np.float64)
        if log_prob.shape != (coords.shape[0],):
            raise ValueError(f"the log-probability returned shape {log_prob.shape} for {coords.shape[0]} points; "
                             f"expected ({coords.shape[0]},) (no blobs)")
        if np.isnan(log_prob).any():
            raise ValueError("Probability function returned NaN")
        return log_prob, None


def _moves(moves):
    if moves is None or moves == "stretch":
        return VectorizedStretchMove()
    if moves == "de":
        return [(VectorizedDEMove(), 0.8), (VectorizedDESnookerMove(), 0.2)]
    if isinstance(moves, str):
        raise ValueError(f"moves must be 'stretch', 'de' or emcee move objects, got {moves!r}")
    return moves


def run_emcee(
    log_prob: Callable[[np.ndarray], np.ndarray],
    space: ParameterSpace,
    starts: np.ndarray,
    *,
    n_walkers: int = 64,
    n_steps: int = 2000,
    seed: int = 0,
    backend_path: str | os.PathLike | None = None,
    ball_scale: float = 0.01,
    moves="stretch",
    fingerprint: str = "",
    progress_every: float = 0.1,
    on_unconverged: str = "warn",
    flush_seconds: float = 5.0,
    logger: logging.Logger | None = None,
) -> SamplingResult:
    """Sample a vectorised log-probability (n, d) -> (n,) with emcee and diagnose the chain.

    starts : (m, d) best points (e.g. the lowest-χ² evaluated points), walkers start in a ball of
        sd ``ball_scale`` x box width around them.
    backend_path : HDF5 file for ``emcee.backends.HDFBackend``; if it already holds k < n_steps
        steps of the same run (same walkers, names, seed and ``fingerprint``) the run continues
        from its last state for n_steps − k steps. None keeps the chain in memory.
    moves : "stretch" (emcee's default), "de" (DE 0.8 + DE-snooker 0.2, better between separated
        modes) or a list of emcee moves.
    progress_every : fraction of n_steps between INFO progress lines (follow with ``tail -f``).
    on_unconverged : "warn" (WARNING + ``notes``) or "raise" (:class:`NotConvergedError`).
    flush_seconds : the backend is written at most this often (:class:`BufferedHDFBackend`), at
        every progress line, at the end, and when the run is interrupted (an exception, or SIGTERM,
        after which the process exits with status 143 and a rerun resumes).
    """
    logger = logger or log
    if on_unconverged not in ("warn", "raise"):
        raise ValueError(f"on_unconverged must be 'warn' or 'raise', got {on_unconverged!r}")
    d = space.dim
    n_walkers, n_steps = int(n_walkers), int(n_steps)
    if n_walkers < 2 * d or n_walkers % 2:
        raise ValueError(f"n_walkers must be even and >= 2 x {d} parameters, got {n_walkers}")
    if n_steps < 1:
        raise ValueError(f"n_steps must be >= 1, got {n_steps}")

    done = 0
    backend = None
    if backend_path is not None:
        path = Path(backend_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        done = _resume_state(path, n_walkers, space.names, seed, fingerprint, n_steps, logger)
        backend = BufferedHDFBackend(str(path), flush_seconds=flush_seconds)

    sampler = _EnsembleSampler(n_walkers, d, log_prob, vectorize=True, backend=backend, moves=_moves(moves))
    if done == 0:
        state0 = np.random.RandomState(seed).get_state()
        sampler.random_state = state0  # emcee's setter fails silently: check it took
        if not np.array_equal(sampler.random_state[1], state0[1]):
            raise RuntimeError("could not seed emcee's random generator")
        if backend is not None:
            _write_meta(Path(backend_path), seed, space.names, fingerprint)
        initial = initial_ball(starts, n_walkers, space, scale=ball_scale, seed=seed, log_prob=log_prob)
        logger.info("emcee: %d walkers, %d steps, seed %d, starting from %d point(s)%s", n_walkers, n_steps,
                    seed, np.atleast_2d(starts).shape[0], f", backend {backend_path}" if backend is not None else "")
    else:
        initial = sampler.backend.get_last_sample()  # positions, log-probs and random state
        logger.info("emcee: resuming %s at step %d of %d (%d steps to go)", backend_path, done, n_steps, n_steps - done)

    todo = n_steps - done
    every = max(1, int(round(progress_every * n_steps))) if progress_every else todo + 1
    t0 = time.perf_counter()
    stopped = None
    try:
        with _StopOnSigterm() as term:
            for i, state in enumerate(sampler.sample(initial, iterations=todo), start=1) if todo > 0 else ():
                step = done + i
                if step % every == 0 or i == todo:
                    el = time.perf_counter() - t0
                    acc = sampler.backend.accepted / max(sampler.iteration, 1)
                    logger.info(
                        "emcee: step %d/%d (%3.0f%%)  %.1f s  %.0f log-prob/s  eta %.0f s  acceptance %.2f  "
                        "max log-prob %.3f", step, n_steps, 100.0 * step / n_steps, el, i * n_walkers / max(el, 1e-9),
                        el / i * (todo - i), float(np.mean(acc)), float(np.max(state.log_prob)),
                    )
                if term.stop:
                    stopped = step
                    break
    finally:
        if isinstance(sampler.backend, BufferedHDFBackend):
            sampler.backend.flush()  # keep every finished step, also when interrupted
    if stopped is not None:
        logger.error("emcee: terminated (SIGTERM) after step %d of %d; %s holds the chain, rerun to resume",
                     stopped, n_steps, backend_path)
        raise SystemExit(128 + signal.SIGTERM)
    wall = time.perf_counter() - t0

    res = SamplingResult.from_arrays(
        sampler.get_chain(), sampler.get_log_prob(), sampler.acceptance_fraction, space.names,
        seed=seed, backend_path=None if backend_path is None else str(backend_path), resumed_from=done,
        n_invalid=getattr(log_prob, "n_invalid", None), wall_time=wall,
        evals_per_second=todo * n_walkers / wall if todo and wall > 0 else None,
    )
    if res.n_invalid:
        res.notes.append(f"{res.n_invalid} chi2 evaluations were NaN/-inf and treated as zero posterior")
    logger.info(
        "emcee: done; tau %s, burn %d, thin %d, acceptance %.2f, ESS min %.0f, %d samples",
        np.array2string(res.tau, precision=1), res.burn, res.thin, float(np.mean(res.acceptance)),
        float(np.min(res.ess)), res.samples.shape[0],
    )
    for note in res.notes:
        logger.warning("emcee: %s", note)
    if not res.converged and on_unconverged == "raise":
        raise NotConvergedError("; ".join(res.notes))
    return res


def sample_posterior(
    chi2_fn: Callable[[np.ndarray], np.ndarray],
    prior: Prior,
    starts: np.ndarray,
    **kwargs,
) -> SamplingResult:
    """Sample log p = −χ²/2 + log prior (−inf outside the box). ``chi2_fn`` : (n, d) -> (n,) is
    called in batches of n_walkers/2 points. Keyword arguments as for :func:`run_emcee`."""
    return run_emcee(LogPosterior(chi2_fn, prior), prior.space, starts, **kwargs)
