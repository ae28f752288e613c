"""Δχ² levels used across the package, defined once.

Likelihood-ratio regions by Wilks' theorem: Δχ² = 1 and 4 bound the 68.3 % and 95.4 % intervals
of one parameter, Δχ² = 2.30 and 6.18 the regions of two. A "hit" of active learning is a point
within the two-parameter 68 % level of the best χ²; the surrogate's region ends at Δχ² = 10.
"""

from __future__ import annotations

__all__ = ["HIT", "LEVELS_1D", "LEVELS_2D", "REGION"]

LEVELS_1D = {"1sigma": 1.0, "2sigma": 4.0}
LEVELS_2D = {"1sigma": 2.30, "2sigma": 6.18}
HIT = LEVELS_2D["1sigma"]
REGION = 10.0
