"""Profile likelihoods on disk: one HDF5 file with a group per 1-D profile (``1d/<name>``, in
the order given) and an optional ``2d`` group.

Arrays are stored as datasets and notes as JSON strings, so the plotting rule reads back exactly
the profiles that the frequentist rule computed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from globalfit.inference.profiles import Profile1D, Profile2D

__all__ = ["load_profiles", "save_profiles"]


def save_profiles(path, profiles: Sequence[Profile1D], profile2d: Profile2D | None) -> None:
    """Write 1-D profiles (and a 2-D one) to HDF5: one group per profile.

    Parameters
    ----------
    path : path
        The file.
    profiles : sequence of Profile1D
        The 1-D profiles, in order.
    profile2d : Profile2D or None
        The 2-D profile.
    """
    import h5py

    with h5py.File(path, "w") as f:
        for i, p in enumerate(profiles):
            g = f.create_group(f"1d/{p.name}")
            g.attrs["index"] = i
            g["grid"], g["chi2"], g["theta"] = p.grid, p.chi2, p.theta
            g.attrs["chi2_min"] = p.chi2_min
            g.attrs["notes"] = json.dumps(p.notes)
        if profile2d is not None:
            g = f.create_group("2d")
            g["x"], g["y"], g["chi2"], g["theta"] = (
                profile2d.x,
                profile2d.y,
                profile2d.chi2,
                profile2d.theta,
            )
            g.attrs["names"] = list(profile2d.names)
            g.attrs["chi2_min"] = profile2d.chi2_min
            g.attrs["notes"] = json.dumps(profile2d.notes)


def load_profiles(path) -> tuple[list[Profile1D], Profile2D | None]:
    """Read what :func:`save_profiles` wrote.

    Parameters
    ----------
    path : path
        The file.

    Returns
    -------
    profiles : list of Profile1D
        The 1-D profiles in their order.
    profile2d : Profile2D or None
        The 2-D profile.
    """
    import h5py

    with h5py.File(path, "r") as f:
        ones = (
            [
                Profile1D(
                    name,
                    g["grid"][()],
                    g["chi2"][()],
                    g["theta"][()],
                    float(g.attrs["chi2_min"]),
                    json.loads(g.attrs["notes"]),
                )
                for name, g in sorted(f["1d"].items(), key=lambda item: int(item[1].attrs["index"]))
            ]
            if "1d" in f
            else []
        )
        two = None
        if "2d" in f:
            g = f["2d"]
            two = Profile2D(
                tuple(str(n) for n in g.attrs["names"]),
                g["x"][()],
                g["y"][()],
                g["chi2"][()],
                g["theta"][()],
                float(g.attrs["chi2_min"]),
                json.loads(g.attrs["notes"]),
            )
    return ones, two
