"""``Adam``: Momentum and RMSprop together, with bias correction."""
from __future__ import annotations

from ..schedules import LearningRateSchedule
from ._adam_family import _AdamFamily

__all__ = ["Adam"]


class Adam(_AdamFamily, kernel="adam"):
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

    def __init__(self, learning_rate: float | LearningRateSchedule = 0.001,
                 beta1: float = 0.9, beta2: float = 0.999, epsilon: float = 1e-8, *,
                 clipnorm: float | None = None, global_clipnorm: float | None = None,
                 clipvalue: float | None = None) -> None:
        super().__init__(learning_rate, beta1, beta2, epsilon, clipnorm=clipnorm,
                         global_clipnorm=global_clipnorm, clipvalue=clipvalue)
