"""``Adamax``: Adam with the infinity norm in place of the root mean square."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._compiled import CODES, OptimizerKernel, check_maths, code
from .._kernels import _optim
from ..schedules import LearningRateSchedule
from .optimizer import Optimizer, _beta, _epsilon

if TYPE_CHECKING:
    import numpy as np

__all__ = ["Adamax"]


_CODES = CODES["optimizer"]


class Adamax(Optimizer):
    """Adamax (Kingma & Ba): Adam's infinity-norm variant, as ``torch.optim.Adamax``.

    At step ``t = iterations + 1``: ``m = beta1 m + (1 - beta1) g``,
    ``u = max(beta2 u, |g| + epsilon)`` and ``p -= lr / (1 - beta1**t) * m / u``.
    ``epsilon`` enters the maximum, as in PyTorch (with its defaults); Keras
    takes ``max(beta2 u, |g|)`` and adds ``epsilon`` (1e-7) to ``u`` in the step,
    with ``learning_rate=0.001``.

    Parameters
    ----------
    learning_rate : float or LearningRateSchedule, default 0.002
    beta1 : float, default 0.9
        Weight of the old average of gradients, in ``[0, 1)``.
    beta2 : float, default 0.999
        Decay of the running maximum of ``|g|``, in ``[0, 1)``.
    epsilon : float, default 1e-8
        Added to ``|g|`` (finite, > 0), so ``u`` is never 0.
    clipnorm, global_clipnorm, clipvalue : float, optional
        Gradient clipping (see :class:`Optimizer`).

    Examples
    --------
    >>> import numpy as np
    >>> p = np.zeros(2)
    >>> opt = Adamax(learning_rate=0.01)
    >>> opt.apply_gradients([p], [np.array([3.0, -0.5])])
    >>> p.round(6)  # the first step moves each entry by lr, sign of g
    array([-0.01,  0.01])
    """

    _slot_names = ("m", "u")

    def __init__(self, learning_rate: float | LearningRateSchedule = 0.002,
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
        """Decay of the running maximum of ``|g|``."""
        return self._beta2

    @property
    def epsilon(self) -> float:
        """Added to ``|g|`` in the running maximum."""
        return self._epsilon

    def _update(self, params: list[np.ndarray], grads: list[np.ndarray],
                slots: tuple[list[np.ndarray], ...], decays: Any, lr: float) -> None:
        _optim.update(_CODES["adamax"], params, grads, slots, ("m", "u"), decays, lr,
                      self._beta1, self._beta2, self._epsilon, self._iterations + 1,
                      **self._clip_args())

    def _hyperparameters(self) -> dict[str, Any]:
        return {"beta1": self._beta1, "beta2": self._beta2, "epsilon": self._epsilon}

    def compiled_spec(self) -> OptimizerKernel:
        check_maths(self, Adamax, "optimizer")
        return OptimizerKernel(code("optimizer", "adamax"), self.beta1, self.beta2, self.epsilon,
                               **self._clip_args())
