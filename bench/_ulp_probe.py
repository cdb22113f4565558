"""The table the accuracy probes print (bench/gelu_tail.py, bench/silu_zero.py): for each
range of z and each implementation, the largest error in ULP of its float32 result against
a float64 reference, and the share of results more than 4 ULP off."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np


def ulps(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    """|got - want| in units of the float32 spacing at want (0 where both are 0).

    >>> float(ulps(np.float32([1.0]), np.float64([1.0]))[0])
    0.0
    """
    spacing = np.spacing(np.abs(want).astype(np.float32)).astype(np.float64)
    return np.abs(got.astype(np.float64) - want) / spacing


def print_table(title: str, z: np.ndarray, want: np.ndarray,
                impls: Mapping[str, np.ndarray], ranges: Sequence[tuple[float, float]]) -> None:
    """Print the title, a header naming each implementation and one row per range [lo, hi)."""
    print(title)
    print(f"{'z':>18s}" + "".join(f"{name:>30s}" for name in impls))
    print(f"{'':>18s}" + "".join(f"{'max ULP':>18s}{'> 4 ULP':>12s}" for _ in impls))
    for lo, hi in ranges:
        part = (z >= lo) & (z < hi)
        row = f"[{lo:6.2f}, {hi:6.2f})  "
        for got in impls.values():
            err = ulps(got[part], want[part])
            row += f"{err.max():18.3g}{np.mean(err > 4):12.2%}"
        print(row)
