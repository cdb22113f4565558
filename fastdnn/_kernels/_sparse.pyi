# Stub for the compiled module _sparse.pyx: the names the Python code uses.
from typing import Any

import numpy as np
from numpy.typing import NDArray

def csr_forward(X: Any, rows: NDArray[np.integer], W: NDArray[np.floating],
                Z: NDArray[np.floating]) -> None: ...
def csr_grad(X: Any, rows: NDArray[np.integer], dZ: NDArray[np.floating], scale: float,
             gW: NDArray[np.floating]) -> None: ...

class RowsGradient:
    n_features: int
    units: int
    dtype: np.dtype[Any] | None
    def set(self, X: Any, rows: NDArray[np.integer], dZ: NDArray[np.floating],
            scale: float) -> None: ...
