"""``Momentum``: gradient descent on a moving average of the gradients."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._compiled import CODES, OptimizerKernel, check_maths, code
from .._kernels import _optim
from ..schedules import LearningRateSchedule
from .optimizer import Optimizer, _beta

if TYPE_CHECKING:
    import numpy as np

__all__ = ["Momentum"]


_CODES = CODES["optimizer"]


class Momentum(Optimizer):
    """Gradient descent with momentum: ``v = beta v + (1 - beta) g; p -= lr * v``.

    Parameters
    ----------
    learning_rate : float or LearningRateSchedule, default 0.01
    beta : float, default 0.9
        Weight of the old average, in ``[0, 1)``.
    clipnorm, global_clipnorm, clipvalue : float, optional
        Gradient clipping (see :class:`Optimizer`).

    Examples
    --------
    >>> import numpy as np
    >>> p = np.array([1.0])
    >>> opt = Momentum(learning_rate=1.0, beta=0.9)
    >>> opt.apply_gradients([p], [np.array([1.0])])
    >>> round(float(p[0]), 12)  # v = 0.1
    0.9
    """

    _slot_names = ("v",)

    def __init__(self, learning_rate: float | LearningRateSchedule = 0.01,
                 beta: float = 0.9, *,
                 clipnorm: float | None = None, global_clipnorm: float | None = None,
                 clipvalue: float | None = None) -> None:
        super().__init__(learning_rate, clipnorm=clipnorm, global_clipnorm=global_clipnorm,
                         clipvalue=clipvalue)
        self._beta = _beta(beta, "beta")

    @property
    def beta(self) -> float:
        """Weight of the old average."""
        return self._beta

    def _update(self, params: list[np.ndarray], grads: list[np.ndarray],
                slots: tuple[list[np.ndarray], ...], decays: Any, lr: float) -> None:
        _optim.update(_CODES["momentum"], params, grads, slots, ("v",), decays, lr, self._beta,
                      **self._clip_args())

    def _hyperparameters(self) -> dict[str, Any]:
        return {"beta": self._beta}

    def compiled_spec(self) -> OptimizerKernel:
        check_maths(self, Momentum, "optimizer")
        return OptimizerKernel(code("optimizer", "momentum"), self.beta, **self._clip_args())
