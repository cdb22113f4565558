# Stub for the compiled module _metrics.pyx: the names the Python code uses.
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

def confusion_counts(A: ArrayLike, Y: ArrayLike, threshold: float) -> NDArray[np.float64]: ...
def auc_counts(A: ArrayLike, Y: ArrayLike, num_thresholds: int,
               logits: bool = False) -> NDArray[np.float64]: ...
def top_k_hits(A: ArrayLike, Y: ArrayLike, k: int) -> float: ...
