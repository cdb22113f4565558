"""Learning-rate schedules: the learning rate as a function of the epoch.

A schedule is passed as an optimizer's ``learning_rate``; the optimizer
evaluates it at its current ``epoch`` (0-based, set by the model at the start
of each epoch), so the rate changes once per epoch as in the lecture's
learning-rate decay ``alpha = alpha0 / (1 + decay_rate * epoch_num)``.

Examples
--------
>>> from fastdnn import schedules
>>> lr = schedules.InverseTimeDecay(0.1, decay_rate=1.0)
>>> [round(lr(epoch), 4) for epoch in range(4)]
[0.1, 0.05, 0.0333, 0.025]
"""
from __future__ import annotations

import math
from typing import Any, Mapping

from ._validation import check_bool, check_int, check_real

__all__ = ["LearningRateSchedule", "InverseTimeDecay", "ExponentialDecay", "StepDecay",
           "get", "serialize"]


def _positive(value: Any, name: str) -> float:
    return check_real(value, name, 0.0, low_open=True)


def _epoch(epoch: Any) -> int:
    return check_int(epoch, "epoch", 0)


def _progress(epoch: int, steps: float, staircase: bool) -> float:
    p = epoch / steps
    return math.floor(p) if staircase else p


class LearningRateSchedule:
    """Base class: a learning rate per epoch.

    Subclasses implement ``__call__(epoch) -> float`` and ``get_config()``
    (the keyword arguments of ``__init__``), which makes them serializable
    with :func:`serialize` and rebuildable with :func:`get`.

    Examples
    --------
    >>> class Halving(LearningRateSchedule):
    ...     def __call__(self, epoch):
    ...         return 0.1 / 2 ** epoch
    ...     def get_config(self):
    ...         return {}
    >>> Halving()(3)
    0.0125
    """

    def __call__(self, epoch: int) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:  # pragma: no cover - abstract
        """The keyword arguments that rebuild this schedule."""
        raise NotImplementedError

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "LearningRateSchedule":
        """Rebuild a schedule from :meth:`get_config`'s dictionary.

        Examples
        --------
        >>> s = StepDecay(0.1, drop=0.5, step_size=2)
        >>> StepDecay.from_config(s.get_config())(4)
        0.025
        """
        if not isinstance(config, Mapping):
            raise TypeError(f"config must be a dict, got {type(config).__name__}")
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.get_config() == self.get_config()

    __hash__ = None  # type: ignore[assignment]  # compared by config, so not hashable


class InverseTimeDecay(LearningRateSchedule):
    """``alpha0 / (1 + decay_rate * epoch / decay_steps)``: the lecture's decay.

    With ``decay_steps=1`` this is ``alpha = alpha0 / (1 + decay_rate * epoch_num)``.

    Parameters
    ----------
    initial_learning_rate : float
        ``alpha0``, the rate at epoch 0 (finite, > 0).
    decay_rate : float
        How fast the rate falls (finite, >= 0).
    decay_steps : float, default 1
        Epochs per unit of decay (finite, > 0).
    staircase : bool, default False
        Use ``floor(epoch / decay_steps)``: the rate changes every
        ``decay_steps`` epochs instead of every epoch.

    Examples
    --------
    >>> lr = InverseTimeDecay(0.2, decay_rate=1.0, decay_steps=2, staircase=True)
    >>> [lr(epoch) for epoch in range(5)]
    [0.2, 0.2, 0.1, 0.1, 0.06666666666666667]
    """

    def __init__(self, initial_learning_rate: float, decay_rate: float,
                 decay_steps: float = 1, staircase: bool = False) -> None:
        self.initial_learning_rate = _positive(initial_learning_rate, "initial_learning_rate")
        rate = check_real(decay_rate, "decay_rate", 0.0)
        self.decay_rate = rate
        self.decay_steps = _positive(decay_steps, "decay_steps")
        self.staircase = check_bool(staircase, "staircase")

    def __call__(self, epoch: int) -> float:
        p = _progress(_epoch(epoch), self.decay_steps, self.staircase)
        return self.initial_learning_rate / (1.0 + self.decay_rate * p)

    def get_config(self) -> dict[str, Any]:
        """The keyword arguments that rebuild this schedule.

        Examples
        --------
        >>> InverseTimeDecay(0.1, 0.5).get_config()["decay_rate"]
        0.5
        """
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_rate": self.decay_rate, "decay_steps": self.decay_steps,
                "staircase": self.staircase}


