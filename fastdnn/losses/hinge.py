"""``Hinge``: ``sum_k max(1 - y_k a_k, 0)`` with labels ``y`` in {-1, 1}."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .loss import Loss, _check_pair, _compiled_gradient, _compiled_sum, _regression_targets, _spec

if TYPE_CHECKING:
    from typing import Any

    from .._compiled import LossKernel
    from .loss import ArrayLike

__all__ = ["Hinge"]


def _hinge_targets(y: np.ndarray, n: int, what: str) -> np.ndarray:
    """Labels for the hinges: ``(m,)`` or ``(m, n)``; 0/1 labels become -1/1 (as Keras
    does when every label is 0 or 1), other values are kept."""
    y = _regression_targets(y, n, what)
    if np.isin(y, (0, 1)).all():
        return 2.0 * y - 1.0
    return y


class Hinge(Loss):
    """Hinge loss ``L = sum_k max(1 - y_k a_k, 0)`` (Keras' ``Hinge``), for a linear or
    tanh output and labels ``y`` in {-1, 1}.

    Targets (:meth:`prepare_targets`): ``(m,)`` or ``(m, n_outputs)`` labels;
    when every label is 0 or 1 they are turned into -1 and 1. The gradient is
    ``-y`` where ``y a < 1``, else 0.

    Examples
    --------
    >>> import numpy as np
    >>> Hinge().prepare_targets([0, 1], n_outputs=1, dtype=np.float64).T
    array([[-1.,  1.]])
    >>> Hinge().cost(np.array([[0.5, 2.0]]), np.array([[1.0, 1.0]]))  # (0.5 + 0) / 2
    0.25
    """

    name = "hinge"

    def _cost_sum(self, A: np.ndarray, Y: np.ndarray) -> float:
        return _compiled_sum(Hinge, A, Y)

    def gradient(self, A: ArrayLike, Y: ArrayLike) -> np.ndarray:
        A, Y = _check_pair(A, Y)
        return _compiled_gradient(Hinge, A, Y)

    def _prepare(self, y: np.ndarray, n: int, what: str, dt: np.dtype[Any]) -> np.ndarray:
        return _hinge_targets(y, n, what)

    def compiled_spec(self) -> LossKernel:
        return _spec(self, Hinge, Hinge.name)
