"""Which rows each rank trains on, and how large each step's global batch is.

Rank ``r`` of ``P`` owns the contiguous rows ``[m r // P, m (r + 1) // P)`` of ``X``
and ``y`` (and of the validation rows): a view, so a ``numpy.memmap`` is read only
where a rank's own rows lie. Every rank runs the same number of steps, that of the
largest shard; a step's global batch is the sum of the ranks' local batches (a rank
whose shard has run out adds none).

Examples
--------
>>> bounds(10, 3)
[(0, 3), (3, 6), (6, 10)]
>>> global_sizes([3, 3, 4], 2).tolist()
[6.0, 4.0]
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

__all__ = ["bounds", "global_sizes", "rows"]


def bounds(m: int, size: int) -> list[tuple[int, int]]:
    """The ``(start, stop)`` rows of each of ``size`` ranks' shards of ``m`` rows."""
    return [(m * r // size, m * (r + 1) // size) for r in range(size)]


def rows(a: Any, rank: int, size: int) -> Any:
    """Rank ``rank``'s shard of ``a``'s rows (a view for arrays and memmaps)."""
    start, stop = bounds(len(a), size)[rank]
    return a[start:stop]


def global_sizes(shard_rows: Sequence[int], batch_size: int) -> np.ndarray:
    """Each step's global batch size (float64), for shards of ``shard_rows`` rows each
    trained in local batches of ``batch_size``."""
    n = np.asarray(shard_rows, dtype=np.int64)
    steps = -(-int(n.max()) // batch_size)
    starts = np.arange(steps, dtype=np.int64)[:, None] * batch_size
    sizes: np.ndarray = np.clip(n[None, :] - starts, 0, batch_size).sum(axis=1)
    return sizes.astype(np.float64)
