"""``ReduceLROnPlateau``: lower the learning rate when a metric stops improving.

Examples
--------
>>> ReduceLROnPlateau(factor=0.5).factor
0.5
"""
from __future__ import annotations

from typing import Any

from .._validation import check_int, check_real
from ._utils import learning_rate_schedule, model_optimizer, print_line
from .monitor_callback import MonitorCallback

__all__ = ["ReduceLROnPlateau"]


class ReduceLROnPlateau(MonitorCallback):
    """Multiply the learning rate by ``factor`` when ``monitor`` has stopped improving.

    Keras semantics: after ``patience`` epochs in a row without an improvement
    (by more than ``min_delta``) the optimizer's rate becomes
    ``max(lr * factor, min_lr)`` (a rate already at or below ``min_lr`` is
    left alone); the next ``cooldown`` epochs after a reduction do not count
    towards the patience. The rate is assigned to
    ``model.optimizer.learning_rate`` at the end of the epoch, so both training
    loops use it from the next epoch on. ``logs["learning_rate"]`` holds the
    rate the epoch was trained with. State (best value, counters) restarts at
    every ``fit``; the reduced rate stays in the optimizer.

    The optimizer's learning rate must be a number: with a
    :mod:`fastdnn.schedules` schedule, which sets the rate itself every epoch,
    training stops with a ``TypeError`` before the first epoch.

    Parameters
    ----------
    monitor : str, default "val_loss"
        Key of the epoch logs to watch.
    factor : float in (0, 1), default 0.1
        ``new_lr = lr * factor``.
    patience : int, default 10
        Epochs without improvement before a reduction.
    verbose : int, default 0
        1 prints a message at every reduction.
    mode : {"auto", "min", "max"}, default "auto"
        Whether the metric should decrease or increase; "auto" is "max" when
        the name contains "acc" (accuracy), "auc", "precision" or "recall", "min"
        otherwise.
    min_delta : float, default 1e-4
        Smallest change that counts as an improvement.
    cooldown : int, default 0
        Epochs after a reduction during which the patience counter stays at 0.
    min_lr : float, default 0.0
        Lower bound of the learning rate.

    Attributes
    ----------
    best : float or None
        Best monitored value in this ``fit``.
    wait : int
        Epochs without improvement since the last improvement or reduction.
    cooldown_counter : int
        Cooldown epochs left.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> from fastdnn.optimizers import GD
    >>> model = SimpleNamespace(optimizer=GD(learning_rate=0.1))
    >>> reduce = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1)
    >>> reduce.set_model(model)
    >>> reduce.on_train_begin()
    >>> for epoch, loss in enumerate([0.9, 0.5, 0.5, 0.5]):
    ...     logs = {"loss": loss}
    ...     reduce.on_epoch_end(epoch, logs)
    ...     print(epoch, logs["learning_rate"], "->", model.optimizer.learning_rate)
    0 0.1 -> 0.1
    1 0.1 -> 0.1
    2 0.1 -> 0.05
    3 0.05 -> 0.025
    """

    _monitor_purpose = "Learning rate reduction"

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10,
                 verbose: int = 0, mode: str = "auto", min_delta: float = 1e-4,
                 cooldown: int = 0, min_lr: float = 0.0):
        super().__init__(monitor, mode, min_delta)
        self.factor = check_real(factor, "factor", 0.0, 1.0, low_open=True, high_open=True)
        self.patience = check_int(patience, "patience", 0)
        self.verbose = check_int(verbose, "verbose", 0)
        self.cooldown = check_int(cooldown, "cooldown", 0)
        self.min_lr = check_real(min_lr, "min_lr", 0.0)
        self._reset()

    def _reset(self) -> None:
        self._reset_best()
        self.wait = 0
        self.cooldown_counter = 0

    def in_cooldown(self) -> bool:
        """Whether the epochs right after a reduction are still running.

        Examples
        --------
        >>> ReduceLROnPlateau().in_cooldown()
        False
        """
        return self.cooldown_counter > 0

    def _optimizer(self) -> Any:
        optimizer = model_optimizer(self.model, "ReduceLROnPlateau")
        schedule = learning_rate_schedule(optimizer)
        if schedule is not None:
            raise TypeError(f"ReduceLROnPlateau needs a number as the optimizer's learning "
                            f"rate, got the schedule {schedule!r}, which sets the rate every "
                            "epoch itself; compile with a float learning_rate, or keep the "
                            "schedule and drop ReduceLROnPlateau")
        return optimizer

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._reset()
        self._optimizer()  # a schedule fails here, before the first epoch

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        optimizer = self._optimizer()
        lr = float(optimizer.learning_rate)
        if logs is not None:
            logs["learning_rate"] = lr
        current = self.get_monitor_value(logs)
        if current is None:
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience and lr > self.min_lr:
                new_lr = max(lr * self.factor, self.min_lr)
                optimizer.learning_rate = new_lr
                if self.verbose > 0:
                    print_line(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning "
                               f"rate to {new_lr}.")
                self.cooldown_counter = self.cooldown
                self.wait = 0

    def __repr__(self) -> str:
        return (f"ReduceLROnPlateau(monitor={self.monitor!r}, factor={self.factor}, "
                f"patience={self.patience}, mode={self.mode!r}, min_lr={self.min_lr})")
