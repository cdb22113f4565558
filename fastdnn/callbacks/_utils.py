"""Helpers shared by the callbacks: printing, reading numbers, reaching the optimizer.

Examples
--------
>>> import numpy as np
>>> as_scalar(np.float32(0.5)), as_scalar("n/a")
(0.5, None)
"""
from __future__ import annotations

import sys
from typing import Any

import numpy as np

from ..schedules import LearningRateSchedule


def print_line(msg: str) -> None:
    """Write ``msg`` and a newline to the current ``sys.stdout``, flushed."""
    # sys.stdout looked up at call time, so redirections and pytest capture work
    sys.stdout.write(msg + "\n")
    sys.stdout.flush()


def as_scalar(value: Any) -> float | None:
    """``value`` as a float, or None if it is not a real scalar."""
    if isinstance(value, (float, int)) and not isinstance(value, bool):
        return float(value)
    arr = np.asarray(value)
    if arr.ndim == 0 and arr.dtype.kind in "fiu":
        return float(arr)
    return None


def model_optimizer(model: Any, who: str) -> Any:
    """``model.optimizer``, or a ValueError naming ``who`` if it has no learning rate."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not hasattr(optimizer, "learning_rate"):
        raise ValueError(f"{who} needs model.optimizer.learning_rate; "
                         "compile the model with an optimizer first")
    return optimizer


def learning_rate_schedule(optimizer: Any) -> LearningRateSchedule | None:
    """The schedule ``optimizer`` evaluates every epoch, or None if its rate is a number.

    Examples
    --------
    >>> from fastdnn.optimizers import GD
    >>> from fastdnn.schedules import InverseTimeDecay
    >>> learning_rate_schedule(GD(0.1)) is None
    True
    >>> learning_rate_schedule(GD(InverseTimeDecay(0.1, decay_rate=1.0))) is not None
    True
    """
    # fastdnn optimizers keep the number or schedule in ``_lr``; ``learning_rate`` is
    # the schedule's value, unless the optimizer is a plain object holding a schedule
    for value in (getattr(optimizer, "_lr", None), getattr(optimizer, "learning_rate", None)):
        if isinstance(value, LearningRateSchedule):
            return value
    return None
