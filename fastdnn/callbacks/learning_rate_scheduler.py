"""``LearningRateScheduler``: set the optimizer's learning rate at every epoch start.

Examples
--------
>>> LearningRateScheduler(lambda epoch: 0.1 * 0.5 ** epoch).verbose
0
"""
from __future__ import annotations

import inspect
import math
from typing import Any, Callable

from .._validation import check_int
from ._utils import as_scalar, model_optimizer, print_line
from .callback import Callback

__all__ = ["LearningRateScheduler"]


def _n_positional(fn: Callable[..., Any]) -> int | None:
    """How many positional arguments ``fn`` takes (a large number for *args)."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    n = 0
    for p in sig.parameters.values():
        if p.kind == p.VAR_POSITIONAL:
            return 1 << 30
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            n += 1
    return n


class LearningRateScheduler(Callback):
    """Set the optimizer's learning rate at the start of every epoch.

    The new rate is assigned to ``model.optimizer.learning_rate``; if the
    optimizer was given a :mod:`fastdnn.schedules` schedule, the first
    assignment replaces it (``schedule`` receives its current value).

    Parameters
    ----------
    schedule : callable
        ``schedule(epoch, lr) -> new_lr`` with the 0-based epoch and the
        current learning rate, or ``schedule(epoch) -> new_lr``. The result
        must be a finite positive number.
    verbose : int, default 0
        1 prints the new rate every epoch.

    Raises
    ------
    ValueError
        When ``schedule`` returns something that is not a finite positive number.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> model = SimpleNamespace(optimizer=SimpleNamespace(learning_rate=0.1))
    >>> lrs = LearningRateScheduler(lambda epoch, lr: lr * 0.5 if epoch > 0 else lr)
    >>> lrs.set_model(model)
    >>> for epoch in range(3):
    ...     lrs.on_epoch_begin(epoch)
    >>> model.optimizer.learning_rate
    0.025
    """

    def __init__(self, schedule: Callable[..., float], verbose: int = 0):
        super().__init__()
        if not callable(schedule):
            raise TypeError(f"schedule must be callable, got {type(schedule).__name__}")
        self.schedule = schedule
        self.verbose = check_int(verbose, "verbose", 0)
        n = _n_positional(schedule)
        self._two_args = n is None or n >= 2

    def _optimizer(self) -> Any:
        return model_optimizer(self.model, "LearningRateScheduler")

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        optimizer = self._optimizer()
        if self._two_args:
            new = self.schedule(epoch, float(optimizer.learning_rate))
        else:
            new = self.schedule(epoch)
        lr = as_scalar(new) if not isinstance(new, bool) else None
        if lr is None or not math.isfinite(lr) or lr <= 0:
            raise ValueError("schedule must return a finite positive learning rate, "
                             f"got {new!r} at epoch {epoch}")
        optimizer.learning_rate = lr
        if self.verbose > 0:
            print_line(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to {lr}.")

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if logs is not None:
            logs["learning_rate"] = float(self._optimizer().learning_rate)
