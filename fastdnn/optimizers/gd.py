"""``GD``: gradient descent, ``p -= learning_rate * g``."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._compiled import CODES, OptimizerKernel, check_maths, code
from .._kernels import _optim
from ..schedules import LearningRateSchedule
from .optimizer import Optimizer

if TYPE_CHECKING:
    import numpy as np

__all__ = ["GD"]


_CODES = CODES["optimizer"]


class GD(Optimizer):
    """Gradient descent: ``p -= learning_rate * g``.

    With mini-batches this is mini-batch (stochastic) gradient descent;
    :class:`SGD` adds Keras' ``momentum`` and ``nesterov`` arguments.

    Parameters
    ----------
    learning_rate : float or LearningRateSchedule, default 0.01
    clipnorm, global_clipnorm, clipvalue : float, optional
        Gradient clipping (see :class:`Optimizer`).

    Examples
    --------
    >>> import numpy as np
    >>> p = np.array([1.0, 2.0])
    >>> GD(learning_rate=0.1).apply_gradients([p], [np.array([1.0, -1.0])])
    >>> p
    array([0.9, 2.1])
    """

    def __init__(self, learning_rate: float | LearningRateSchedule = 0.01, *,
                 clipnorm: float | None = None, global_clipnorm: float | None = None,
                 clipvalue: float | None = None) -> None:
        super().__init__(learning_rate, clipnorm=clipnorm, global_clipnorm=global_clipnorm,
                         clipvalue=clipvalue)

    def _new_slots(self, params: list[np.ndarray]) -> tuple[list[np.ndarray], ...]:
        _optim.check_params(params)
        return ()

    def _update(self, params: list[np.ndarray], grads: list[np.ndarray],
                slots: tuple[list[np.ndarray], ...], decays: Any, lr: float) -> None:
        _optim.update(_CODES["gd"], params, grads, (), (), decays, lr, **self._clip_args())

    def compiled_spec(self) -> OptimizerKernel:
        check_maths(self, GD, "optimizer")
        return OptimizerKernel(code("optimizer", "gd"), **self._clip_args())

