"""Walker starting positions and the diagnosed chain (:class:`SamplingResult`).

Documented choices:

* τ: integrated autocorrelation time per parameter, ``emcee.autocorr.integrated_time(chain,
  tol=0)`` on the whole chain (the walker-averaged estimator of emcee's ``get_autocorr_time``).
* burn-in = ceil(BURN_FACTOR · max τ), BURN_FACTOR = 3; thin = max(1, floor(THIN_FACTOR ·
  min τ)), THIN_FACTOR = 0.5: a few τ to forget the start, samples half a τ apart.
* converged ⇔ all τ finite and n_steps ≥ CONVERGENCE_FACTOR · max τ, CONVERGENCE_FACTOR = 50:
  emcee's own reliability rule for τ (the τ estimate itself is unreliable otherwise). A chain
  that fails it is still returned, with ``converged = False`` and a sentence in ``notes``.
* ESS per parameter = n_walkers · (n_steps − burn) / τ.
* acceptance per walker: healthy ≈ 0.2–0.5 in several dimensions; a mean below 0.15 is noted,
  walkers below STUCK_ACCEPTANCE = 5 % are reported as stuck (e.g. in a separate minimum).

The starting ball is seeded (``np.random.default_rng(seed)``) and small (sd 1 % of the box
width by default) around the best known points; draws outside the box are redrawn, never
clipped, so that no walker starts on the box edge.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import emcee
import numpy as np

from globalfit.inference.backend import _read_meta
from globalfit.space import ParameterSpace

__all__ = [
    "BURN_FACTOR",
    "CONVERGENCE_FACTOR",
    "NotConvergedError",
    "STUCK_ACCEPTANCE",
    "SamplingResult",
    "THIN_FACTOR",
    "initial_ball",
]

#: burn-in = ceil(BURN_FACTOR · max τ)
BURN_FACTOR = 3.0
#: thin = max(1, floor(THIN_FACTOR · min τ))
THIN_FACTOR = 0.5
#: converged ⇔ n_steps ≥ CONVERGENCE_FACTOR · max τ (emcee's rule)
CONVERGENCE_FACTOR = 50.0
#: walkers accepting fewer proposals than this are reported as stuck
STUCK_ACCEPTANCE = 0.05


class NotConvergedError(RuntimeError):
    """Raised with ``on_unconverged="raise"`` when n_steps < 50 max τ."""


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
    """Walker positions: a small Gaussian ball around the given best points.

    Draws outside the box (or with −inf ``log_prob``) are redrawn, never clipped.

    Parameters
    ----------
    starts : (m, d) ndarray
        Points inside the box, best first; walker i starts near ``starts[i % m]``.
    n_walkers : int
        Number of walkers.
    space : ParameterSpace
        The box.
    scale : float
        Ball sd as a fraction of each parameter's box width, > 0.
    seed : int
        The seed.
    log_prob : callable, optional
        (n, d) -> (n,) log-probability; positions where it is not finite are redrawn.
    max_tries : int
        Rounds of redraws.

    Returns
    -------
    (n_walkers, d) ndarray
        The positions.

    Raises
    ------
    ValueError
        If scale ≤ 0, or walkers are still outside after ``max_tries`` rounds (it names the
        offending start).
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
        """(n, d) post-burn-in, thinned samples (emcee's ``get_chain(discard,
        thin, flat=True)``)."""
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
            "tau": dict(zip(self.names, map(float, self.tau), strict=False)),
            "max_tau": float(np.max(self.tau)),
            "tau_reliable": bool(self.converged),  # emcee's rule: chain longer than 50 tau
            "burn": self.burn,
            "thin": self.thin,
            "burn_rule": (
                f"burn = ceil({BURN_FACTOR:g} max tau), "
                f"thin = max(1, floor({THIN_FACTOR:g} min tau))"
            ),
            "converged": bool(self.converged),
            "convergence_rule": f"n_steps >= {CONVERGENCE_FACTOR:g} max tau",
            "acceptance_mean": float(np.mean(self.acceptance)),
            "acceptance_min": float(np.min(self.acceptance)),
            "acceptance_max": float(np.max(self.acceptance)),
            "ess": dict(zip(self.names, map(float, self.ess), strict=False)),
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
        from globalfit.inference.summary import posterior_summary

        out = {
            "parameters": posterior_summary(self.samples, self.names),
            "diagnostics": self.diagnostics(),
        }
        if derived:
            out["derived"] = posterior_summary(
                np.column_stack(
                    [np.asarray(v, dtype=np.float64).reshape(-1) for v in derived.values()]
                ),
                tuple(derived),
            )
        return out

    @classmethod
    def from_arrays(cls, chain, log_prob, acceptance, names, **extra) -> SamplingResult:
        """Compute τ, burn, thin, convergence and ESS for a (n_steps, n_walkers, d) chain."""
        chain = np.asarray(chain, dtype=np.float64)
        n_steps, n_walkers, d = chain.shape
        notes = list(extra.pop("notes", []))
        tau = np.asarray(emcee.autocorr.integrated_time(chain, tol=0), dtype=np.float64)
        finite = bool(np.all(np.isfinite(tau)) and np.all(tau > 0))
        if not finite:
            stalled = [
                n for n, t in zip(names, tau, strict=False) if not (np.isfinite(t) and t > 0)
            ]
            notes.append(f"autocorrelation time is not finite for {stalled}: walkers did not move")
            tau_use = np.where(np.isfinite(tau) & (tau > 0), tau, float(n_steps))
        else:
            tau_use = tau
        max_tau, min_tau = float(np.max(tau_use)), float(np.min(tau_use))
        converged = finite and n_steps >= CONVERGENCE_FACTOR * max_tau
        burn = int(math.ceil(BURN_FACTOR * max_tau))
        thin = max(1, int(math.floor(THIN_FACTOR * min_tau)))
        if burn >= n_steps:
            notes.append(
                f"burn-in {burn} (= {BURN_FACTOR:g} max tau) is not shorter than the chain "
                f"({n_steps} steps); discarding the first half instead — these samples are "
                f"NOT reliable"
            )
            burn = n_steps // 2
        if not converged:
            notes.append(
                f"NOT CONVERGED: {n_steps} steps < {CONVERGENCE_FACTOR:g} x max tau = "
                f"{CONVERGENCE_FACTOR * max_tau:.0f}; tau and the posterior are unreliable — "
                f"run longer (about {int(CONVERGENCE_FACTOR * max_tau) + 1} steps)"
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
            notes.append(
                f"mean acceptance fraction {mean_acc:.2f} is low (healthy: about 0.2-0.5; "
                f"the stretch move accepts more in few dimensions)"
            )
        return cls(
            names=tuple(names),
            chain=chain,
            log_prob=np.asarray(log_prob, dtype=np.float64),
            acceptance=acceptance,
            tau=tau,
            burn=burn,
            thin=thin,
            converged=bool(converged),
            ess=ess,
            notes=notes,
            **extra,
        )

    @classmethod
    def from_backend(
        cls, path: str | os.PathLike, names: Sequence[str] | None = None
    ) -> SamplingResult:
        """Analyse a chain stored by :func:`run_emcee` (or any emcee HDFBackend file)."""
        backend = emcee.backends.HDFBackend(str(path), read_only=True)
        if backend.iteration == 0:
            raise ValueError(f"{path}: the chain is empty")
        meta = _read_meta(Path(path))
        if names is None:
            names = meta.get("names") or tuple(f"x{i}" for i in range(backend.shape[1]))
        return cls.from_arrays(
            backend.get_chain(),
            backend.get_log_prob(),
            backend.accepted / backend.iteration,
            names,
            seed=meta.get("seed"),
            backend_path=str(path),
        )
