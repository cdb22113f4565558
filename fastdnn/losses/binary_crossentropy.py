"""``BinaryCrossentropy``: ``-sum_k (y log a + (1-y) log(1-a))``, fused with a sigmoid output."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .._compiled import LossKernel, check_maths, code
from .loss import Loss, _check_pair, _check_unit_interval, _clip_bounds, _compiled_sum

if TYPE_CHECKING:
    from typing import Any

    from .loss import ArrayLike

__all__ = ["BinaryCrossentropy"]


class BinaryCrossentropy(Loss):
    """Binary cross-entropy, fused with a sigmoid output (``dZ = A - Y``).

    ``L = -sum_k (y_k log a_k + (1 - y_k) log(1 - a_k))`` over the output units
    (one unit for a binary classifier, several for independent labels), with
    ``A`` clipped into ``[tiny, 1 - eps/2]``.

    Targets (:meth:`prepare_targets`): ``(m,)`` or ``(m, 1)`` 0/1 labels for one
    output unit, ``(m, n_outputs)`` otherwise; values in ``[0, 1]`` (soft labels
    are fine), bool, int or float.

    Examples
    --------
    >>> import numpy as np
    >>> bce = BinaryCrossentropy()
    >>> round(bce.cost(np.array([[0.5, 0.5]]), np.array([[1.0, 0.0]])), 6)  # log 2
    0.693147
    >>> bce.gradient(np.array([[0.5]]), np.array([[1.0]]))
    array([[-2.]])
    >>> bce.cost(np.array([[0.0, 1.0]]), np.array([[0.0, 1.0]])) < 1e-15
    True
    """

    name = "binary_crossentropy"
    fused_activation = "sigmoid"

    def _cost_sum(self, A: np.ndarray, Y: np.ndarray) -> float:
        return _compiled_sum(BinaryCrossentropy, A, Y)

    def gradient(self, A: ArrayLike, Y: ArrayLike) -> np.ndarray:
        A, Y = _check_pair(A, Y)
        lo, hi = _clip_bounds(A.dtype)
        with np.errstate(all="ignore"):
            a = np.clip(A, lo, hi)
            dA = a - Y
            dA /= a * (1 - a)  # -(y/a - (1-y)/(1-a)) with one rounding-friendly division
        return dA  # type: ignore[no-any-return]  # NumPy types ufunc results as Any

    def _prepare(self, y: np.ndarray, n: int, what: str, dt: np.dtype[Any]) -> np.ndarray:
        if y.ndim == 1:
            if n != 1:
                raise ValueError(
                    f"{what} has shape {y.shape} (one label per example) but the output layer "
                    f"has n_outputs={n} units; binary_crossentropy needs {what} of shape "
                    f"(m, {n})")
            y = y.reshape(-1, 1)
        elif y.shape[1] != n:
            raise ValueError(f"{what} has shape {y.shape}; expected (m, {n}) for an output layer "
                             f"of {n} unit{'s' if n > 1 else ''}")
        _check_unit_interval(y, what, self.name)
        return y

    def compiled_spec(self) -> LossKernel:
        check_maths(self, BinaryCrossentropy, "loss")
        return LossKernel(code("loss", BinaryCrossentropy.name),
                          BinaryCrossentropy.fused_activation)
