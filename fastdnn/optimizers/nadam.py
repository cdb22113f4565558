"""``Nadam``: Adam with Nesterov momentum and a momentum schedule."""
from __future__ import annotations

from .._kernels import _optim
from .._validation import check_real
from ..schedules import LearningRateSchedule
from ._adam_family import _AdamFamily, _Extras, _StepArguments

__all__ = ["Nadam"]


class Nadam(_AdamFamily, kernel="nadam"):
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

    def __init__(self, learning_rate: float | LearningRateSchedule = 0.002,
                 beta1: float = 0.9, beta2: float = 0.999, epsilon: float = 1e-8,
                 momentum_decay: float = 0.004, *,
                 clipnorm: float | None = None, global_clipnorm: float | None = None,
                 clipvalue: float | None = None) -> None:
        super().__init__(learning_rate, beta1, beta2, epsilon, clipnorm=clipnorm,
                         global_clipnorm=global_clipnorm, clipvalue=clipvalue)
        self._momentum_decay = check_real(momentum_decay, "momentum_decay", 0.0)
        self._mu_known = (0, 1.0)   # (t, P_t): where the product was last computed

    @property
    def momentum_decay(self) -> float:
        """The rate of the momentum schedule ``beta1 * (1 - 0.5 * 0.96**(t * rate))``."""
        return self._momentum_decay

    def _extra_hyperparameters(self) -> _Extras:
        return {"momentum_decay": self._momentum_decay}

    def _step_arguments(self, t: int) -> _StepArguments:
        product = _optim.nadam_mu_product(self._beta1, self._momentum_decay, t, *self._mu_known)
        self._mu_known = (t, product)
        return {"mu_product": product}
