"""Saving a figure: the one helper every plot module uses (folder created, tight bounding box,
one resolution for the report)."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

__all__ = ["DPI", "save_figure"]

DPI = 120


def save_figure(fig: Figure, path: Path | str, *, dpi: int = DPI) -> Path:
    """Write ``fig`` to ``path`` (format from the suffix) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    return path
