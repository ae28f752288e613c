"""Do globalfit's vectorised emcee moves and sampler give emcee's own chains bit for bit?

Imported by ``tests/test_inference.py`` and run as a script in child processes that force other
OpenBLAS kernels (``OPENBLAS_CORETYPE``) and switch off numpy's AVX-512 loops
(``NPY_DISABLE_CPU_FEATURES``), so that one machine checks the arithmetic of several CPUs.
As a script it prints one JSON line: the BLAS kernel in use and the mismatching cases.
"""

from __future__ import annotations

import json

import emcee
import numpy as np

from globalfit.inference import VectorizedDEMove, VectorizedDESnookerMove, VectorizedStretchMove
from globalfit.inference.sampler import _EnsembleSampler


def _log_prob(x):  # a wall (-inf) exercises the comparisons
    return -0.5 * np.sum(x**2, axis=1) - np.where(x[:, 0] > 1.0, np.inf, 0.0)


def mismatches(dims=(3, 6), n_steps=300) -> list[str]:
    """Cases (move, dimension, sampler) whose chain, log-probabilities or acceptance differ from
    emcee's stock sampler with emcee's stock moves; odd and even d give the snooker move's rows
    both alignments."""
    bad = []
    for d in dims:
        n_walkers = max(16, 4 * d)
        p0 = np.random.default_rng(d).normal(scale=0.3, size=(n_walkers, d))
        pairs = {
            "stretch": (emcee.moves.StretchMove(), VectorizedStretchMove()),
            "de+snooker": (
                [(emcee.moves.DEMove(), 0.8), (emcee.moves.DESnookerMove(), 0.2)],
                [(VectorizedDEMove(), 0.8), (VectorizedDESnookerMove(), 0.2)],
            ),
            "snooker": (emcee.moves.DESnookerMove(), VectorizedDESnookerMove()),
        }
        for name, (emcee_moves, ours) in pairs.items():
            runs = {}
            for label, cls, moves in (
                ("emcee", emcee.EnsembleSampler, emcee_moves),
                ("our moves", emcee.EnsembleSampler, ours),
                ("our moves and sampler", _EnsembleSampler, ours),
            ):
                sampler = cls(n_walkers, d, _log_prob, vectorize=True, moves=moves)
                sampler.random_state = np.random.RandomState(1).get_state()
                sampler.run_mcmc(p0, n_steps)
                runs[label] = (
                    sampler.get_chain(),
                    sampler.get_log_prob(),
                    sampler.acceptance_fraction,
                )
            if np.ptp(runs["emcee"][0][-1], axis=0).min() < 0.1:
                bad.append(f"{name}, d={d}: the walkers did not spread (not a real chain)")
            for label in ("our moves", "our moves and sampler"):
                if not all(
                    np.array_equal(a, b) for a, b in zip(runs["emcee"], runs[label], strict=True)
                ):
                    bad.append(f"{name}, d={d}, {label}")
    return bad


def blas_architecture() -> str | None:
    """The kernel OpenBLAS picked (threadpoolctl), or None for another BLAS."""
    from threadpoolctl import threadpool_info

    for lib in threadpool_info():
        if lib.get("internal_api") == "openblas":
            return lib.get("architecture")
    return None


if __name__ == "__main__":
    print(json.dumps({"architecture": blas_architecture(), "mismatches": mismatches()}))
