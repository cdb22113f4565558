# Stub for the compiled module _elementwise.pyx: the names the Python code uses.
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

# The operation codes, made at import from csrc/fdnn_codes.h ("unary" and "binary" kinds).
SIGMOID: int
TANH: int
RELU: int
LEAKY_RELU: int
LINEAR: int
D_SIGMOID_Z: int
D_TANH_Z: int
D_RELU_Z: int
D_LEAKY_RELU_Z: int
D_LINEAR: int
D_SIGMOID_A: int
D_TANH_A: int
D_RELU_A: int
D_LEAKY_RELU_A: int
BW_SIGMOID: int
BW_TANH: int
BW_RELU: int
BW_LEAKY_RELU: int
BW_LINEAR: int
ELU: int
SELU: int
GELU: int
GELU_TANH: int
SILU: int
SOFTPLUS: int
SOFTSIGN: int
HARD_SIGMOID: int
MISH: int
D_ELU_Z: int
D_SELU_Z: int
D_GELU_Z: int
D_GELU_TANH_Z: int
D_SILU_Z: int
D_SOFTPLUS_Z: int
D_SOFTSIGN_Z: int
D_HARD_SIGMOID_Z: int
D_MISH_Z: int
D_ELU_A: int
D_SELU_A: int
D_SOFTPLUS_A: int
D_SOFTSIGN_A: int
D_HARD_SIGMOID_A: int
BW_ELU: int
BW_SELU: int
BW_GELU: int
BW_GELU_TANH: int
BW_SILU: int
BW_SOFTPLUS: int
BW_SOFTSIGN: int
BW_HARD_SIGMOID: int
BW_MISH: int
SGD_STEP: int
BW_OUTPUT_SUB: int

def code_names(kind: str) -> list[str]: ...

# The element-wise kernels return a new float32/float64 array, or ``out``; like a NumPy
# ufunc (and as NumPy's own stubs annotate those) a 0-d input without ``out`` gives a
# NumPy scalar instead.
def unary(
    op: int, z: ArrayLike, out: NDArray[Any] | None = None, alpha: float = 0.0, name: str = "z"
) -> NDArray[np.floating[Any]]: ...
def binary(
    op: int,
    dA: ArrayLike,
    a: ArrayLike,
    out: NDArray[Any] | None = None,
    alpha: float = 0.0,
    gname: str = "dA",
    xname: str = "a",
) -> NDArray[np.floating[Any]]: ...
def softmax(
    z: ArrayLike, axis: int | None = 0, out: NDArray[Any] | None = None
) -> NDArray[np.floating[Any]]: ...
def softmax_backward(
    dA: ArrayLike, a: ArrayLike, axis: int | None = 0, out: NDArray[Any] | None = None
) -> NDArray[np.floating[Any]]: ...
def gemm_tile(f64: bool, which: int = 0) -> tuple[int, int]: ...
def gemm_tile_for(f64: bool, M: int, N: int, K: int, rs_b: int) -> int: ...
def gemm_grid_rows(f64: bool, M: int, N: int, K: int, rs_a: int, cs_a: int, rs_b: int,
                   cs_b: int, split: int, nt: int) -> int: ...
def force_gemm_tile(which: int) -> None: ...
def simd_path() -> str: ...
def simd_available(name: str) -> bool: ...
def set_simd_path(name: str) -> None: ...
def stream_from() -> int: ...
def set_stream_from(nbytes: int) -> None: ...
def stream_count() -> int: ...
def openmp_enabled() -> bool: ...
def get_num_threads() -> int: ...
def get_user_threads() -> int: ...
def set_num_threads(n: int) -> None: ...
def team_backoffs() -> int: ...
def sum_of_squares(x: NDArray[Any]) -> float: ...
