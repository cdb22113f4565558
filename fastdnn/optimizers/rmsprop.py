"""``RMSprop``: steps scaled by a moving average of the squared gradients."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._compiled import CODES, OptimizerKernel, check_maths, code
from .._kernels import _optim
from ..schedules import LearningRateSchedule
from .optimizer import Optimizer, _beta, _epsilon

if TYPE_CHECKING:
    import numpy as np

__all__ = ["RMSprop"]


_CODES = CODES["optimizer"]


class RMSprop(Optimizer):
    """RMSprop: ``s = beta s + (1 - beta) g**2; p -= lr * g / (sqrt(s) + epsilon)``.

    Parameters
    ----------
    learning_rate : float or LearningRateSchedule, default 0.001
    beta : float, default 0.999
        Weight of the old average of squared gradients, in ``[0, 1)``.
    epsilon : float, default 1e-8
        Added to ``sqrt(s)`` (finite, > 0).
    clipnorm, global_clipnorm, clipvalue : float, optional
        Gradient clipping (see :class:`Optimizer`).

    Examples
    --------
    >>> import numpy as np
    >>> p = np.array([1.0])
    >>> RMSprop(learning_rate=0.01, beta=0.75).apply_gradients([p], [np.array([2.0])])
    >>> round(float(p[0]), 6)  # s = 0.25 * 4 = 1: step 0.01 * 2 / 1
    0.98
    """

    _slot_names = ("s",)

    def __init__(self, learning_rate: float | LearningRateSchedule = 0.001,
                 beta: float = 0.999, epsilon: float = 1e-8, *,
                 clipnorm: float | None = None, global_clipnorm: float | None = None,
                 clipvalue: float | None = None) -> None:
        super().__init__(learning_rate, clipnorm=clipnorm, global_clipnorm=global_clipnorm,
                         clipvalue=clipvalue)
        self._beta = _beta(beta, "beta")
        self._epsilon = _epsilon(epsilon)

    @property
    def beta(self) -> float:
        """Weight of the old average."""
        return self._beta

    @property
    def epsilon(self) -> float:
        """Added to the root of the average of squared gradients."""
        return self._epsilon

    def _update(self, params: list[np.ndarray], grads: list[np.ndarray],
                slots: tuple[list[np.ndarray], ...], decays: Any, lr: float) -> None:
        _optim.update(_CODES["rmsprop"], params, grads, slots, ("s",), decays, lr, self._beta,
                      0.0, self._epsilon, **self._clip_args())

    def _hyperparameters(self) -> dict[str, Any]:
        return {"beta": self._beta, "epsilon": self._epsilon}

    def compiled_spec(self) -> OptimizerKernel:
        check_maths(self, RMSprop, "optimizer")
        return OptimizerKernel(code("optimizer", "rmsprop"), self.beta, 0.0, self.epsilon,
                               **self._clip_args())
