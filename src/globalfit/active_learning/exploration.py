"""Global exploration: a floor of every batch spent on basins that are not yet exploited.

Trust regions and an annealed EI margin exploit the basins already found; left to them, a batch
goes to the first good basin and a second one that the design missed is never visited (measured:
on a 4-D likelihood with two equal minima, 131 in-region points in one, 1 in the other). So a
fixed share of each batch (at least one point) is kept for two kinds of picks, neither of which
knows where a basin might be (a mirror image is found as any other basin is):

- **Prospects** (as in multi-level single linkage, Rinnooy Kan & Timmer 1987): every evaluated
  point that is better than its d + 1 nearest evaluated neighbours, off the target's flat cap and
  not near a trust region's centre, is the foot of an unexplored basin. Gaussian candidates around
  the best few of them (sd half the distance to their nearest evaluated neighbour, kept inside the
  prospect's Voronoi cell) are picked by the global GP's EI, one per prospect until a single one
  is left (which takes the rest), so a basin seen only on its flank is walked down until it is
  good enough to open a trust region of its own.
- **The whole box**: EI with a large, un-annealed margin δ on the Latin hypercube part of the pool.
  With the incumbent raised by δ, EI is the chance of a much better point, carried by the GP's
  uncertainty far from the data rather than by the known minimum (where σ is small).

A third of the exploration picks (rounded up) go to the whole box, the rest to prospects (to the
whole box when the prospects' candidates run out). Both kinds use the margin ``exploration_delta``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.spatial import cKDTree

from globalfit.active_learning.acquisition import _kriging_believer
from globalfit.active_learning.candidates import gaussian_candidates

__all__ = [
    "PROSPECT_CANDIDATES",
    "PROSPECTS_PER_PICK",
    "exploration_count",
    "exploration_picks",
    "find_prospects",
    "prospect_candidates",
]

PROSPECT_CANDIDATES = 256  # Gaussian candidates around each prospect
PROSPECTS_PER_PICK = 3  # prospects considered per prospect pick (EI chooses among them)


def exploration_count(share: float, batch_size: int) -> int:
    """Points of a batch reserved for exploration: ⌈share × batch_size⌉, none if share is 0, and
    at most batch_size − 1 (the trust regions and the global picks keep one).

    Parameters
    ----------
    share : float
        The configured ``exploration_share`` in [0, 1].
    batch_size : int
        Points per round.

    Returns
    -------
    int
        The count, between 0 and batch_size − 1.
    """
    return 0 if share <= 0 else min(int(batch_size) - 1, math.ceil(share * batch_size - 1e-9))


def find_prospects(
    u: np.ndarray,
    chi2: np.ndarray,
    *,
    cap: float,
    exclude: np.ndarray,
    separation: float,
    limit: int,
) -> np.ndarray:
    """Indices of up to ``limit`` evaluated points that are the foot of an unexploited basin.

    A prospect is better than each of its d + 1 nearest evaluated neighbours, has Δχ² below ``cap``
    (on the cap the target is flat: no basin to see), and lies at least ``separation``
    (unit-cube distance) from every point of ``exclude`` (the trust regions' centres) and from
    every better prospect; the best point is always excluded (it is exploited). Best first.

    Parameters
    ----------
    u : (n, d) ndarray
        The evaluated points (unit cube).
    chi2 : (n,) ndarray
        Their finite χ².
    cap : float
        The GP target's cap in Δχ².
    exclude : (m, d) ndarray
        Centres of the basins already exploited (unit cube).
    separation : float
        Smallest distance to an excluded centre or a better prospect.
    limit : int
        Most prospects returned.

    Returns
    -------
    (k,) int64 ndarray
        Indices into u, k ≤ limit.
    """
    n, d = u.shape
    k = min(d + 1, n - 1)
    if limit <= 0 or k < 1:
        return np.zeros(0, dtype=np.int64)
    _, nn = cKDTree(u).query(u, k=k + 1)
    local_min = np.all(chi2[:, None] <= chi2[nn[:, 1:]], axis=1)
    local_min &= chi2 - chi2.min() < cap
    chosen: list[int] = []
    taken = [np.asarray(c, dtype=np.float64) for c in np.asarray(exclude).reshape(-1, d)]
    taken.append(u[int(np.argmin(chi2))])
    for i in np.argsort(chi2, kind="stable"):
        if len(chosen) == limit:
            break
        if local_min[i] and all(np.linalg.norm(u[i] - c) >= separation for c in taken):
            chosen.append(int(i))
            taken.append(u[i])
    return np.array(chosen, dtype=np.int64)


def prospect_candidates(
    u: np.ndarray, prospects: np.ndarray, n_per: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Up to ``n_per`` Gaussian candidates around each prospect (sd half its nearest-neighbour
    distance) that lie in its Voronoi cell: nearer to it than to any other evaluated point, so that
    a global GP drawn to a known basin cannot pull the prospect's pick out of its own.

    Parameters
    ----------
    u : (n, d) ndarray
        The evaluated points (unit cube).
    prospects : (k,) int ndarray
        Indices into u (see :func:`find_prospects`).
    n_per : int
        Candidates per prospect.
    rng : numpy.random.Generator
        Source of the draws.

    Returns
    -------
    pool : (m, d) ndarray
        The candidates (unit cube), m ≤ k × n_per.
    owner : (m,) int64 ndarray
        The position in ``prospects`` each candidate belongs to.
    """
    d = u.shape[1]
    tree = cKDTree(u)
    dist, _ = tree.query(u[prospects], k=2) if len(prospects) else (np.zeros((0, 2)), None)
    parts, owner = [np.zeros((0, d))], [np.zeros(0, dtype=np.int64)]
    for j, (p, r) in enumerate(zip(prospects, dist[:, 1], strict=True)):
        draws = gaussian_candidates(u[p][None], 4 * n_per, np.full(d, 0.5 * max(r, 1e-6)), rng)
        own = draws[tree.query(draws, k=1)[1] == p][:n_per]  # in the prospect's Voronoi cell
        parts.append(own)
        owner.append(np.full(len(own), j, dtype=np.int64))
    return np.vstack(parts), np.concatenate(owner)


def exploration_picks(
    post, y_mean, y_std, y_best, delta, q, min_distance, allowed, forced, owner
) -> tuple[np.ndarray, np.ndarray]:
    """Up to ``q`` pool indices: q − ⌈q/3⌉ on prospects (each prospect one until one is left,
    which may take the rest), then the whole box (and what prospects leave), each by
    kriging-believer EI with margin ``delta`` after the ``forced`` picks (which condition them);
    and their EI at pick time. Fewer when the candidates run out.

    ``owner`` gives each pool index its prospect (≥ 0), −1 for the whole-box hypercube
    candidates and −2 for the rest of the pool, which exploration does not pick from.
    """
    picks = np.asarray(forced, dtype=np.int64)
    n_forced, q = len(picks), int(q)
    tree = cKDTree(post.u)
    ei_all: list[float] = []
    n_prospect_picks = q - math.ceil(q / 3)
    waiting = owner >= 0  # prospects not yet picked from in this round
    for k in range(q):
        live = allowed.copy()  # not an earlier pick, nor within min_distance of one
        for ball in tree.query_ball_point(post.u[picks], r=min_distance):
            live[ball] = False
        live[picks] = False
        mask = live & waiting if k < n_prospect_picks else np.zeros_like(live)
        if not mask.any():
            mask = live & (owner == -1)  # the whole box takes what prospects leave
        if not mask.any():
            break
        picks, ei = _kriging_believer(
            post, y_mean, y_std, y_best, delta, len(picks) + 1, min_distance, mask, forced=picks
        )
        ei_all.append(float(ei[-1]))
        chosen = owner[picks[-1]]
        if chosen >= 0 and len(np.unique(owner[live & waiting])) > 1:
            waiting &= owner != chosen  # one pick per prospect while others wait
    return picks[n_forced:], np.asarray(ei_all)
