"""Profile likelihoods checked by the true χ², on one Δχ² reference, with their box-edge caveats.

The profiles minimise the surrogate; a minimiser can sit in a regressor error or a wall pocket
the classifier kept. So the minimising points at the interval crossings and at a few interior grid
points go to the oracle (the ``profile_check`` batch), and a profile is ``validated`` when
|Δχ²_true − Δχ²_surrogate| ≤ tolerance at every one of them. Δχ²_surrogate is measured from one
reference shared by every profile (the lowest surrogate χ² of the best fit and all profiles),
Δχ²_true from the confirmed best fit's true χ²: a constant offset of the surrogate cancels.

Where a minimiser's other parameters lie within ``BOUND_FRACTION`` of the box width of a bound,
the profile is a profile over a truncated space there: those grid points are named. An interval
that reaches the box edge is a limit, not an interval.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from globalfit.inference.profiles import Interval, Profile1D
from globalfit.levels import LEVELS_1D
from globalfit.space import ParameterSpace

__all__ = [
    "BOUND_FRACTION",
    "bound_parameters",
    "check_profiles",
    "common_reference",
    "describe_interval",
    "PLAIN_CHI2_NOTE",
    "profile_check_points",
    "profiles_summary",
]

BOUND_FRACTION = 0.01


def common_reference(best_chi2: float, profiles: Sequence) -> float:
    """The one Δχ² reference: the lowest surrogate χ² of the best fit and of every profile (1-D
    or 2-D), set on each profile so that all their Δχ² are measured from it.

    Parameters
    ----------
    best_chi2 : float
        The surrogate's best-fit χ².
    profiles : sequence of Profile1D or Profile2D
        Changed in place: their ``chi2_min``.

    Returns
    -------
    float
        The reference χ².
    """
    ref = min([float(best_chi2), *(float(np.min(p.chi2)) for p in profiles)])
    for p in profiles:
        p.chi2_min = ref
    return ref


def describe_interval(iv: Interval) -> dict:
    """An interval with its kind: ``interval``, ``upper limit`` (reaches the lower box edge),
    ``lower limit`` or ``unconstrained`` (both edges), and the bounds that mean something.

    Parameters
    ----------
    iv : Interval
        From :meth:`Profile1D.intervals`.

    Returns
    -------
    dict
        ``kind``, ``lower``, ``upper`` (None where the box edge ends the interval) and the box
        edges it reaches.
    """
    kind = {
        (False, False): "interval",
        (True, False): "upper limit",
        (False, True): "lower limit",
        (True, True): "unconstrained",
    }[(iv.lower_at_edge, iv.upper_at_edge)]
    return {
        "kind": kind,
        "lower": None if iv.lower_at_edge else iv.lower,
        "upper": None if iv.upper_at_edge else iv.upper,
        "box_lower": iv.lower if iv.lower_at_edge else None,
        "box_upper": iv.upper if iv.upper_at_edge else None,
    }


def bound_parameters(
    profile: Profile1D, space: ParameterSpace, fraction: float = BOUND_FRACTION
) -> list[list[str]]:
    """Per grid point, the other parameters of its minimiser within ``fraction`` of the box
    width of a bound.

    Parameters
    ----------
    profile : Profile1D
        The profile (its ``theta``).
    space : ParameterSpace
        The box.
    fraction : float
        Share of each parameter's box width.

    Returns
    -------
    list of list of str
        One list per grid point (empty where no other parameter is at a bound).
    """
    margin = fraction * (space.upper - space.lower)
    near = (profile.theta - space.lower <= margin) | (space.upper - profile.theta <= margin)
    near[:, space.names.index(profile.name)] = False  # the profiled value is set, not found
    return [[space.names[j] for j in np.flatnonzero(row)] for row in near]


def _nearest_grid_index(grid: np.ndarray, x: float) -> int:
    return int(np.argmin(np.abs(grid - x)))


def profile_check_points(
    profiles: Sequence[Profile1D], n_per_profile: int, levels: Mapping[str, float] = LEVELS_1D
) -> tuple[np.ndarray, list[dict]]:
    """The minimisers to evaluate with the oracle: ``n_per_profile`` per 1-D profile.

    Per profile, in this order until ``n_per_profile`` are chosen: the grid points nearest to each
    interval crossing inside the box (level by level, lowest first), the profile's minimum, then
    grid points evenly spaced among those with Δχ² ≤ the highest level. Fewer distinct grid
    points than asked repeat the minimum (the oracle's cache evaluates a repeat once), so the
    batch has a fixed size.

    Parameters
    ----------
    profiles : sequence of Profile1D
        The profiles, on the common reference (:func:`common_reference`).
    n_per_profile : int
        Points per profile (≥ 1).
    levels : mapping
        {label: Δχ²} of the intervals whose crossings are checked.

    Returns
    -------
    points : (len(profiles) · n_per_profile, d) ndarray
        The minimising points.
    plan : list of dict
        Per point: ``profile``, ``grid_index``, ``x``, ``kind`` ('crossing <label>',
        'minimum', 'interior', 'repeat') and ``delta_surrogate``.
    """
    if n_per_profile < 1:
        raise ValueError(f"n_per_profile must be >= 1, got {n_per_profile}")
    points, plan = [], []
    top = max(levels.values())
    for prof in profiles:
        chosen: list[tuple[int, str]] = []

        def take(i: int, kind: str, chosen=chosen) -> None:
            if len(chosen) < n_per_profile and i not in [c[0] for c in chosen]:
                chosen.append((i, kind))

        for label, level in sorted(levels.items(), key=lambda kv: kv[1]):
            for iv in prof.intervals(level):
                for x, at_edge in ((iv.lower, iv.lower_at_edge), (iv.upper, iv.upper_at_edge)):
                    if not at_edge:
                        take(_nearest_grid_index(prof.grid, x), f"crossing {label}")
        i_min = int(np.argmin(prof.chi2))
        take(i_min, "minimum")
        inside = np.flatnonzero(prof.delta <= top)
        for i in inside[np.linspace(0, inside.size - 1, n_per_profile).round().astype(int)]:
            take(int(i), "interior")
        while len(chosen) < n_per_profile:
            chosen.append((i_min, "repeat"))
        for i, kind in chosen:
            points.append(prof.theta[i])
            plan.append(
                {
                    "profile": prof.name,
                    "grid_index": i,
                    "x": float(prof.grid[i]),
                    "kind": kind,
                    "delta_surrogate": float(prof.delta[i]),
                }
            )
    return np.array(points, dtype=np.float64), plan


def check_profiles(
    plan: Sequence[Mapping],
    chi2_true: np.ndarray,
    ok: np.ndarray,
    chi2_best_true: float,
    tolerance: float = 0.5,
) -> dict:
    """Per profile: the true Δχ² at its checked points and whether it is ``validated``.

    Parameters
    ----------
    plan : sequence of mapping
        :func:`profile_check_points`' plan, in the order of the evaluated points.
    chi2_true : (n,) ndarray
        True χ² of the points.
    ok : (n,) bool ndarray
        Whether the oracle succeeded at each point.
    chi2_best_true : float
        The confirmed best fit's true χ² (the reference of Δχ²_true).
    tolerance : float
        Largest |Δχ²_true − Δχ²_surrogate| of a validated profile.

    Returns
    -------
    dict
        {profile: {``validated``, ``max_abs_error``, ``n_checked``, ``n_failed``, ``points``}};
        a profile with a failed point is not validated (it was not checked everywhere).
    """
    chi2_true = np.asarray(chi2_true, dtype=np.float64)
    ok = np.asarray(ok, dtype=bool)
    if not len(plan) == chi2_true.size == ok.size:
        raise ValueError(
            f"profile checks: {len(plan)} planned points, {chi2_true.size} χ², {ok.size} statuses"
        )
    out: dict[str, dict] = {}
    for row, c, good in zip(plan, chi2_true, ok, strict=True):
        entry = out.setdefault(
            row["profile"], {"points": [], "n_failed": 0, "tolerance": float(tolerance)}
        )
        if row["kind"] == "repeat":
            continue
        delta_true = float(c - chi2_best_true) if good else None
        error = None if delta_true is None else delta_true - row["delta_surrogate"]
        entry["n_failed"] += not good
        entry["points"].append(
            {
                "x": row["x"],
                "kind": row["kind"],
                "delta_surrogate": row["delta_surrogate"],
                "delta_true": delta_true,
                "error": error,
            }
        )
    for entry in out.values():
        errors = [abs(p["error"]) for p in entry["points"] if p["error"] is not None]
        entry["n_checked"] = len(errors)
        entry["max_abs_error"] = max(errors) if errors else None
        entry["validated"] = bool(errors and entry["n_failed"] == 0 and max(errors) <= tolerance)
    return out


PLAIN_CHI2_NOTE = (
    "the profiles minimise the surrogate's plain chi2, as the best fit does: a profile likelihood "
    "has no prior, and the posterior's optional -2 ln p_in_region term is a Bayesian expectation "
    "over the classifier's doubt, not part of the likelihood; the truth checks below test the "
    "plain chi2 against the oracle"
)


def profiles_summary(
    surrogate_fit: Mapping,
    checked: tuple[np.ndarray, np.ndarray] | None,
    chi2_best_true: float,
    tolerance: float,
) -> tuple[dict, dict]:
    """The summary's ``profiles`` section (per parameter) and its ``profile_reference``.

    Parameters
    ----------
    surrogate_fit : mapping
        ``best_fit_surrogate.json``: ``profiles`` (each with ``intervals``), ``reference_chi2``,
        ``at_bound`` and the ``profile_checks`` plan.
    checked : (chi2, ok) arrays or None
        The oracle's results at the planned points, in plan order (None: nothing was checked).
    chi2_best_true : float
        The confirmed best fit's true χ².
    tolerance : float
        As for :func:`check_profiles`.

    Returns
    -------
    profiles : dict
        Per parameter: ``intervals`` (as computed), ``limits`` (:func:`describe_interval`),
        ``validated``, ``check`` and ``at_bound``.
    reference : dict
        Both χ² references, the likelihood profiled, ``tolerance`` and ``all_validated``.
    """
    plan = surrogate_fit.get("profile_checks", [])
    checks = check_profiles(plan, *checked, chi2_best_true, tolerance) if plan and checked else {}
    out = {}
    for name, prof in surrogate_fit["profiles"].items():
        check = checks.get(name)
        out[name] = {
            "intervals": prof["intervals"],
            "limits": {
                label: [describe_interval(Interval(**iv)) for iv in ivs]
                for label, ivs in prof["intervals"].items()
            },
            "validated": bool(check and check["validated"]),
            "check": check,
            "at_bound": surrogate_fit.get("at_bound", {}).get(name, {}),
        }
    return out, {
        "chi2_surrogate": surrogate_fit.get("reference_chi2"),
        "chi2_true": float(chi2_best_true),
        "likelihood": PLAIN_CHI2_NOTE,
        "tolerance": float(tolerance),
        "all_validated": all(p["validated"] for p in out.values()),
    }
