"""``MeanAbsoluteError``: ``sum_k |a_k - y_k|``."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .loss import Loss, _check_pair, _compiled_gradient, _compiled_sum, _regression_targets, _spec

if TYPE_CHECKING:
    from typing import Any

    import numpy as np

    from .._compiled import LossKernel
    from .loss import ArrayLike

__all__ = ["MeanAbsoluteError"]


class MeanAbsoluteError(Loss):
    """Absolute error ``L = sum_k |a_k - y_k|`` over the output units (L1).

    The gradient is ``sign(a - y)`` (0 where ``a == y``, as PyTorch's
    ``l1_loss``). Registry names ``"mae"`` and ``"mean_absolute_error"``.
    Targets: as :class:`MeanSquaredError`'s (any finite reals).

    Examples
    --------
    >>> import numpy as np
    >>> MeanAbsoluteError().cost(np.array([[1.0, 3.0]]), np.array([[0.0, 0.0]]))  # (1 + 3)/2
    2.0
    >>> MeanAbsoluteError().gradient(np.array([[1.0, -3.0, 0.0]]), np.zeros((1, 3)))
    array([[ 1., -1.,  0.]])
    """

    name = "mae"

    def _cost_sum(self, A: np.ndarray, Y: np.ndarray) -> float:
        return _compiled_sum(MeanAbsoluteError, A, Y)

    def gradient(self, A: ArrayLike, Y: ArrayLike) -> np.ndarray:
        A, Y = _check_pair(A, Y)
        return _compiled_gradient(MeanAbsoluteError, A, Y)

    def _prepare(self, y: np.ndarray, n: int, what: str, dt: np.dtype[Any]) -> np.ndarray:
        return _regression_targets(y, n, what)

    def compiled_spec(self) -> LossKernel:
        return _spec(self, MeanAbsoluteError, MeanAbsoluteError.name)
