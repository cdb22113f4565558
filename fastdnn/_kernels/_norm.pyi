# Stub for the compiled module _norm.pyx: the names the Python code uses.
from typing import Any

from numpy.typing import NDArray

_A = NDArray[Any]

def batch_norm_train(
    X: _A, gamma: _A, beta: _A, epsilon: float, Y: _A, mean: _A, var: _A, inv_std: _A,
    moving_mean: _A | None = None, moving_var: _A | None = None, momentum: float = 0.99,
) -> None: ...
def batch_norm_infer(
    X: _A, gamma: _A, beta: _A, moving_mean: _A, moving_var: _A, epsilon: float, Y: _A
) -> None: ...
def batch_norm_backward(
    dY: _A, X: _A, gamma: _A, mean: _A, inv_std: _A, dX: _A | None, dgamma: _A, dbeta: _A,
    scale: float, db: _A | None = None,
) -> None: ...
def layer_norm_forward(
    X: _A, gamma: _A, beta: _A, epsilon: float, Y: _A, mean: _A, inv_std: _A
) -> None: ...
def layer_norm_backward(
    dY: _A, X: _A, gamma: _A, mean: _A, inv_std: _A, dX: _A | None, dgamma: _A, dbeta: _A,
    scale: float,
) -> None: ...
