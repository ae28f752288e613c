"""The reported posterior, defined once: weighted samples in ``posterior.h5``.

Whichever sampler made it (nested sampling's importance weights, or emcee's equal weights), the
posterior the summary, the corner plot, the derived quantities and the validation read is one
file: ``samples`` (n, d), ``weights`` (n,) summing to one, the parameter names and the sampler as
attributes (and the sampler's ``log_likelihood`` where it has one).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import h5py
import numpy as np

from globalfit.inference.summary import posterior_summary
from globalfit.jsonio import atomic_path

__all__ = ["Posterior"]


@dataclass
class Posterior:
    """Weighted posterior samples.

    Parameters
    ----------
    names : sequence of str
        Parameter names, one per column.
    samples : (n, d) ndarray
        The samples.
    weights : (n,) ndarray
        Non-negative weights (normalised here).
    sampler : str
        Which sampler drew them ("nautilus", "emcee").
    log_likelihood : (n,) ndarray, optional
        The log-likelihood the sampler saw.
    """

    names: Sequence[str]
    samples: np.ndarray
    weights: np.ndarray
    sampler: str
    log_likelihood: np.ndarray | None = None

    def __post_init__(self):
        self.names = tuple(self.names)
        self.samples = np.asarray(self.samples, dtype=np.float64)
        w = np.asarray(self.weights, dtype=np.float64).reshape(-1)
        if self.samples.ndim != 2 or self.samples.shape != (w.size, len(self.names)):
            raise ValueError(
                f"posterior: samples {self.samples.shape} for {w.size} weights and "
                f"{len(self.names)} names"
            )
        if not (np.all(np.isfinite(w)) and np.all(w >= 0) and w.sum() > 0):
            raise ValueError("posterior: weights must be finite, non-negative, not all zero")
        self.weights = w / w.sum()

    @property
    def n_eff(self) -> float:
        """Kish's effective sample size 1/Σw² of the weights."""
        return float(1.0 / np.sum(self.weights**2))

    def equal_weight(self, n: int, seed: int = 0) -> np.ndarray:
        """n equal-weight samples by systematic resampling (one seeded uniform offset).

        Parameters
        ----------
        n : int
            How many.
        seed : int
            Seed of the offset.

        Returns
        -------
        (n, d) ndarray
            Samples, in the order of the weighted ones.
        """
        return self.samples[self.equal_weight_indices(n, seed)]

    def equal_weight_indices(self, n: int, seed: int = 0) -> np.ndarray:
        """(n,) row indices of :meth:`equal_weight`'s samples."""
        cdf = np.cumsum(self.weights)
        u = (np.random.default_rng(seed).random() + np.arange(n)) / n
        return np.minimum(np.searchsorted(cdf, u * cdf[-1]), len(cdf) - 1)

    def summary(self) -> dict:
        """Weighted mean, sd and quantiles per parameter (:func:`posterior_summary`)."""
        return posterior_summary(self.samples, self.names, self.weights)

    def write(self, path: str | os.PathLike, extra: Mapping[str, np.ndarray] | None = None) -> None:
        """Write ``posterior.h5`` (atomically).

        Parameters
        ----------
        path : path
            The file.
        extra : mapping of str to ndarray, optional
            Further datasets that belong with the samples (the islands' reference points).
        """
        with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
            for name, value in (extra or {}).items():
                f[name] = value
            f["samples"] = self.samples
            f["weights"] = self.weights
            if self.log_likelihood is not None:
                f["log_likelihood"] = np.asarray(self.log_likelihood, dtype=np.float64)
            f.attrs["names"] = list(self.names)
            f.attrs["sampler"] = self.sampler

    @classmethod
    def read(cls, path: str | os.PathLike) -> Posterior:
        """Read a file written by :meth:`write`.

        Parameters
        ----------
        path : path
            The file.

        Returns
        -------
        Posterior
            Its samples and weights.
        """
        with h5py.File(path, "r") as f:
            return cls(
                names=[str(n) for n in f.attrs["names"]],
                samples=f["samples"][()],
                weights=f["weights"][()],
                sampler=str(f.attrs["sampler"]),
                log_likelihood=f["log_likelihood"][()] if "log_likelihood" in f else None,
            )
