"""``Nadam``: Adam with Nesterov momentum and a momentum schedule."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._compiled import CODES, OptimizerKernel, check_maths, code
from .._kernels import _optim
from .._validation import check_real
from ..schedules import LearningRateSchedule
from .optimizer import Optimizer, _beta, _epsilon

if TYPE_CHECKING:
    import numpy as np

__all__ = ["Nadam"]


_CODES = CODES["optimizer"]


class Nadam(Optimizer):
    """Nadam (Dozat): Adam with Nesterov momentum, step for step ``torch.optim.NAdam``.

    At step ``t = iterations + 1``, with the momentum schedule
    ``mu_t = beta1 * (1 - 0.5 * 0.96**(t * momentum_decay))`` and the product
    ``P_t = mu_1 ... mu_t``: ``m = beta1 m + (1 - beta1) g``,
    ``v = beta2 v + (1 - beta2) g**2``, ``d = sqrt(v / (1 - beta2**t)) + epsilon``, and
    ``p -= lr * (1 - mu_t) / (1 - P_t) * g / d + lr * mu_{t+1} / (1 - P_t mu_{t+1}) * m / d``.

    This is PyTorch's schedule and its defaults. Keras 3's ``Nadam`` uses
    ``0.96**t``, that is ``momentum_decay=1`` here (and ``epsilon=1e-7``, adding
    it to the same root); the original paper and tf.keras 2 use 0.004. ``P_t`` is
    computed in double from ``iterations``, so it is not part of the state.

    Parameters
    ----------
    learning_rate : float or LearningRateSchedule, default 0.002
    beta1 : float, default 0.9
        Weight of the old average of gradients, in ``[0, 1)``.
    beta2 : float, default 0.999
        Weight of the old average of squared gradients, in ``[0, 1)``.
    epsilon : float, default 1e-8
        Added to the root of the bias-corrected average of squared gradients (finite, > 0).
    momentum_decay : float, default 0.004
        The rate of the momentum schedule (finite, >= 0).
    clipnorm, global_clipnorm, clipvalue : float, optional
        Gradient clipping (see :class:`Optimizer`).

    Examples
    --------
    >>> import numpy as np
    >>> p = np.zeros(2)
    >>> opt = Nadam(learning_rate=0.01)
    >>> opt.apply_gradients([p], [np.array([3.0, -0.5])])
    >>> p.round(4)  # a first step of about lr, sign of g (here 1.06 lr)
    array([-0.0106,  0.0106])
    """

    _slot_names = ("m", "v")

    def __init__(self, learning_rate: float | LearningRateSchedule = 0.002,
                 beta1: float = 0.9, beta2: float = 0.999, epsilon: float = 1e-8,
                 momentum_decay: float = 0.004, *,
                 clipnorm: float | None = None, global_clipnorm: float | None = None,
                 clipvalue: float | None = None) -> None:
        super().__init__(learning_rate, clipnorm=clipnorm, global_clipnorm=global_clipnorm,
                         clipvalue=clipvalue)
        self._beta1 = _beta(beta1, "beta1")
        self._beta2 = _beta(beta2, "beta2")
        self._epsilon = _epsilon(epsilon)
        self._momentum_decay = check_real(momentum_decay, "momentum_decay", 0.0)
        self._mu_known = (0, 1.0)   # (t, P_t): where the product was last computed

    @property
    def beta1(self) -> float:
        """Weight of the old average of gradients (the schedule's limit)."""
        return self._beta1

    @property
    def beta2(self) -> float:
        """Weight of the old average of squared gradients."""
        return self._beta2

    @property
    def epsilon(self) -> float:
        """Added to the root of the bias-corrected average of squared gradients."""
        return self._epsilon

    @property
    def momentum_decay(self) -> float:
        """The rate of the momentum schedule ``beta1 * (1 - 0.5 * 0.96**(t * rate))``."""
        return self._momentum_decay

    def _update(self, params: list[np.ndarray], grads: list[np.ndarray],
                slots: tuple[list[np.ndarray], ...], decays: Any, lr: float) -> None:
        t = self._iterations + 1
        product = _optim.nadam_mu_product(self._beta1, self._momentum_decay, t, *self._mu_known)
        self._mu_known = (t, product)
        _optim.update(_CODES["nadam"], params, grads, slots, ("m", "v"), decays, lr,
                      self._beta1, self._beta2, self._epsilon, t,
                      momentum_decay=self._momentum_decay, mu_product=product,
                      **self._clip_args())

    def _hyperparameters(self) -> dict[str, Any]:
        return {"beta1": self._beta1, "beta2": self._beta2, "epsilon": self._epsilon,
                "momentum_decay": self._momentum_decay}

    def compiled_spec(self) -> OptimizerKernel:
        check_maths(self, Nadam, "optimizer")
        return OptimizerKernel(code("optimizer", "nadam"), self.beta1, self.beta2, self.epsilon,
                               momentum_decay=self.momentum_decay, **self._clip_args())
