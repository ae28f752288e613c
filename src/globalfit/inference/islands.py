"""Islands of a posterior: separated groups of samples, their masses, and two samplers compared.

An island is a connected group under single linkage of equal-weight samples in unit-box
coordinates, cut at ``cut`` times the median nearest-neighbour distance (chains of near points
stay one island however curved; a gap of several typical spacings splits them). The sparsest
``trim`` of the samples (by distance to their 10th neighbour) are left out of the linkage first,
so that a thin bridge of tail points across a saddle does not chain two islands into one
(robust single linkage, Chaudhuri & Dasgupta 2010); they join an island afterwards. Groups holding
less than ``min_share`` of the points are stray tail points, not islands: every sample, weighted
or not, joins the island of its nearest clustered point. A mass's error is binomial with the
sampler's effective sample size, √(m(1 − m)/n_eff); two samplers disagree on an island when
their masses differ by more than ``n_sigma`` combined errors.
"""

from __future__ import annotations

import h5py
import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial import cKDTree

from globalfit.inference.posterior import Posterior
from globalfit.space import ParameterSpace

__all__ = ["Islands", "compare_island_masses", "draw_per_island", "find_islands"]


class Islands:
    """Labelled reference points; :meth:`assign` gives any point its island.

    Parameters
    ----------
    space : ParameterSpace
        The box whose unit coordinates measure distance.
    points : (m, d) ndarray
        The clustered reference points; ``labels`` (m,) their islands 0..k−1, largest first.
    """

    def __init__(self, space: ParameterSpace, points: np.ndarray, labels: np.ndarray):
        self.space = space
        self.points = np.asarray(points, dtype=np.float64)
        self.labels = np.asarray(labels, dtype=int)
        self.n_islands = int(self.labels.max()) + 1 if self.labels.size else 0
        self._tree = cKDTree(space.to_unit(self.points))

    def assign(self, theta: np.ndarray) -> np.ndarray:
        """(n, d) points -> (n,) island labels (that of the nearest reference point).

        Parameters
        ----------
        theta : (n, d) ndarray
            Points in the box.

        Returns
        -------
        (n,) int ndarray
            Island labels.
        """
        _, nearest = self._tree.query(self.space.to_unit(np.atleast_2d(theta)))
        return self.labels[nearest]

    def masses(self, theta: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        """(k,) share of the (weighted) samples in each island.

        Parameters
        ----------
        theta : (n, d) ndarray
            Samples.
        weights : (n,) ndarray, optional
            Their weights (equal if None).

        Returns
        -------
        (k,) ndarray
            Masses summing to one.
        """
        w = np.ones(len(theta)) if weights is None else np.asarray(weights, dtype=np.float64)
        m = np.bincount(self.assign(theta), weights=w, minlength=self.n_islands)
        return m / m.sum()

    def arrays(self) -> dict[str, np.ndarray]:
        """The reference points and labels as datasets for ``posterior.h5``."""
        return {"island_points": self.points, "island_labels": self.labels}

    @classmethod
    def read(cls, path, space: ParameterSpace) -> Islands:
        """The islands stored with a posterior by :meth:`arrays`.

        Parameters
        ----------
        path : path
            A ``posterior.h5`` written with ``extra=islands.arrays()``.
        space : ParameterSpace
            The box.

        Returns
        -------
        Islands
            The stored islands.

        Raises
        ------
        ValueError
            If the file holds no islands.
        """
        with h5py.File(path, "r") as f:
            if "island_labels" not in f:
                raise ValueError(f"{path}: no islands stored with this posterior")
            return cls(space, f["island_points"][()], f["island_labels"][()])

    def centres(self) -> np.ndarray:
        """(k, d) mean of each island's reference points."""
        return np.array([self.points[self.labels == i].mean(axis=0) for i in range(self.n_islands)])


def find_islands(
    space: ParameterSpace,
    samples: np.ndarray,
    *,
    cut: float = 5.0,
    trim: float = 0.1,
    min_share: float = 0.01,
) -> Islands:
    """Islands of equal-weight samples (single linkage in unit coordinates).

    Parameters
    ----------
    space : ParameterSpace
        The box.
    samples : (m, d) ndarray
        Equal-weight posterior samples (a few thousand at most: linkage is O(m²)).
    cut : float
        Linkage distance, in units of the median nearest-neighbour distance, that splits islands.
    trim : float
        Share of the sparsest samples left out of the linkage.
    min_share : float
        Groups with a smaller share of the samples are not islands; their points are dropped
        from the reference set (and so join the nearest island).

    Returns
    -------
    Islands
        Islands labelled by decreasing size.
    """
    x = np.asarray(samples, dtype=np.float64)
    u = space.to_unit(x)
    if len(x) < 20:
        return Islands(space, x, np.zeros(len(x), dtype=int))
    nn, _ = cKDTree(u).query(u, k=11)
    dense = nn[:, 10] <= np.quantile(nn[:, 10], 1.0 - trim)
    x, u = x[dense], u[dense]
    spacing = float(np.median(cKDTree(u).query(u, k=2)[0][:, 1]))
    raw = fcluster(linkage(u, method="single"), t=cut * max(spacing, 1e-12), criterion="distance")
    sizes = np.bincount(raw)
    big = [c for c in np.argsort(-sizes) if sizes[c] >= max(min_share * len(x), 1)]
    keep = np.isin(raw, big)
    relabel = {c: i for i, c in enumerate(big)}
    return Islands(space, x[keep], np.array([relabel[c] for c in raw[keep]], dtype=int))


def compare_island_masses(
    reference: np.ndarray,
    reference_n_eff: float,
    other: np.ndarray,
    other_n_eff: float,
    *,
    n_sigma: float = 3.0,
    labels: tuple[str, str] = ("the nested sampler", "emcee"),
    advice: str = "The emcee walkers did not mix between islands: quote the nested sampler's.",
) -> dict:
    """Island masses of two samplers side by side, and where they disagree.

    Parameters
    ----------
    reference, other : (k,) ndarrays
        Island masses from each sampler.
    reference_n_eff, other_n_eff : float
        Their effective sample sizes (for the binomial errors).
    n_sigma : float
        Disagreement threshold in combined errors (with a floor of 0.01 on the error, so that
        a well-sampled empty island is not a 100σ disagreement over a handful of points).
    labels : (str, str)
        How the sentence names the reference and the other sampler.
    advice : str
        What the sentence tells the reader to do when they disagree.

    Returns
    -------
    dict
        ``islands`` (one row per island: both masses, errors, pull), ``agree`` and
        ``sentence``.
    """
    a, b = np.asarray(reference, dtype=np.float64), np.asarray(other, dtype=np.float64)
    ea = np.sqrt(a * (1 - a) / max(reference_n_eff, 1.0))
    eb = np.sqrt(b * (1 - b) / max(other_n_eff, 1.0))
    err = np.maximum(np.hypot(ea, eb), 0.01)
    pull = (b - a) / err
    rows = [
        {
            "island": i,
            "mass_reference": float(a[i]),
            "mass_reference_err": float(ea[i]),
            "mass_other": float(b[i]),
            "mass_other_err": float(eb[i]),
            "pull": float(pull[i]),
        }
        for i in range(a.size)
    ]
    bad = [r for r in rows if abs(r["pull"]) > n_sigma]
    agree = not bad
    if agree:
        sentence = f"The two samplers agree on the masses of all {a.size} islands."
    else:
        worst = max(bad, key=lambda r: abs(r["pull"]))
        sentence = (
            f"The samplers DISAGREE on {len(bad)} of {a.size} island masses: island "
            f"{worst['island']} has {worst['mass_reference']:.3f} in {labels[0]} and "
            f"{worst['mass_other']:.3f} in {labels[1]} ({worst['pull']:+.1f}σ). {advice}"
        )
    return {"islands": rows, "agree": agree, "n_sigma": n_sigma, "sentence": sentence}


def draw_per_island(
    posterior: Posterior,
    islands: Islands,
    n: int,
    *,
    min_per_island: int = 5,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """n posterior draws, each island getting its share and at least ``min_per_island``.

    A draw proportional to mass leaves a light island with no true χ² at all; drawing at least a
    few points in each lets the truth check every island's weight. Each point carries the base
    weight island mass / points drawn there, so weighted sums are posterior averages.

    Parameters
    ----------
    posterior : Posterior
        The reported posterior.
    islands : Islands
        Its islands.
    n : int
        Total number of draws (raised to ``min_per_island`` x islands if smaller).
    min_per_island : int
        Floor per island.
    seed : int
        Seed of the draws.

    Returns
    -------
    theta : (m, d) ndarray
        The points.
    base_weights : (m,) ndarray
        Their posterior weights (summing to one).
    labels : (m,) int ndarray
        Their islands.
    """
    label = islands.assign(posterior.samples)
    mass = np.bincount(label, weights=posterior.weights, minlength=islands.n_islands)
    counts = np.maximum(np.round(mass * n).astype(int), min_per_island)
    counts[mass <= 0] = 0
    rng = np.random.default_rng(seed)
    theta, base, labels = [], [], []
    for i in np.flatnonzero(counts):
        rows = np.flatnonzero(label == i)
        w = posterior.weights[rows] / posterior.weights[rows].sum()
        pick = rng.choice(rows, size=counts[i], replace=True, p=w)
        theta.append(posterior.samples[pick])
        base.append(np.full(counts[i], mass[i] / counts[i]))
        labels.append(np.full(counts[i], i))
    base = np.concatenate(base)
    return np.concatenate(theta), base / base.sum(), np.concatenate(labels)
