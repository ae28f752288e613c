"""Logging for workflow scripts: line-buffered files a person can follow with ``tail -f``, and
job output free of TensorFlow's CUDA probing on machines without a GPU."""

from __future__ import annotations

import glob
import logging
import os
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

__all__ = ["CUDA_PROBING", "has_nvidia_gpu", "snakemake_log", "start", "without_lines"]

#: what TensorFlow's C++ runtime prints, at any log level, while it looks for CUDA and finds none
#: (a user reads "failed call to cuInit" as a failure of the job)
CUDA_PROBING = (
    "cuInit",
    "cudart_stub.cc",
    "Could not find cuda drivers",
    "cuda_platform.cc",
    "cuda_executor.cc",
    "Unable to register cuDNN factory",
    "Unable to register cuFFT factory",
    "Unable to register cuBLAS factory",
    "computation_placer.cc",
    "TF-TRT Warning: Could not find TensorRT",
    "All log messages before absl::InitializeLog() is called are written to STDERR",
)


def start(log_path: str | None, name: str = "globalfit") -> logging.Logger:
    """Send log records (and warnings) of every module to ``log_path`` (stderr if None)."""
    handler = (
        logging.FileHandler(log_path, mode="w") if log_path else logging.StreamHandler(sys.stderr)
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    logging.captureWarnings(True)
    return logging.getLogger(name)


def snakemake_log(snakemake) -> logging.Logger:
    """Logger writing to the rule's first ``log:`` file."""
    return start(snakemake.log[0] if snakemake.log else None, name=f"globalfit.{snakemake.rule}")


def has_nvidia_gpu() -> bool:
    """Whether the machine has an NVIDIA device node (then CUDA messages are worth reading)."""
    return bool(glob.glob("/dev/nvidia[0-9]*"))


@contextmanager
def without_lines(patterns: Sequence[str]) -> Iterator[None]:
    """Run a block with file descriptor 2 going through a filter that drops every line
    containing one of ``patterns`` and passes the others on as they arrive. C libraries write to
    the descriptor, not to ``sys.stderr``, so only this catches them; Python warnings of the
    block pass through, and a crash inside the block loses at most a partial last line.

    Parameters
    ----------
    patterns : sequence of str
        Substrings of the lines to drop.
    """
    if not patterns:  # nothing to drop: no pipe, no thread
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    read_end, write_end = os.pipe()

    def forward() -> None:
        with os.fdopen(read_end, "rb") as lines:
            for line in lines:
                if not any(p in line.decode("utf-8", errors="replace") for p in patterns):
                    os.write(saved, line)

    reader = threading.Thread(target=forward, daemon=True)
    reader.start()
    os.dup2(write_end, 2)
    os.close(write_end)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)  # closes our write end of the pipe: the reader reaches its end
        reader.join(timeout=10)  # unless a child process started in the block still holds it
        if not reader.is_alive():
            os.close(saved)
