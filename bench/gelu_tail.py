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

from _ulp_probe import print_table

RANGES = ((-14.75, -10.0), (-10.0, -5.0), (-5.0, -2.0), (-2.0, -0.75), (-0.75, 0.0),
          (0.0, 0.75), (0.75, 5.0), (5.0, 14.75))


def reference(z: np.ndarray) -> np.ndarray:
    """z Phi(z) in float64 for float32 z (erfc keeps the tail's relative accuracy)."""
    x = z.astype(np.float64)
    return 0.5 * x * erfc(-x / np.sqrt(2.0))


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
    title = (f"float32 gelu against z Phi(z) in float64, {args.points} points, "
             f"fastdnn {fastdnn.__version__}")
    print_table(title, z, want, impls, RANGES)


if __name__ == "__main__":
    main()
