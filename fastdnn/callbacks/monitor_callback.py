"""``MonitorCallback``: the base of callbacks that watch a metric improve.

EarlyStopping, ModelCheckpoint and ReduceLROnPlateau share it: which metric,
in which direction, by how much it must change to count, and how a missing
metric is reported.

Examples
--------
>>> cb = MonitorCallback(monitor="val_accuracy")
>>> cb.mode, cb._is_improvement(0.9, 0.8)
('max', True)
"""
from __future__ import annotations

import math
import warnings
from typing import Any, Mapping

from .._validation import check_choice, check_real
from ._utils import as_scalar
from .callback import Callback

__all__ = ["MonitorCallback"]


def _check_monitor(monitor: Any) -> str:
    if not isinstance(monitor, str) or not monitor:
        raise TypeError(f"monitor must be a metric name (non-empty str), got {monitor!r}")
    return monitor


# names of the metrics that grow as the model improves (accuracies, AUC, precision, recall)
_GROWING = ("acc", "auc", "precision", "recall")


def _resolve_mode(mode: str, monitor: str) -> str:
    """``"min"`` or ``"max"``; "auto" picks "max" for accuracy-like names."""
    mode = check_choice(mode, "mode", ("auto", "min", "max"))
    if mode == "auto":
        # accuracy-like metrics grow; losses and errors shrink
        name = monitor.lower()
        return "max" if any(word in name for word in _GROWING) else "min"
    return mode


def _validation_skipped(params: Mapping[str, Any], logs: Mapping[str, Any]) -> bool:
    """The epoch was not validated because of ``fit(validation_freq=k)``, k > 1."""
    return (bool(params.get("do_validation")) and params.get("validation_freq", 1) != 1
            and not any(key.startswith("val_") for key in logs))


class MonitorCallback(Callback):
    """Base class of callbacks that compare a monitored metric with its best value.

    Not meant to be used alone: a subclass reads the metric with
    :meth:`get_monitor_value` in its hooks and decides what an improvement
    (:meth:`_is_improvement`) triggers.

    Parameters
    ----------
    monitor : str, default "val_loss"
        Key of the epoch logs to watch.
    mode : {"auto", "min", "max"}, default "auto"
        Whether the metric should decrease or increase; "auto" is "max" when
        the name contains "acc" (accuracy), "auc", "precision" or "recall", "min"
        otherwise.
    min_delta : float, default 0.0
        Smallest change that counts as an improvement (its absolute value).
    baseline : float, optional
        A reference value the metric must also beat; what that gates is the
        subclass's choice (:meth:`_beats_baseline`).

    Attributes
    ----------
    mode : {"min", "max"}
        The resolved direction.
    best : float or None
        Best monitored value so far; None before the first one.

    Examples
    --------
    >>> class NewBest(MonitorCallback):
    ...     def on_epoch_end(self, epoch, logs=None):
    ...         current = self.get_monitor_value(logs)
    ...         if current is not None and self._is_improvement(current, self.best):
    ...             self.best = current
    ...             print(f"epoch {epoch + 1}: {self.monitor} improved to {current}")
    >>> cb = NewBest(monitor="val_accuracy", min_delta=0.05)
    >>> for epoch, acc in enumerate([0.5, 0.7, 0.72, 0.8]):
    ...     cb.on_epoch_end(epoch, {"val_accuracy": acc})
    epoch 1: val_accuracy improved to 0.5
    epoch 2: val_accuracy improved to 0.7
    epoch 4: val_accuracy improved to 0.8
    """

    # names the use of the metric in warnings: "<purpose> is conditioned on metric ..."
    _monitor_purpose = "Monitoring"

    def __init__(self, monitor: str = "val_loss", mode: str = "auto",
                 min_delta: float = 0.0, baseline: float | None = None):
        super().__init__()
        self.monitor = _check_monitor(monitor)
        self.mode = _resolve_mode(mode, self.monitor)
        self.min_delta = abs(check_real(min_delta, "min_delta"))
        self.baseline = check_real(baseline, "baseline", allow_none=True)
        self.best: float | None = None

    def _reset_best(self) -> None:
        self.best = None

    def _is_improvement(self, current: float, reference: float | None) -> bool:
        """Whether ``current`` beats ``reference`` by more than ``min_delta``.

        Any number beats ``None`` (no reference yet); NaN never improves.
        """
        if math.isnan(current):
            return False
        if reference is None:
            return True
        if self.mode == "min":
            return current + self.min_delta < reference
        return current - self.min_delta > reference

    def _beats_baseline(self, current: float) -> bool:
        """True without a baseline, else whether ``current`` improves on it."""
        return self.baseline is None or self._is_improvement(current, self.baseline)

    def get_monitor_value(self, logs: Mapping[str, Any] | None) -> float | None:
        """``logs[monitor]`` as a float, or None with a ``RuntimeWarning``.

        A missing key or a value that is not a number is warned about and the
        epoch is skipped (the caller gets None), as in Keras; a ``val_*`` metric
        missing because ``fit(validation_freq=k)`` did not validate this epoch is
        skipped without a warning.

        Examples
        --------
        >>> MonitorCallback(monitor="loss").get_monitor_value({"loss": 0.25})
        0.25
        """
        logs = logs or {}
        if self.monitor not in logs:
            if self.monitor.startswith("val_") and _validation_skipped(self.params, logs):
                return None
            warnings.warn(f"{self._monitor_purpose} is conditioned on metric "
                          f"{self.monitor!r}, which is not in the logs; available metrics: "
                          f"{', '.join(logs) or '(none)'}", RuntimeWarning, stacklevel=3)
            return None
        value = as_scalar(logs[self.monitor])
        if value is None:
            warnings.warn(f"{self._monitor_purpose}: logs[{self.monitor!r}] is not a number "
                          f"({logs[self.monitor]!r}); ignored", RuntimeWarning, stacklevel=3)
        return value
