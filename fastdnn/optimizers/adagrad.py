"""``Adagrad``: steps scaled by the sum of all squared gradients so far."""
from __future__ import annotations

from typing import Any

import numpy as np

from .._compiled import CODES, OptimizerKernel, check_maths, code
from .._kernels import _optim
from .._validation import check_real
from ..schedules import LearningRateSchedule
from .optimizer import Optimizer, _epsilon

__all__ = ["Adagrad"]


_CODES = CODES["optimizer"]


class Adagrad(Optimizer):
    """Adagrad: ``s += g**2; p -= lr * g / (sqrt(s) + epsilon)``, as ``torch.optim.Adagrad``.

    ``s`` starts at ``initial_accumulator_value``. ``epsilon`` is added to the
    root, as PyTorch does, with its defaults; Keras adds it under the root
    (``sqrt(s + epsilon)``) and defaults to ``initial_accumulator_value=0.1``,
    ``epsilon=1e-7``, ``learning_rate=0.001``. PyTorch's ``lr_decay`` is a
    :mod:`fastdnn.schedules` schedule here.

    Parameters
    ----------
    learning_rate : float or LearningRateSchedule, default 0.01
    initial_accumulator_value : float, default 0.0
        The starting sum of squared gradients (finite, >= 0).
    epsilon : float, default 1e-10
        Added to ``sqrt(s)`` (finite, > 0).
    clipnorm, global_clipnorm, clipvalue : float, optional
        Gradient clipping (see :class:`Optimizer`).

    Examples
    --------
    >>> import numpy as np
    >>> p = np.zeros(2)
    >>> opt = Adagrad(learning_rate=0.1, initial_accumulator_value=12.0)
    >>> opt.apply_gradients([p], [np.array([2.0, -2.0])])
    >>> p.round(6)  # s = 12 + 4: step 0.1 * 2 / 4
    array([-0.05,  0.05])
    """

    _slot_names = ("s",)

    def __init__(self, learning_rate: float | LearningRateSchedule = 0.01,
                 initial_accumulator_value: float = 0.0, epsilon: float = 1e-10, *,
                 clipnorm: float | None = None, global_clipnorm: float | None = None,
                 clipvalue: float | None = None) -> None:
        super().__init__(learning_rate, clipnorm=clipnorm, global_clipnorm=global_clipnorm,
                         clipvalue=clipvalue)
        self._initial = check_real(initial_accumulator_value, "initial_accumulator_value", 0.0)
        self._epsilon = _epsilon(epsilon)

    @property
    def initial_accumulator_value(self) -> float:
        """The starting sum of squared gradients."""
        return self._initial

    @property
    def epsilon(self) -> float:
        """Added to the root of the sum of squared gradients."""
        return self._epsilon

    def _new_slots(self, params: list[np.ndarray]) -> tuple[list[np.ndarray], ...]:
        _optim.check_params(params)
        return ([np.full_like(p, self._initial, subok=False) for p in params],)

    def _update(self, params: list[np.ndarray], grads: list[np.ndarray],
                slots: tuple[list[np.ndarray], ...], decays: Any, lr: float) -> None:
        _optim.update(_CODES["adagrad"], params, grads, slots, ("s",), decays, lr, 0.0, 0.0,
                      self._epsilon, **self._clip_args())

    def _hyperparameters(self) -> dict[str, Any]:
        return {"initial_accumulator_value": self._initial, "epsilon": self._epsilon}

    def compiled_spec(self) -> OptimizerKernel:
        check_maths(self, Adagrad, "optimizer")
        return OptimizerKernel(code("optimizer", "adagrad"), 0.0, 0.0, self.epsilon,
                               **self._clip_args())
