# Stub for the compiled module _dense.pyx: the names the Python code uses.
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

_Array = NDArray[np.floating[Any]]

SMALL_GEMM_MACS: int

def forward(
    A_prev: ArrayLike,
    W: ArrayLike,
    b: ArrayLike,
    act: int,
    alpha: float,
    softmax: bool,
    out: NDArray[Any] | None = None,
    layer: object = None,
) -> _Array: ...
def backward(
    dA: ArrayLike,
    A_prev: ArrayLike,
    W: ArrayLike,
    b: ArrayLike | None,
    A: ArrayLike,
    op: int,
    alpha: float,
    softmax: bool,
    need_dA_prev: bool = True,
    layer: object = None,
    dA_name: str = "dA",
) -> tuple[_Array | None, _Array, _Array]: ...
def forward_into(
    X: NDArray[Any],
    W: NDArray[Any],
    b: NDArray[Any] | None,
    act: int,
    alpha: float,
    softmax: bool,
    A: NDArray[Any],
) -> None: ...
def backward_into(
    G: NDArray[Any],
    X: NDArray[Any],
    W: NDArray[Any],
    A: NDArray[Any],
    op: int,
    alpha: float,
    softmax: bool,
    dZ: NDArray[Any],
    dW: NDArray[Any],
    db: NDArray[Any] | None,
    dA_prev: NDArray[Any] | None,
) -> None: ...
def matmul(
    A: ArrayLike,
    B: ArrayLike,
    alpha: float = 1.0,
    direct: bool = True,
    out: NDArray[Any] | None = None,
    beta: float = 0.0,
    act: int = -1,
    act_alpha: float = 0.0,
    bias: ArrayLike | None = None,
    shares: int = 0,
    split: Literal["cost", "rows", "columns"] = "cost",
) -> _Array: ...
