"""``MeanSquaredError``: ``(1/2) sum_k (a_k - y_k)^2``, fused with a linear output."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .._compiled import LossKernel, check_maths, code
from .loss import Loss, _check_pair, _compiled_sum, _regression_targets

if TYPE_CHECKING:
    from typing import Any

    from .loss import ArrayLike

__all__ = ["MeanSquaredError"]


class MeanSquaredError(Loss):
    """Half squared error, fused with a linear output (``dZ = A - Y``).

    ``L = (1/2) sum_k (a_k - y_k)^2`` summed over the output units: half the
    usual squared error, the lecture's and scikit-learn ``MLPRegressor``'s
    regression loss (``J`` of one output is half of
    ``sklearn.metrics.mean_squared_error``). Registry names ``"mse"`` and
    ``"mean_squared_error"``.

    Targets (:meth:`prepare_targets`): ``(m,)`` for one output unit, else
    ``(m, n_outputs)``; any finite real values.

    Examples
    --------
    >>> import numpy as np
    >>> MeanSquaredError().cost(np.array([[1.0, 3.0]]), np.array([[0.0, 0.0]]))  # (1 + 9)/2/2
    2.5
    >>> MeanSquaredError().gradient(np.array([[1.0, 3.0]]), np.array([[0.0, 1.0]]))
    array([[1., 2.]])
    """

    name = "mse"
    fused_activation = "linear"

    def _cost_sum(self, A: np.ndarray, Y: np.ndarray) -> float:
        return _compiled_sum(MeanSquaredError, A, Y)

    def gradient(self, A: ArrayLike, Y: ArrayLike) -> np.ndarray:
        A, Y = _check_pair(A, Y)
        with np.errstate(all="ignore"):
            return A - Y

    def _prepare(self, y: np.ndarray, n: int, what: str, dt: np.dtype[Any]) -> np.ndarray:
        return _regression_targets(y, n, what)

    def compiled_spec(self) -> LossKernel:
        check_maths(self, MeanSquaredError, "loss")
        return LossKernel(code("loss", MeanSquaredError.name), MeanSquaredError.fused_activation)
