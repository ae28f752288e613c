"""Running an oracle on a batch of points: worker processes, timeouts, failures, the cache.

Each worker is a fresh interpreter (``python -m globalfit.evaluation.worker``) started with
PYTHONHASHSEED=0, which the ALP oracle needs to be a pure function of θ. It pays the oracle's
start-up once and then serves points over a pipe. A point that raises, returns a non-finite χ²,
or exceeds the timeout is recorded with its status; a hung worker is killed and replaced, so one
bad point never stops the batch. The start-up limit (``setup_timeout``, 600 s) is generous
because an oracle's imports and warm-up may take minutes; the per-point ``timeout`` comes from
the config.
"""

from __future__ import annotations

import logging
import math
import os
import pickle
import queue
import select
import struct
import subprocess
import sys
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from pathlib import Path

import numpy as np

from globalfit.evaluation.cache import EvaluationCache
from globalfit.evaluation.table import EvaluationTable, point_key
from globalfit.oracles import OracleSpec
from globalfit.oracles.build import build_oracle

__all__ = ["OracleSetupError", "Worker", "evaluate_points"]

log = logging.getLogger(__name__)
_HEADER = struct.Struct("<Q")


def _send(stream, obj) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def _read_exact(fd: int, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = os.read(fd, n - len(buf))
        if not chunk:
            raise EOFError("worker closed its pipe")
        buf.extend(chunk)
    return bytes(buf)


def _recv(fd: int, timeout: float | None):
    """Read one message, or return None if nothing arrived within ``timeout`` seconds."""
    ready, _, _ = select.select([fd], [], [], timeout)
    if not ready:
        return None
    (n,) = _HEADER.unpack(_read_exact(fd, _HEADER.size))
    return pickle.loads(_read_exact(fd, n))


class OracleSetupError(RuntimeError):
    """The oracle could not start (import, warm-up): no point can be evaluated."""


class Worker:
    """One oracle in its own process. ``evaluate`` returns a record dict for one point."""

    def __init__(self, spec: OracleSpec, setup_timeout: float):
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        # the worker must import this package even when it runs from a source tree
        src = str(Path(__file__).resolve().parents[1])
        env["PYTHONPATH"] = os.pathsep.join(
            [src, *filter(None, [env.get("PYTHONPATH"), *sys.path])]
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "globalfit.evaluation.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        try:
            _send(self.proc.stdin, spec)
            msg = _recv(self.proc.stdout.fileno(), setup_timeout)
        except (EOFError, BrokenPipeError, OSError) as e:
            msg = ("setup_failed", f"worker exited during start-up ({e})")
        if msg is None or msg[0] != "ready":
            self.kill()
            detail = msg[1] if msg else f"no answer within {setup_timeout} s"
            raise OracleSetupError(f"oracle {spec.name!r} failed to start: {detail}")

    def evaluate(self, theta: np.ndarray, timeout: float) -> dict:
        t0 = time.perf_counter()
        try:
            _send(self.proc.stdin, np.asarray(theta, dtype=np.float64))
            msg = _recv(self.proc.stdout.fileno(), timeout)
        except (EOFError, BrokenPipeError, OSError) as e:
            code = self.proc.poll()
            self.kill()
            return _record(
                "error",
                math.nan,
                {},
                f"worker died ({e}; exit code {code})",
                time.perf_counter() - t0,
                math.nan,
            )
        if msg is None:
            self.kill()
            return _record(
                "timeout",
                math.nan,
                {},
                f"no result within {timeout} s",
                time.perf_counter() - t0,
                math.nan,
            )
        return msg

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        if self.alive:
            try:
                _send(self.proc.stdin, None)
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.kill()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def _record(status, chi2, breakdown, message, seconds, cpu_seconds) -> dict:
    return {
        "status": status,
        "chi2": float(chi2),
        "breakdown": breakdown,
        "message": message,
        "seconds": float(seconds),
        "cpu_seconds": float(cpu_seconds),
    }


def _serve() -> None:
    """Worker main loop: read the spec, set up the oracle, then answer one point at a time."""
    fd_in = sys.stdin.buffer.fileno()
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # oracle prints must not corrupt the pipe
    spec = _recv(fd_in, None)
    try:
        oracle = build_oracle(spec)
        if hasattr(oracle, "setup"):
            oracle.setup()
    except BaseException:
        _send(out, ("setup_failed", traceback.format_exc(limit=5)))
        return
    _send(out, ("ready", None))
    while True:
        theta = _recv(fd_in, None)
        if theta is None:
            return
        w0, c0 = time.perf_counter(), time.process_time()
        try:
            value = oracle(theta)
            chi2, breakdown = value if isinstance(value, tuple) else (value, {})
            chi2 = float(chi2)
            breakdown = {str(k): float(v) for k, v in (breakdown or {}).items()}
            status = "ok" if math.isfinite(chi2) else "nonfinite"
            message = "" if status == "ok" else f"oracle returned {chi2}"
        except Exception as e:
            chi2, breakdown, status = math.nan, {}, "error"
            message = f"{type(e).__name__}: {e}"
        _send(
            out,
            _record(
                status, chi2, breakdown, message, time.perf_counter() - w0, time.process_time() - c0
            ),
        )


def evaluate_points(
    theta: np.ndarray,
    spec: OracleSpec,
    *,
    cache: EvaluationCache | None,
    timeout: float,
    setup_timeout: float = 600.0,
    jobs: int = 1,
    round_index: int = 0,
    label: str = "evaluate",
) -> EvaluationTable:
    """Evaluate points through the cache with ``jobs`` worker processes.

    Points already in the cache and repeated points are not evaluated again. Every new result is
    written to the cache as soon as it arrives. A worker that dies or times out is replaced for the
    next point.

    Parameters
    ----------
    theta : (n, d) ndarray
        The points.
    spec : OracleSpec
        The oracle each worker sets up.
    cache : EvaluationCache or None
        Where results are looked up and stored (None: evaluate everything).
    timeout : float
        Seconds allowed per point.
    setup_timeout : float
        Seconds allowed for a worker's oracle setup.
    jobs : int
        Number of worker processes.
    round_index : int
        Round recorded in the table.
    label : str
        Prefix of the log lines.

    Returns
    -------
    EvaluationTable
        The results in input order.
    """
    theta = np.ascontiguousarray(theta, dtype=np.float64)
    keys = [point_key(row) for row in theta]
    results: dict[str, dict] = {}
    if cache is not None:
        for k in set(keys):
            rec = cache.get(k)
            if rec is not None:
                results[k] = {**rec, "cached": True}
    todo: dict[str, np.ndarray] = {}
    for k, row in zip(keys, theta, strict=True):
        if k not in results and k not in todo:
            todo[k] = row
    n_cached = len(theta) - sum(keys.count(k) for k in todo)
    log.info(
        "%s: %d points, %d already known, %d to evaluate with %d worker(s)",
        label,
        len(theta),
        n_cached,
        len(todo),
        jobs,
    )

    if todo:
        work: queue.Queue = queue.Queue()
        for item in todo.items():
            work.put(item)
        lock = threading.Lock()
        done = [0]
        t_start = time.perf_counter()

        def run_worker(_):
            worker = None
            try:
                while True:
                    try:
                        k, row = work.get_nowait()
                    except queue.Empty:
                        return
                    with cache.claim(k) if cache is not None else nullcontext() as known:
                        if known is not None:  # a concurrent chunk evaluated it meanwhile
                            rec = {**known, "cached": True}
                        else:
                            if worker is None or not worker.alive:
                                worker = Worker(spec, setup_timeout)
                            rec = worker.evaluate(row, timeout)
                            rec = {**rec, "theta": row, "cached": False}
                            if cache is not None:
                                cache.put(k, rec)
                    with lock:
                        results[k] = rec
                        done[0] += 1
                        log.info(
                            "%s: %d/%d evaluated (point %s: %s, chi2=%.6g, %.1f s; %.0f s elapsed)",
                            label,
                            done[0],
                            len(todo),
                            k[:10],
                            rec["status"],
                            rec["chi2"],
                            rec["seconds"],
                            time.perf_counter() - t_start,
                        )
            finally:
                if worker is not None:
                    worker.close()

        with ThreadPoolExecutor(max_workers=max(1, min(jobs, len(todo)))) as pool:
            list(pool.map(run_worker, range(max(1, min(jobs, len(todo))))))

    records = []
    for k, row in zip(keys, theta, strict=True):
        rec = dict(results[k])
        rec["theta"] = row
        records.append(rec)
    return EvaluationTable.from_records(spec.names, records, round_index=round_index)


if __name__ == "__main__":
    _serve()
