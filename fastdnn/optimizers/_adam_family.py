"""``_AdamFamily``: what Adam, AdamW, Nadam and Adamax share.

Each keeps a first moment ``m`` and a second statistic (``v``, Adamax's ``u``),
takes ``beta1``, ``beta2`` and ``epsilon``, and runs one compiled update whose
step ``t = iterations + 1`` the kernel receives. The base checks and stores the
three, writes them first in the config, and calls the kernel both ways (eager
``_update`` and ``compiled_spec()``). A subclass names its kernel in its class
statement (``class Adam(_AdamFamily, kernel="adam")``), keeps its own signature,
defaults and docstring, and adds what is its own through two hooks:
``_extra_hyperparameters`` (config keys that are also keyword arguments of both
kernels) and ``_step_arguments`` (per-step values for the eager kernel only).

Examples
--------
>>> from fastdnn.optimizers import AdamW
>>> opt = AdamW(weight_decay=0.1)
>>> opt._extra_hyperparameters(), opt.compiled_spec().weight_decay
({'weight_decay': 0.1}, 0.1)
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, TypedDict

from .._compiled import CODES, OptimizerKernel, check_maths, code
from .._kernels import _optim
from ..schedules import LearningRateSchedule
from .optimizer import Optimizer, _beta, _epsilon

if TYPE_CHECKING:
    import numpy as np

__all__: list[str] = []


_CODES = CODES["optimizer"]


class _Extras(TypedDict, total=False):
    """A subclass's own hyperparameters, named as the config and both kernels name them."""
    weight_decay: float
    momentum_decay: float


class _StepArguments(TypedDict, total=False):
    """Per-step values the eager kernel takes and the compiled loop computes itself."""
    mu_product: float


class _AdamFamily(Optimizer):
    """Base of the optimizers with Adam's ``beta1``, ``beta2`` and ``epsilon``.

    Examples
    --------
    >>> from fastdnn.optimizers import Adam, Adamax
    >>> Adam(beta2=0.99).beta2, Adamax()._slot_names
    (0.99, ('m', 'u'))
    """

    _slot_names = ("m", "v")
    _kernel: ClassVar[str]
    # the class whose maths the kernel computes: the one that named it
    _kernel_owner: ClassVar[type[_AdamFamily]]

    def __init_subclass__(cls, *, kernel: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if kernel is not None:
            cls._kernel = kernel
            cls._kernel_owner = cls

    def __init__(self, learning_rate: float | LearningRateSchedule, beta1: float, beta2: float,
                 epsilon: float, *, clipnorm: float | None, global_clipnorm: float | None,
                 clipvalue: float | None) -> None:
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

    def _extra_hyperparameters(self) -> _Extras:
        """The subclass's own arguments after ``epsilon``: config keys and keyword
        arguments of both kernels."""
        return {}

    def _step_arguments(self, t: int) -> _StepArguments:
        """What the eager kernel needs at step ``t`` besides the hyperparameters."""
        return {}

    def _update(self, params: list[np.ndarray], grads: list[np.ndarray],
                slots: tuple[list[np.ndarray], ...], decays: Any, lr: float) -> None:
        t = self._iterations + 1
        _optim.update(_CODES[self._kernel], params, grads, slots, self._slot_names, decays, lr,
                      self._beta1, self._beta2, self._epsilon, t,
                      **self._extra_hyperparameters(), **self._step_arguments(t),
                      **self._clip_args())

    def _hyperparameters(self) -> dict[str, Any]:
        return {"beta1": self._beta1, "beta2": self._beta2, "epsilon": self._epsilon,
                **self._extra_hyperparameters()}

    def compiled_spec(self) -> OptimizerKernel:
        """The kernel this class named, with ``beta1``, ``beta2``, ``epsilon``, the
        subclass's own hyperparameters and the clipping.

        Examples
        --------
        >>> from fastdnn.optimizers import Nadam
        >>> Nadam(momentum_decay=0.01).compiled_spec().momentum_decay
        0.01
        """
        check_maths(self, self._kernel_owner, "optimizer")
        return OptimizerKernel(code("optimizer", self._kernel), self.beta1, self.beta2,
                               self.epsilon, **self._extra_hyperparameters(), **self._clip_args())
