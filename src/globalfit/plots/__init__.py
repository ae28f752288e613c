"""Plots of the workflow stages (matplotlib, no pyplot state: every function writes one file)."""
