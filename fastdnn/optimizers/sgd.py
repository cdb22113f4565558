"""``SGD``: Keras' signature, gradient descent with optional (Nesterov) momentum."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._compiled import CODES, OptimizerKernel, check_maths, code
from .._kernels import _optim
from .._validation import check_bool, check_real
from ..schedules import LearningRateSchedule
from .optimizer import Optimizer

if TYPE_CHECKING:
    import numpy as np

__all__ = ["SGD"]


_CODES = CODES["optimizer"]


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, ``keras.optimizers.SGD``'s
    arguments with ``torch.optim.SGD``'s update.

    With ``momentum = 0``: ``p -= lr * g`` (:class:`GD`, no state). Otherwise, with
    a buffer ``b`` starting at 0: ``b = momentum b + g``, then ``p -= lr * b``, or
    with ``nesterov=True``, ``p -= lr * (g + momentum b)``.

    Keras keeps the velocity ``v = momentum v - lr g`` (``p += v``, or
    ``p += momentum v - lr g``). At a constant learning rate both give the same
    steps (``v = -lr b``); when a schedule changes the rate, Keras' velocity keeps
    the rates of earlier steps while here the current rate scales the whole buffer.
    (The course's :class:`Momentum` averages instead: ``v = beta v + (1 - beta) g``.)

    Parameters
    ----------
    learning_rate : float or LearningRateSchedule, default 0.01
    momentum : float, default 0.0
        Weight of the old buffer, in ``[0, 1]``.
    nesterov : bool, default False
        Nesterov momentum (the step looks ahead along the buffer).
    clipnorm, global_clipnorm, clipvalue : float, optional
        Gradient clipping (see :class:`Optimizer`).

    Examples
    --------
    >>> import numpy as np
    >>> p = np.zeros(1)
    >>> opt = SGD(learning_rate=0.5, momentum=0.5)
    >>> for _ in range(2):
    ...     opt.apply_gradients([p], [np.ones(1)])
    >>> p.tolist()  # b = 1, then b = 1.5: p = -0.5 - 0.75
    [-1.25]
    """

    def __init__(self, learning_rate: float | LearningRateSchedule = 0.01,
                 momentum: float = 0.0, nesterov: bool = False, *,
                 clipnorm: float | None = None, global_clipnorm: float | None = None,
                 clipvalue: float | None = None) -> None:
        super().__init__(learning_rate, clipnorm=clipnorm, global_clipnorm=global_clipnorm,
                         clipvalue=clipvalue)
        self._momentum = check_real(momentum, "momentum", 0.0, 1.0)
        self._nesterov = check_bool(nesterov, "nesterov")
        # the momentum buffer, when there is momentum
        self._slot_names = ("b",) if self._momentum else ()

    @property
    def momentum(self) -> float:
        """Weight of the old buffer."""
        return self._momentum

    @property
    def nesterov(self) -> bool:
        """Whether the momentum is Nesterov's."""
        return self._nesterov

    def _update(self, params: list[np.ndarray], grads: list[np.ndarray],
                slots: tuple[list[np.ndarray], ...], decays: Any, lr: float) -> None:
        if not self._momentum:
            _optim.update(_CODES["gd"], params, grads, (), (), decays, lr, **self._clip_args())
            return
        _optim.update(_CODES["sgd"], params, grads, slots, ("b",), decays, lr, self._momentum,
                      nesterov=self._nesterov, **self._clip_args())

    def _hyperparameters(self) -> dict[str, Any]:
        return {"momentum": self._momentum, "nesterov": self._nesterov}

    def compiled_spec(self) -> OptimizerKernel:
        check_maths(self, SGD, "optimizer")
        return OptimizerKernel(code("optimizer", "sgd"), self.momentum, nesterov=self.nesterov,
                               **self._clip_args())
