"""Plots of the workflow stages (matplotlib, no pyplot state: every function writes one file)."""

__all__ = []  # one module per stage; nothing is re-exported
