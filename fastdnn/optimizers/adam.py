"""``Adam``: Momentum and RMSprop together, with bias correction."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._compiled import CODES, OptimizerKernel, check_maths, code
from .._kernels import _optim
from ..schedules import LearningRateSchedule
from .optimizer import Optimizer, _beta, _epsilon

if TYPE_CHECKING:
    import numpy as np

__all__ = ["Adam"]


_CODES = CODES["optimizer"]


class Adam(Optimizer):
    """Adam: momentum and RMSprop with bias correction.

    At step ``t = iterations + 1``: ``m = beta1 m + (1 - beta1) g``,
    ``v = beta2 v + (1 - beta2) g**2`` and
    ``p -= lr * m_hat / (sqrt(v_hat) + epsilon)`` with
    ``m_hat = m / (1 - beta1**t)``, ``v_hat = v / (1 - beta2**t)``.

    Parameters
    ----------
    learning_rate : float or LearningRateSchedule, default 0.001
    beta1 : float, default 0.9
        Weight of the old average of gradients, in ``[0, 1)``.
    beta2 : float, default 0.999
        Weight of the old average of squared gradients, in ``[0, 1)``.
    epsilon : float, default 1e-8
        Added to ``sqrt(v_hat)`` (finite, > 0).
    clipnorm, global_clipnorm, clipvalue : float, optional
        Gradient clipping (see :class:`Optimizer`).

    Examples
    --------
    >>> import numpy as np
    >>> p = np.zeros(2)
    >>> opt = Adam(learning_rate=0.01)
    >>> opt.apply_gradients([p], [np.array([3.0, -0.5])])
    >>> p.round(6)  # the first step moves each entry by about lr, sign of g
    array([-0.01,  0.01])
    """

    _slot_names = ("m", "v")

    def __init__(self, learning_rate: float | LearningRateSchedule = 0.001,
                 beta1: float = 0.9, beta2: float = 0.999, epsilon: float = 1e-8, *,
                 clipnorm: float | None = None, global_clipnorm: float | None = None,
                 clipvalue: float | None = None) -> None:
        super().__init__(learning_rate, clipnorm=clipnorm, global_clipnorm=global_clipnorm,
                         clipvalue=clipvalue)
        self._beta1 = _beta(beta1, "beta1")
        self._beta2 = _beta(beta2, "beta2")
        self._epsilon = _epsilon(epsilon)

    @property
    def beta1(self) -> float:
        """Weight of the old average of gradients."""
        return self._beta1

    @property
    def beta2(self) -> float:
        """Weight of the old average of squared gradients."""
        return self._beta2

    @property
    def epsilon(self) -> float:
        """Added to the root of the average of squared gradients."""
        return self._epsilon

    def _update(self, params: list[np.ndarray], grads: list[np.ndarray],
                slots: tuple[list[np.ndarray], ...], decays: Any, lr: float) -> None:
        _optim.update(_CODES["adam"], params, grads, slots, ("m", "v"), decays, lr,
                      self._beta1, self._beta2, self._epsilon, self._iterations + 1,
                      **self._clip_args())

    def _hyperparameters(self) -> dict[str, Any]:
        return {"beta1": self._beta1, "beta2": self._beta2,
                "epsilon": self._epsilon}

    def compiled_spec(self) -> OptimizerKernel:
        check_maths(self, Adam, "optimizer")
        return OptimizerKernel(code("optimizer", "adam"), self.beta1, self.beta2, self.epsilon,
                               **self._clip_args())
