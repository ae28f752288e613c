"""An in-memory active-learning loop (design, then rounds of the batch proposer on a callable χ²),
for tests and benchmarks; the workflow runs the same proposer as one Snakemake job per round.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from globalfit.active_learning.diagnostics import diagnostics_row
from globalfit.active_learning.proposer import BatchProposer
from globalfit.space import ParameterSpace

__all__ = ["run_active_learning"]


def _evaluate(
    chi2_fn: Callable[[np.ndarray], np.ndarray], theta: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float]:
    t0 = time.process_time()
    chi2 = np.asarray(chi2_fn(theta), dtype=np.float64).reshape(-1)
    if chi2.shape != (len(theta),):
        raise ValueError(f"chi2_fn returned shape {chi2.shape} for {len(theta)} points")
    return chi2, np.isfinite(chi2), time.process_time() - t0


def run_active_learning(
    chi2_fn: Callable[[np.ndarray], np.ndarray],
    space: ParameterSpace,
    n_initial: int,
    n_rounds: int,
    batch_size: int,
    seed: int,
    *,
    chi2_min_reference: float | None = None,
    **proposer_kwargs,
) -> dict:
    """In-memory loop: a seeded Latin hypercube of ``n_initial`` points, then ``n_rounds`` batches.

    Parameters
    ----------
    chi2_fn : callable
        (n, d) -> (n,) χ², non-finite for failed points.
    space : ParameterSpace
        The parameter box.
    n_initial, n_rounds, batch_size : int
        Points of the hypercube, number of rounds and points per round.
    seed : int
        Seed of the hypercube and the proposer.
    chi2_min_reference : float, optional
        Known minimum for the diagnostics' Δχ² fractions (see :func:`diagnostics_row`).
    **proposer_kwargs
        Further :class:`BatchProposer` arguments.

    Returns
    -------
    dict
        ``theta`` (N, d), ``chi2`` (N,), ``ok`` (N,) bool, ``round`` (N,) int (-1 for the
        hypercube), ``infos`` (one info dict per round), ``diagnostics`` (one
        :func:`diagnostics_row` per round) and the final ``state``.
    """
    from globalfit.design import latin_hypercube

    theta = latin_hypercube(space, n_initial, seed)
    chi2, ok, _ = _evaluate(chi2_fn, theta)
    rounds = np.full(len(theta), -1, dtype=np.int64)
    proposer = BatchProposer(space, batch_size, random_state=seed, **proposer_kwargs)
    state, infos, rows = None, [], []
    for r in range(n_rounds):
        best_before = float(np.min(chi2[ok])) if ok.any() else float("inf")
        theta_new, info, state = proposer.propose(
            theta, chi2, ok, round_index=r, n_rounds=n_rounds, state=state
        )
        chi2_new, ok_new, cpu_eval = _evaluate(chi2_fn, theta_new)
        theta = np.vstack([theta, theta_new])
        chi2 = np.concatenate([chi2, chi2_new])
        ok = np.concatenate([ok, ok_new])
        rounds = np.concatenate([rounds, np.full(len(theta_new), r)])
        infos.append(info)
        rows.append(
            diagnostics_row(
                info,
                chi2_new,
                ok_batch=ok_new,
                best_before=best_before,
                best_after=float(np.min(chi2[ok])),
                evaluation_cpu_seconds=cpu_eval,
                chi2_min_reference=chi2_min_reference,
            )
        )
    return {
        "theta": theta,
        "chi2": chi2,
        "ok": ok,
        "round": rounds,
        "infos": infos,
        "diagnostics": rows,
        "state": state,
    }
