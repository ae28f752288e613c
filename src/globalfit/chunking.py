__all__ = ["chunk_count", "split_chunks"]
"""How a batch of points is cut into evaluation chunks (one Snakemake/SLURM job each).

Standard library only: the Snakefile calls :func:`chunk_count` to name the chunk files, even
when Snakemake runs outside the project's environment.
"""


def chunk_count(n: int, chunk_size: int, parallel_chunks: int = 1) -> int:
    """Number of chunks for a batch of n points: enough for at most chunk_size points each,
    rounded up to a multiple of parallel_chunks (never more chunks than points), so a batch
    smaller than a chunk still keeps parallel_chunks workers busy."""
    if n < 1 or chunk_size < 1 or parallel_chunks < 1:
        raise ValueError(
            f"chunk_count: n, chunk_size, parallel_chunks must be >= 1, got {n}, {chunk_size}, "
            f"{parallel_chunks}"
        )
    k = -(-n // chunk_size)
    return min(n, -(-k // parallel_chunks) * parallel_chunks)


def split_chunks(n: int, n_chunks: int) -> list[slice]:
    """n_chunks consecutive slices of ``range(n)`` whose sizes differ by at most one."""
    if not 1 <= n_chunks <= n:
        raise ValueError(f"cannot split {n} points into {n_chunks} non-empty chunks")
    edges = [i * n // n_chunks for i in range(n_chunks + 1)]
    return [slice(a, b) for a, b in zip(edges[:-1], edges[1:], strict=True)]
