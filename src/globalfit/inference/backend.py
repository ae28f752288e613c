"""The sampler's chain file: a buffered emcee HDF5 backend, the run's identity stored beside
the chain, the resume decision and the atomic copy to the workflow output.

The backend stores the generator state with the last written step, so a run interrupted after k
steps and started again with the same arguments continues for the remaining n_steps − k steps
and gives bit-identical chains to an uninterrupted run. Steps are buffered and written every
``flush_seconds`` (default 5 s: a kill loses little work, the HDF5 file is not reopened every
step), on an exception and on SIGTERM. A file whose walkers, dimension, seed, parameter names
or caller ``fingerprint`` differ, that holds no step or more than n_steps, or that cannot be
read (killed during a write) is not resumed: it is renamed to ``<path>.stale`` (kept for
inspection, not deleted) and a warning is logged.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import time
from collections.abc import Sequence
from pathlib import Path

import emcee
import h5py
import numpy as np

from globalfit.jsonio import atomic_write

__all__ = ["BufferedHDFBackend", "finalize_chain"]

_GROUP = "mcmc"


_ATTR = "globalfit_"


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


def _resume_state(
    path: Path,
    n_walkers: int,
    names: Sequence[str],
    seed: int,
    fingerprint: str,
    n_steps: int,
    logger: logging.Logger,
) -> int:
    """Iterations to resume from (0 = start afresh). Incompatible files are moved to .stale."""
    if not path.exists():
        return 0
    reason = None
    try:
        meta = _read_meta(path)
    except Exception as exc:  # unreadable / half-written file
        reason = f"cannot be read ({type(exc).__name__}: {exc})"
    else:
        want = {
            "nwalkers": n_walkers,
            "ndim": len(names),
            "seed": seed,
            "names": tuple(names),
            "fingerprint": fingerprint,
        }
        diff = [
            f"{k}: file {meta.get(k)!r} vs run {v!r}" for k, v in want.items() if meta.get(k) != v
        ]
        if diff:
            reason = "belongs to a different run (" + "; ".join(diff) + ")"
        elif meta["iteration"] > n_steps:
            reason = f"holds {meta['iteration']} steps, more than the requested {n_steps}"
        elif meta["iteration"] == 0:
            reason = "holds no steps"
    if reason is None:
        return meta["iteration"]
    stale = path.with_name(path.name + ".stale")
    path.rename(stale)  # set aside, not written: kept for inspection
    logger.warning("sampler backend %s %s: moved to %s, starting afresh", path, reason, stale)
    return 0


def finalize_chain(backend_path: str | os.PathLike, out_path: str | os.PathLike) -> Path:
    """Copy the finished backend to the workflow output, atomically.

    The backend is kept outside Snakemake's outputs so that it survives an interrupted job; the
    copy goes to a temporary name, then is renamed.

    Parameters
    ----------
    backend_path : path
        The HDF5 chain file.
    out_path : path
        The workflow output.

    Returns
    -------
    Path
        The output.
    """
    with open(backend_path, "rb") as src:
        return atomic_write(out_path, lambda dst: shutil.copyfileobj(src, dst), mode="wb")


class BufferedHDFBackend(emcee.backends.HDFBackend):
    """``emcee.backends.HDFBackend`` that writes every ``flush_seconds`` (or ``flush_steps``)
    instead of every step.

    The stock backend opens the HDF5 file once per step, which dominates a step with a fast
    surrogate (``benchmarks/sampling_speed.py``). Buffered steps are written together with the
    generator state of the last buffered step, so the file is always a consistent prefix of the
    run and a resumed run stays bit-identical; an abrupt kill loses at most ``flush_seconds`` of
    work. Every read (iteration, chain, acceptance, random state) flushes first. Blobs are not
    supported.
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
        if (
            len(self._buf_coords) >= self.flush_steps
            or time.monotonic() - self._last_flush >= self.flush_seconds
        ):
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
