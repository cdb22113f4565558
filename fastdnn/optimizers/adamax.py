"""``Adamax``: Adam with the infinity norm in place of the root mean square."""
from __future__ import annotations

from ..schedules import LearningRateSchedule
from ._adam_family import _AdamFamily

__all__ = ["Adamax"]


class Adamax(_AdamFamily, kernel="adamax"):
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
        super().__init__(learning_rate, beta1, beta2, epsilon, clipnorm=clipnorm,
                         global_clipnorm=global_clipnorm, clipvalue=clipvalue)

    # the same values as Adam's, another meaning: the kernel keeps a running maximum
    @property
    def beta2(self) -> float:
        """Decay of the running maximum of ``|g|``."""
        return self._beta2

    @property
    def epsilon(self) -> float:
        """Added to ``|g|`` in the running maximum."""
        return self._epsilon
