"""What float32 GELU's speed against PyTorch is bought with: the error of each in ULP.

``fastdnn.functional.gelu`` keeps every float32 result within 4 ULP of z Phi(z),
including the negative tail, where the result is z times a small Phi(z) and the
value's relative accuracy rests on Phi(-|z|) itself. PyTorch's exact ("none")
GELU computes 0.5 z (1 + erf(z / sqrt 2)): the sum 1 + erf cancels for z << 0, so
its relative error there grows with |z| however good its erf is. Both are timed by
``bench/run.py`` (activations section, float32 gelu at 10^6 elements); this prints
their errors, over ranges of z, against a float64 reference rounded nowhere
(``0.5 z erfc(-z / sqrt 2)`` from SciPy):

    python bench/gelu_tail.py [--points 2000001]

Columns: the range of z, then for each implementation the largest error in ULP of
the float32 result (its spacing at the reference value) and the share of results
more than 4 ULP off. Without PyTorch installed, fastdnn's column alone.
"""
from __future__ import annotations

import argparse

import numpy as np
from scipy.special import erfc

import fastdnn
from fastdnn import functional as F

RANGES = ((-14.75, -10.0), (-10.0, -5.0), (-5.0, -2.0), (-2.0, -0.75), (-0.75, 0.0),
          (0.0, 0.75), (0.75, 5.0), (5.0, 14.75))


def reference(z: np.ndarray) -> np.ndarray:
    """z Phi(z) in float64 for float32 z (erfc keeps the tail's relative accuracy)."""
    x = z.astype(np.float64)
    return 0.5 * x * erfc(-x / np.sqrt(2.0))


def ulps(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    """|got - want| in units of the float32 spacing at want (0 where both are 0)."""
    spacing = np.spacing(np.abs(want).astype(np.float32)).astype(np.float64)
    return np.abs(got.astype(np.float64) - want) / spacing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=2_000_001)
    args = parser.parse_args()
    z = np.linspace(RANGES[0][0], RANGES[-1][1], args.points).astype(np.float32)
    want = reference(z)
    impls = {"fastdnn": F.gelu(z)}
    try:
        import torch
        impls["torch " + torch.__version__] = torch.nn.functional.gelu(
            torch.from_numpy(z)).numpy()
    except ImportError:
        pass
    print(f"float32 gelu against z Phi(z) in float64, {args.points} points, "
          f"fastdnn {fastdnn.__version__}")
    print(f"{'z':>18s}" + "".join(f"{name:>30s}" for name in impls))
    print(f"{'':>18s}" + "".join(f"{'max ULP':>18s}{'> 4 ULP':>12s}" for _ in impls))
    for lo, hi in RANGES:
        part = (z >= lo) & (z < hi)
        row = f"[{lo:6.2f}, {hi:6.2f})  "
        for got in impls.values():
            err = ulps(got[part], want[part])
            row += f"{err.max():18.3g}{np.mean(err > 4):12.2%}"
        print(row)


if __name__ == "__main__":
    main()
