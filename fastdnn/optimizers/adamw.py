"""``AdamW``: Adam with decoupled weight decay."""
from __future__ import annotations

from .._validation import check_real
from ..schedules import LearningRateSchedule
from ._adam_family import _AdamFamily, _Extras

__all__ = ["AdamW"]


class AdamW(_AdamFamily, kernel="adamw"):
    """AdamW: Adam with decoupled weight decay (Loshchilov & Hutter), as ``torch.optim.AdamW``.

    At step ``t = iterations + 1``: ``p *= 1 - lr * weight_decay``, then Adam's
    step: ``m = beta1 m + (1 - beta1) g``, ``v = beta2 v + (1 - beta2) g**2``,
    ``p -= lr * m_hat / (sqrt(v_hat) + epsilon)`` with ``m_hat = m / (1 - beta1**t)``,
    ``v_hat = v / (1 - beta2**t)``. The decay shrinks every parameter array
    (biases too) and does not enter ``m`` or ``v``; a model's L2 penalty
    (``kernel_regularizer``) still enters the gradient. The defaults are PyTorch's
    (Keras' are ``weight_decay=0.004``, ``epsilon=1e-7``). ``lr`` is the
    learning rate of the current epoch, so a schedule scales the decay too.

    Parameters
    ----------
    learning_rate : float or LearningRateSchedule, default 0.001
    beta1 : float, default 0.9
        Weight of the old average of gradients, in ``[0, 1)``.
    beta2 : float, default 0.999
        Weight of the old average of squared gradients, in ``[0, 1)``.
    epsilon : float, default 1e-8
        Added to ``sqrt(v_hat)`` (finite, > 0).
    weight_decay : float, default 0.01
        The decoupled decay rate (finite, >= 0; 0 makes this Adam).
    clipnorm, global_clipnorm, clipvalue : float, optional
        Gradient clipping (see :class:`Optimizer`).

    Examples
    --------
    >>> import numpy as np
    >>> p = np.ones(2)
    >>> opt = AdamW(learning_rate=0.1, weight_decay=0.5)
    >>> opt.apply_gradients([p], [np.array([1.0, -1.0])])
    >>> p.round(6)  # 1 * (1 - 0.1 * 0.5), then Adam's first step of about lr
    array([0.85, 1.05])
    """

    def __init__(self, learning_rate: float | LearningRateSchedule = 0.001,
                 beta1: float = 0.9, beta2: float = 0.999, epsilon: float = 1e-8,
                 weight_decay: float = 0.01, *,
                 clipnorm: float | None = None, global_clipnorm: float | None = None,
                 clipvalue: float | None = None) -> None:
        super().__init__(learning_rate, beta1, beta2, epsilon, clipnorm=clipnorm,
                         global_clipnorm=global_clipnorm, clipvalue=clipvalue)
        self._weight_decay = check_real(weight_decay, "weight_decay", 0.0)

    @property
    def weight_decay(self) -> float:
        """The decoupled decay rate: each step multiplies the parameters by ``1 - lr * it``."""
        return self._weight_decay

    def _extra_hyperparameters(self) -> _Extras:
        return {"weight_decay": self._weight_decay}
