"""Posterior sampling with emcee: :func:`run_emcee` for any vectorised log-probability and
:func:`sample_posterior` for log p = −χ²/2 + log prior; seeded, resumable, diagnosed.

emcee runs with ``vectorize=True``, so the χ² function sees one batch of n_walkers/2 points per
call, which is what a vectorised surrogate needs. emcee draws all its random numbers from one
``RandomState``, seeded here with ``RandomState(seed).get_state()`` through the public
``random_state`` setter (and checked, since the setter fails silently); the starting ball comes
from ``np.random.default_rng(seed)``. Resuming, buffering and SIGTERM: :mod:`.backend`;
convergence diagnostics: :mod:`.chains`. An unconverged chain warns by default (it is still
worth looking at); ``on_unconverged="raise"`` makes it an error.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import emcee
import numpy as np

from globalfit.inference.backend import (
    BufferedHDFBackend,
    _resume_state,
    _StopOnSigterm,
    _write_meta,
)
from globalfit.inference.chains import NotConvergedError, SamplingResult, initial_ball
from globalfit.inference.moves import _moves
from globalfit.inference.priors import LogPosterior, Prior
from globalfit.space import ParameterSpace

__all__ = ["run_emcee", "sample_posterior"]

log = logging.getLogger(__name__)


class _EnsembleSampler(emcee.EnsembleSampler):
    """``emcee.EnsembleSampler`` whose ``compute_log_prob`` takes a vectorised log-probability's
    (n,) array as it is.

    emcee converts the returned values one by one (``float`` of each, after a try at blobs),
    which is measurable per step with a compiled surrogate. Same values, so the chains are
    bit-identical (tested). Blobs are not supported (neither does :class:`BufferedHDFBackend`
    store them).
    """

    def compute_log_prob(self, coords):
        if not np.all(np.isfinite(coords)):
            return super().compute_log_prob(coords)  # emcee's errors for inf / NaN parameters
        log_prob = np.asarray(self.log_prob_fn(coords), dtype=np.float64)
        if log_prob.shape != (coords.shape[0],):
            raise ValueError(
                f"the log-probability returned shape {log_prob.shape} for {coords.shape[0]} "
                f"points; expected ({coords.shape[0]},) (no blobs)"
            )
        if np.isnan(log_prob).any():
            raise ValueError("Probability function returned NaN")
        return log_prob, None


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

    Parameters
    ----------
    log_prob : callable
        (n, d) -> (n,) log-probability, called with batches of n_walkers/2 points.
    space : ParameterSpace
        The parameter box (names, bounds).
    starts : (m, d) array
        Best points (e.g. the lowest-χ² evaluated points); walkers start in a ball of sd
        ``ball_scale`` x box width around them.
    n_walkers, n_steps, seed : int
        Even n_walkers ≥ 2 d; the same seed gives the same chain.
    ball_scale : float
        Sd of the starting ball as a fraction of each parameter's box width.
    backend_path : path or None
        HDF5 chain file; if it already holds k < n_steps steps of the same run (same walkers,
        names, seed and ``fingerprint``) the run continues from its last state for n_steps − k
        steps. None keeps the chain in memory.
    fingerprint : str
        Identity of what is sampled (the workflow's: a hash of the surrogate's model files),
        stored with the chain and compared on resume.
    moves : {"stretch", "de"} or list of emcee moves
        "stretch" (emcee's default) or "de" (DE 0.8 + DE-snooker 0.2, better between separated
        modes).
    progress_every : float
        Fraction of n_steps between INFO progress lines (follow with ``tail -f``).
    on_unconverged : {"warn", "raise"}
        WARNING + ``notes``, or :class:`NotConvergedError`.
    flush_seconds : float
        The backend is written at most this often, at every progress line, at the end, and when
        the run is interrupted (an exception, or SIGTERM, after which the process exits with
        status 143 and a rerun resumes).
    logger : logging.Logger, optional
        Where progress and notes go (default: this module's logger).

    Returns
    -------
    SamplingResult
        The chain with τ, burn-in, thinning, ESS, acceptance and ``notes``.
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

    sampler = _EnsembleSampler(
        n_walkers, d, log_prob, vectorize=True, backend=backend, moves=_moves(moves)
    )
    if done == 0:
        state0 = np.random.RandomState(seed).get_state()
        sampler.random_state = state0  # emcee's setter fails silently: check it took
        if not np.array_equal(sampler.random_state[1], state0[1]):
            raise RuntimeError("could not seed emcee's random generator")
        if backend is not None:
            _write_meta(Path(backend_path), seed, space.names, fingerprint)
        initial = initial_ball(
            starts, n_walkers, space, scale=ball_scale, seed=seed, log_prob=log_prob
        )
        logger.info(
            "emcee: %d walkers, %d steps, seed %d, starting from %d point(s)%s",
            n_walkers,
            n_steps,
            seed,
            np.atleast_2d(starts).shape[0],
            f", backend {backend_path}" if backend is not None else "",
        )
    else:
        initial = sampler.backend.get_last_sample()  # positions, log-probs and random state
        logger.info(
            "emcee: resuming %s at step %d of %d (%d steps to go)",
            backend_path,
            done,
            n_steps,
            n_steps - done,
        )

    todo = n_steps - done
    every = max(1, int(round(progress_every * n_steps))) if progress_every else todo + 1
    t0 = time.perf_counter()
    stopped = None
    try:
        with _StopOnSigterm() as term:
            for i, state in (
                enumerate(sampler.sample(initial, iterations=todo), start=1) if todo > 0 else ()
            ):
                step = done + i
                if step % every == 0 or i == todo:
                    el = time.perf_counter() - t0
                    acc = sampler.backend.accepted / max(sampler.iteration, 1)
                    logger.info(
                        "emcee: step %d/%d (%3.0f%%)  %.1f s  %.0f log-prob/s  eta %.0f s  "
                        "acceptance %.2f  max log-prob %.3f",
                        step,
                        n_steps,
                        100.0 * step / n_steps,
                        el,
                        i * n_walkers / max(el, 1e-9),
                        el / i * (todo - i),
                        float(np.mean(acc)),
                        float(np.max(state.log_prob)),
                    )
                if term.stop:
                    stopped = step
                    break
    finally:
        if isinstance(sampler.backend, BufferedHDFBackend):
            sampler.backend.flush()  # keep every finished step, also when interrupted
    if stopped is not None:
        logger.error(
            "emcee: terminated (SIGTERM) after step %d of %d; %s holds the chain, rerun to resume",
            stopped,
            n_steps,
            backend_path,
        )
        raise SystemExit(128 + signal.SIGTERM)
    wall = time.perf_counter() - t0

    res = SamplingResult.from_arrays(
        sampler.get_chain(),
        sampler.get_log_prob(),
        sampler.acceptance_fraction,
        space.names,
        seed=seed,
        backend_path=None if backend_path is None else str(backend_path),
        resumed_from=done,
        n_invalid=getattr(log_prob, "n_invalid", None),
        wall_time=wall,
        evals_per_second=todo * n_walkers / wall if todo and wall > 0 else None,
    )
    if res.n_invalid:
        res.notes.append(
            f"{res.n_invalid} chi2 evaluations were NaN/-inf and treated as zero posterior"
        )
    logger.info(
        "emcee: done; tau %s, burn %d, thin %d, acceptance %.2f, ESS min %.0f, %d samples",
        np.array2string(res.tau, precision=1),
        res.burn,
        res.thin,
        float(np.mean(res.acceptance)),
        float(np.min(res.ess)),
        res.samples.shape[0],
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
    """Sample log p = −χ²/2 + log prior (−inf outside the box) with :func:`run_emcee`.

    Parameters
    ----------
    chi2_fn : callable
        (n, d) -> (n,) χ², called in batches of at most n_walkers/2 points inside the box.
    prior : Prior
        The prior; its ``space`` is the sampled box.
    starts : (m, d) array
        Points to start the walkers around (see :func:`run_emcee`).
    **kwargs
        Further :func:`run_emcee` arguments (n_walkers, n_steps, seed, backend_path, ...).

    Returns
    -------
    SamplingResult
        The chain and its diagnostics; NaN or −inf χ² values are counted in ``n_invalid``.
    """
    return run_emcee(LogPosterior(chi2_fn, prior), prior.space, starts, **kwargs)
