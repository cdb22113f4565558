# Stub for the compiled module _course.pyx: the names the Python code uses.
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

_Array = NDArray[np.floating[Any]]

def course_forward(
    X: ArrayLike,
    parameters: dict[str, Any],
    W_keys: tuple[str, ...],
    b_keys: tuple[str, ...],
    acts: list[int],
    alphas: list[float],
    softmaxes: list[bool],
) -> tuple[_Array, list[tuple[tuple[Any, Any, Any], _Array]]]: ...
def course_backward(
    Y: ArrayLike,
    caches: list[Any],
    ops: list[int],
    alphas: list[float],
    softmaxes: list[bool],
    keys: tuple[str, ...],
) -> dict[str, _Array]: ...
def course_update(
    parameters: dict[str, Any],
    grads: dict[str, Any],
    names: tuple[str, ...],
    grad_names: tuple[str, ...],
    learning_rate: float,
) -> list[str]: ...