class ExponentialDecay(LearningRateSchedule):
    """``alpha0 * decay_rate ** (epoch / decay_steps)``.

    Parameters
    ----------
    initial_learning_rate : float
        ``alpha0``, the rate at epoch 0 (finite, > 0).
    decay_rate : float
        Factor per ``decay_steps`` epochs, in ``(0, 1]``.
    decay_steps : float, default 1
        Epochs per factor ``decay_rate`` (finite, > 0).
    staircase : bool, default False
        Use ``floor(epoch / decay_steps)`` as the exponent.

    Examples
    --------
    >>> lr = ExponentialDecay(0.1, decay_rate=0.5)
    >>> [lr(epoch) for epoch in range(4)]
    [0.1, 0.05, 0.025, 0.0125]
    """

    def __init__(self, initial_learning_rate: float, decay_rate: float,
                 decay_steps: float = 1, staircase: bool = False) -> None:
        self.initial_learning_rate = _positive(initial_learning_rate, "initial_learning_rate")
        self.decay_rate = check_real(decay_rate, "decay_rate", 0.0, 1.0, low_open=True)
        self.decay_steps = _positive(decay_steps, "decay_steps")
        self.staircase = check_bool(staircase, "staircase")

    def __call__(self, epoch: int) -> float:
        p = _progress(_epoch(epoch), self.decay_steps, self.staircase)
        # float ** float is typed Any (it may be complex); here both are positive
        return self.initial_learning_rate * self.decay_rate ** p  # type: ignore[no-any-return]

    def get_config(self) -> dict[str, Any]:
        """The keyword arguments that rebuild this schedule.

        Examples
        --------
        >>> ExponentialDecay(0.1, 0.9).get_config()["staircase"]
        False
        """
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_rate": self.decay_rate, "decay_steps": self.decay_steps,
                "staircase": self.staircase}


class StepDecay(LearningRateSchedule):
    """``alpha0 * drop ** floor(epoch / step_size)``: ``drop`` every ``step_size`` epochs.

    Parameters
    ----------
    initial_learning_rate : float
        ``alpha0``, the rate at epoch 0 (finite, > 0).
    drop : float, default 0.5
        Factor applied at each step, in ``(0, 1]``.
    step_size : float, default 10
        Epochs between drops (finite, > 0).

    Examples
    --------
    >>> lr = StepDecay(0.1, drop=0.5, step_size=10)
    >>> lr(0), lr(9), lr(10), lr(25)
    (0.1, 0.1, 0.05, 0.025)
    """

    def __init__(self, initial_learning_rate: float, drop: float = 0.5,
                 step_size: float = 10) -> None:
        self.initial_learning_rate = _positive(initial_learning_rate, "initial_learning_rate")
        self.drop = check_real(drop, "drop", 0.0, 1.0, low_open=True)
        self.step_size = _positive(step_size, "step_size")

    def __call__(self, epoch: int) -> float:
        return self.initial_learning_rate * self.drop ** math.floor(_epoch(epoch) / self.step_size)

    def get_config(self) -> dict[str, Any]:
        """The keyword arguments that rebuild this schedule.

        Examples
        --------
        >>> StepDecay(0.1).get_config()
        {'initial_learning_rate': 0.1, 'drop': 0.5, 'step_size': 10.0}
        """
        return {"initial_learning_rate": self.initial_learning_rate, "drop": self.drop,
                "step_size": self.step_size}


_CLASSES = {cls.__name__.lower(): cls for cls in (InverseTimeDecay, ExponentialDecay, StepDecay)}


def serialize(schedule: LearningRateSchedule) -> dict[str, Any]:
    """``{"class_name": ..., "config": ...}`` of a schedule (JSON-compatible).

    Examples
    --------
    >>> serialize(ExponentialDecay(0.1, 0.9))["class_name"]
    'ExponentialDecay'
    """
    if not isinstance(schedule, LearningRateSchedule):
        raise TypeError(f"schedule must be a LearningRateSchedule, got {type(schedule).__name__}")
    return {"class_name": type(schedule).__name__, "config": schedule.get_config()}


def get(identifier: LearningRateSchedule | Mapping[str, Any]) -> LearningRateSchedule:
    """A schedule from a schedule (returned as is) or a :func:`serialize` dict.

    Parameters
    ----------
    identifier : LearningRateSchedule or dict
        ``{"class_name": "InverseTimeDecay", "config": {...}}``; the class
        name is case-insensitive.

    Examples
    --------
    >>> s = get({"class_name": "StepDecay", "config": {"initial_learning_rate": 0.1}})
    >>> s(10)
    0.05
    """
    if isinstance(identifier, LearningRateSchedule):
        return identifier
    if isinstance(identifier, Mapping):
        if "class_name" not in identifier:
            raise ValueError("a schedule config dict needs a 'class_name' key, got keys "
                             f"{sorted(identifier)}")
        name = identifier["class_name"]
        cls = _CLASSES.get(name.lower()) if isinstance(name, str) else None
        if cls is None:
            known = ", ".join(c.__name__ for c in _CLASSES.values())
            raise ValueError(f"unknown learning-rate schedule {name!r}; known: {known}")
        return cls.from_config(identifier.get("config", {}))
    raise TypeError("identifier must be a LearningRateSchedule or a config dict "
                    f"{{'class_name': ..., 'config': ...}}, got {type(identifier).__name__}")
