"""``Huber``: half squared error within ``delta`` of the target, absolute error beyond."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .._validation import check_real
from .loss import Loss, _check_pair, _compiled_gradient, _compiled_sum, _regression_targets, _spec

if TYPE_CHECKING:
    from typing import Any

    import numpy as np

    from .._compiled import LossKernel
    from .loss import ArrayLike

__all__ = ["Huber"]


class Huber(Loss):
    """Huber loss: ``sum_k h(a_k - y_k)`` with ``h(d) = d^2 / 2`` for ``|d| <= delta``,
    else ``delta (|d| - delta / 2)`` (Keras' ``Huber``, PyTorch's ``huber_loss``).

    The gradient is ``d`` clipped into ``[-delta, delta]``. Targets: as
    :class:`MeanSquaredError`'s.

    Parameters
    ----------
    delta : float > 0, default 1.0

    Examples
    --------
    >>> import numpy as np
    >>> Huber().cost(np.array([[0.5, 3.0]]), np.zeros((1, 2)))  # (0.125 + 2.5) / 2
    1.3125
    >>> Huber(delta=2.0).gradient(np.array([[0.5, 3.0]]), np.zeros((1, 2)))
    array([[0.5, 2. ]])
    """

    name = "huber"

    def __init__(self, delta: float = 1.0):
        self.delta = check_real(delta, "delta", 0.0, low_open=True)

    def _cost_sum(self, A: np.ndarray, Y: np.ndarray) -> float:
        return _compiled_sum(Huber, A, Y, param=self.delta)

    def gradient(self, A: ArrayLike, Y: ArrayLike) -> np.ndarray:
        A, Y = _check_pair(A, Y)
        return _compiled_gradient(Huber, A, Y, param=self.delta)

    def _prepare(self, y: np.ndarray, n: int, what: str, dt: np.dtype[Any]) -> np.ndarray:
        return _regression_targets(y, n, what)

    def compiled_spec(self) -> LossKernel:
        return _spec(self, Huber, Huber.name, param=self.delta)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "delta": self.delta}
