"""emcee's stretch, DE and DE-snooker moves with their per-walker Python loops vectorised:
the same chains, bit for bit, in less time per step.

Every random number is drawn from emcee's generator in emcee's order, so a chain does not
depend on which implementation ran it (tested against emcee in ``tests/emcee_identity.py``).
``moves="stretch"`` (emcee's default) is the sampler's default; ``"de"`` is DE 0.8 plus
DE-snooker 0.2, the mixture of emcee's moves tutorial, which moves better between separated
modes.
"""

from __future__ import annotations

import emcee
import numpy as np

__all__ = ["VectorizedDEMove", "VectorizedDESnookerMove", "VectorizedStretchMove"]


class _VectorizedAccept:
    """emcee's red-blue ``propose`` with its accept/reject loop over walkers vectorised.

    ``RandomState.rand(n)`` draws the same numbers as n calls of ``rand()``, so the chain is
    bit-identical to the emcee move's (tested); with a compiled surrogate the per-walker Python
    loop is a large part of a step. Mixed into emcee's own moves below.
    """

    def propose(self, model, state):
        nwalkers, ndim = state.coords.shape
        if nwalkers < 2 * ndim and not self.live_dangerously:
            raise RuntimeError(
                "It is unadvisable to use a red-blue move with fewer walkers than twice "
                "the number of dimensions."
            )
        self.setup(state.coords)
        accepted = np.zeros(nwalkers, dtype=bool)
        all_inds = np.arange(nwalkers)
        inds = all_inds % self.nsplits
        if self.randomize_split:
            model.random.shuffle(inds)
        for split in range(self.nsplits):
            subset = inds == split
            sets = [state.coords[inds == j] for j in range(self.nsplits)]
            q, factors = self.get_proposal(
                sets[split], sets[:split] + sets[split + 1 :], model.random
            )
            new_log_probs, new_blobs = model.compute_log_prob_fn(q)
            members = all_inds[subset]
            lnpdiff = factors + new_log_probs - state.log_prob[members]
            accepted[members] = lnpdiff > np.log(model.random.rand(len(members)))
            state = self.update(
                state, emcee.State(q, log_prob=new_log_probs, blobs=new_blobs), accepted, subset
            )
        return state, accepted


class VectorizedStretchMove(_VectorizedAccept, emcee.moves.StretchMove):
    """:class:`emcee.moves.StretchMove`, same chain, faster accept step."""


class VectorizedDEMove(_VectorizedAccept, emcee.moves.DEMove):
    """:class:`emcee.moves.DEMove`, same chain, faster accept step."""


class VectorizedDESnookerMove(_VectorizedAccept, emcee.moves.DESnookerMove):
    """:class:`emcee.moves.DESnookerMove`, same chain, faster accept step and proposal.

    emcee's proposal runs a dozen small numpy operations per walker, which made a snooker step
    (a fifth of the workflow's steps) much slower than a DE step. Here the loop only draws the
    random numbers, in emcee's order (three ``randint`` and
    one ``shuffle`` of three rows per walker; shuffling ``arange(3)`` draws the same numbers as
    shuffling the rows), and the geometry is computed for all walkers at once.

    Bit-identity with emcee on any CPU: emcee's ``np.dot`` and ``np.linalg.norm`` of 1-D vectors
    are OpenBLAS ``ddot`` calls, whose rounding depends on the kernel OpenBLAS picks for the CPU
    (FMA, AVX-512 block sizes). Row sums or ``einsum`` round differently on some kernels, so every
    dot product here is a stacked ``np.matmul`` of (1, d) by (d, 1), which numpy hands to the same
    ``ddot`` per row; the rest is elementwise (correctly rounded everywhere). Tested under several
    OpenBLAS kernels and with numpy's AVX-512 loops switched off.
    """

    def get_proposal(self, s, c, random):
        ns, ndim = s.shape
        nc = [len(cj) for cj in c]
        picks = np.empty((ns, 3), dtype=np.int64)
        order = np.empty((ns, 3), dtype=np.int64)
        for i in range(ns):
            picks[i] = [random.randint(nc[j]) for j in range(3)]
            perm = np.arange(3)
            random.shuffle(perm)
            order[i] = perm
        w = np.stack([c[j][picks[:, j]] for j in range(3)], axis=1)  # (ns, 3, ndim)
        w = np.take_along_axis(w, order[:, :, None], axis=1)
        z, z1, z2 = w[:, 0], w[:, 1], w[:, 2]
        delta = _like_fresh_rows(s - z)
        norm = np.sqrt(_row_dot(delta, delta))
        u = _like_fresh_rows(delta / np.sqrt(norm)[:, None])
        dots = _row_dot(u, _like_fresh_rows(z1, shift=ndim % 2)) - _row_dot(u, _like_fresh_rows(z2))
        q = s + u * self.gammas * dots[:, None]
        qz = _like_fresh_rows(q - z)
        metropolis = np.log(np.sqrt(_row_dot(qz, qz))) - np.log(norm)
        return q, 0.5 * (ndim - 1.0) * metropolis


def _row_dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise dot products (n,) of two (n, d) arrays, each rounded exactly as ``np.dot`` of
    the two rows (and ``np.linalg.norm(x)`` = ``sqrt(np.dot(x, x))``): numpy computes a stacked
    (1, d) @ (d, 1) matmul with the BLAS ``ddot`` that ``np.dot`` calls."""
    return np.matmul(a[:, None, :], b[:, :, None])[:, 0, 0]


def _like_fresh_rows(x: np.ndarray, shift: int = 0) -> np.ndarray:
    """A copy of x (n, d) whose every row starts 16-byte aligned (+ ``shift`` elements), as a
    freshly allocated row does in emcee's loop (``w[1]`` of its (3, d) array is shifted by d
    elements). The SSE2-era OpenBLAS ``ddot`` kernels (Prescott, Core2, Barcelona) peel elements
    up to a 16-byte boundary, so their rounding depends on the operands' alignment."""
    n, d = x.shape
    stride = d + d % 2  # an even row length keeps every row on the first row's alignment
    buf = np.empty(n * stride + 2)
    first = (-buf.ctypes.data % 16) // 8 + shift % 2
    out = buf[first : first + n * stride].reshape(n, stride)[:, :d]
    out[...] = x
    return out


def _moves(moves):
    if moves is None or moves == "stretch":
        return VectorizedStretchMove()
    if moves == "de":
        return [(VectorizedDEMove(), 0.8), (VectorizedDESnookerMove(), 0.2)]
    if isinstance(moves, str):
        raise ValueError(f"moves must be 'stretch', 'de' or emcee move objects, got {moves!r}")
    return moves
