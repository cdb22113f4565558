"""``SquaredHinge``: ``sum_k max(1 - y_k a_k, 0)^2`` with labels ``y`` in {-1, 1}."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .hinge import _hinge_targets
from .loss import Loss, _check_pair, _compiled_gradient, _compiled_sum, _spec

if TYPE_CHECKING:
    from typing import Any

    import numpy as np

    from .._compiled import LossKernel
    from .loss import ArrayLike

__all__ = ["SquaredHinge"]


class SquaredHinge(Loss):
    """Squared hinge loss ``L = sum_k max(1 - y_k a_k, 0)^2`` (Keras' ``SquaredHinge``).

    Targets: as :class:`Hinge`'s (0/1 labels become -1/1). The gradient is
    ``-2 y max(1 - y a, 0)``.

    Examples
    --------
    >>> import numpy as np
    >>> SquaredHinge().cost(np.array([[0.5, -1.0]]), np.array([[1.0, 1.0]]))  # (0.25 + 4)/2
    2.125
    """

    name = "squared_hinge"

    def _cost_sum(self, A: np.ndarray, Y: np.ndarray) -> float:
        return _compiled_sum(SquaredHinge, A, Y)

    def gradient(self, A: ArrayLike, Y: ArrayLike) -> np.ndarray:
        A, Y = _check_pair(A, Y)
        return _compiled_gradient(SquaredHinge, A, Y)

    def _prepare(self, y: np.ndarray, n: int, what: str, dt: np.dtype[Any]) -> np.ndarray:
        return _hinge_targets(y, n, what)

    def compiled_spec(self) -> LossKernel:
        return _spec(self, SquaredHinge, SquaredHinge.name)
