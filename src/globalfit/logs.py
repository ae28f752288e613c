"""Logging for workflow scripts: line-buffered files a person can follow with ``tail -f``."""

from __future__ import annotations

import logging
import sys

__all__ = ["snakemake_log", "start"]


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
