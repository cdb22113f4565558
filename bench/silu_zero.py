"""What float32 SiLU's derivative's speed against PyTorch is bought with: the error of each
in ULP, near the derivative's zero and away from it.

SiLU's derivative sigma(z) (1 + z (1 - sigma(z))) crosses zero at z0 = -1.2784645: there
the bracket 1 + z (1 - sigma) cancels, and a float32 result keeps its relative accuracy
only if the cancellation is computed exactly. ``fastdnn.functional.silu_derivative``
evaluates (z - z0) q(z) on [-1.42, -1.14] (q a polynomial, z - z0 exact) and one quotient
elsewhere, within 4 ULP everywhere; PyTorch's ``silu_backward`` (the same derivative times
dA = 1) computes the bracket in float32. Both are timed by ``bench/run.py`` (activations
section, float32 silu_derivative and silu_backward); this prints their errors, over ranges
of z, against a float64 reference whose own cancellation is exact ((1 + z) + e^z, with
1 + z exact for a float32 z):

    python bench/silu_zero.py [--points 2000001]

Columns: the range of z, then for each implementation the largest error in ULP of the
float32 result (its spacing at the reference value) and the share of results more than
4 ULP off. The window around z0 takes every float32 within 10^-4 of it besides the grid.
Without PyTorch installed, fastdnn's column alone.
"""
from __future__ import annotations

import argparse

import numpy as np

import fastdnn
from fastdnn import functional as F

from _ulp_probe import print_table

Z0 = -1.2784645427610738
RANGES = ((-20.0, -5.0), (-5.0, -1.42), (-1.42, -1.30), (-1.30, -1.26), (-1.26, -1.14),
          (-1.14, 0.0), (0.0, 5.0), (5.0, 20.0))


def reference(z: np.ndarray) -> np.ndarray:
    """sigma(z) (1 + z (1 - sigma(z))) in float64 for float32 z: for z < 0 as
    sigma(z) ((1 + z) + e^z) / (1 + e^z), whose sum cancels exactly (1 + z is exact)."""
    x = z.astype(np.float64)
    e = np.exp(-np.abs(x))                     # e^z for z < 0, e^-z otherwise
    s = np.where(x < 0, e / (1 + e), 1 / (1 + e))
    neg = s * (((1 + x) + e) / (1 + e))
    pos = s * (1 + x * (e / (1 + e)))
    return np.where(x < 0, neg, pos)


def points(n: int) -> np.ndarray:
    """n points over the ranges, and every float32 within 1e-4 of z0."""
    grid = np.linspace(RANGES[0][0], RANGES[-1][1], n).astype(np.float32)
    lo, hi = np.float32(Z0 - 1e-4), np.float32(Z0 + 1e-4)
    near = np.arange(lo.view(np.int32), hi.view(np.int32) - 1, -1, dtype=np.int32)
    return np.unique(np.concatenate([grid, near.view(np.float32)]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=2_000_001)
    args = parser.parse_args()
    z = points(args.points)
    want = reference(z)
    impls = {"fastdnn": F.silu_derivative(z)}
    try:
        import torch
        t = torch.from_numpy(z)
        impls["torch " + torch.__version__] = torch.ops.aten.silu_backward(
            torch.ones_like(t), t).numpy()
    except ImportError:
        pass
    title = (f"float32 silu_derivative against float64, {z.size} points, "
             f"fastdnn {fastdnn.__version__}")
    print_table(title, z, want, impls, RANGES)


if __name__ == "__main__":
    main()
