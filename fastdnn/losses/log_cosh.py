"""``LogCosh``: ``sum_k log(cosh(a_k - y_k))``."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .loss import Loss, _check_pair, _compiled_gradient, _compiled_sum, _regression_targets, _spec

if TYPE_CHECKING:
    from typing import Any

    import numpy as np

    from .._compiled import LossKernel
    from .loss import ArrayLike

__all__ = ["LogCosh"]


class LogCosh(Loss):
    """``L = sum_k log(cosh(a_k - y_k))``: about ``d^2 / 2`` for small errors ``d`` and
    ``|d| - log 2`` for large ones. Computed as ``|d| + log(1 + e^(-2|d|)) - log 2``, so
    no ``cosh`` overflows; the gradient is ``tanh(d)``. Registry names ``"log_cosh"``
    and ``"logcosh"``. Targets: as :class:`MeanSquaredError`'s.

    Examples
    --------
    >>> import numpy as np
    >>> round(LogCosh().cost(np.array([[1.0]]), np.array([[0.0]])), 6)  # log cosh 1
    0.433781
    >>> LogCosh().cost(np.array([[1000.0]]), np.array([[0.0]]))  # 1000 - log 2
    999.3068528194401
    """

    name = "log_cosh"

    def _cost_sum(self, A: np.ndarray, Y: np.ndarray) -> float:
        return _compiled_sum(LogCosh, A, Y)

    def gradient(self, A: ArrayLike, Y: ArrayLike) -> np.ndarray:
        A, Y = _check_pair(A, Y)
        return _compiled_gradient(LogCosh, A, Y)

    def _prepare(self, y: np.ndarray, n: int, what: str, dt: np.dtype[Any]) -> np.ndarray:
        return _regression_targets(y, n, what)

    def compiled_spec(self) -> LossKernel:
        return _spec(self, LogCosh, LogCosh.name)
