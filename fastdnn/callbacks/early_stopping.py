"""``EarlyStopping``: stop training when a monitored metric stops improving.

Examples
--------
>>> EarlyStopping(monitor="val_accuracy").mode
'max'
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .._validation import check_int
from ._utils import print_line
from .monitor_callback import MonitorCallback

if TYPE_CHECKING:
    from typing import Any

__all__ = ["EarlyStopping"]


class EarlyStopping(MonitorCallback):
    """Stop training when a monitored metric has stopped improving.

    Keras semantics: an epoch improves when the metric beats the best value so
    far by more than ``min_delta``; after ``patience`` epochs in a row without
    improvement ``model.stop_training`` is set to True.

    Parameters
    ----------
    monitor : str, default "val_loss"
        Key of the epoch logs to watch.
    min_delta : float, default 0.0
        Smallest change that counts as an improvement (its absolute value).
    patience : int, default 0
        Epochs without improvement before stopping.
    mode : {"auto", "min", "max"}, default "auto"
        Whether the metric should decrease or increase; "auto" is "max" when
        the name contains "acc" (accuracy), "auc", "precision" or "recall", "min"
        otherwise.
    baseline : float, optional
        The patience counter restarts only on epochs that also beat this value.
    restore_best_weights : bool, default False
        At the end of training, set the model's weights (``model.set_weights``)
        to copies taken (``model.get_weights``) at the end of the best epoch.
    start_from_epoch : int, default 0
        Epochs (0-based) before this one are not monitored (warm-up).
    verbose : int, default 0
        1 prints a message when stopping and when restoring weights.

    Attributes
    ----------
    best : float or None
        Best monitored value so far.
    best_epoch : int
        0-based epoch of ``best``.
    stopped_epoch : int
        0-based epoch at which training was stopped; 0 if it was not.
    wait : int
        Epochs since the last improvement.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> model = SimpleNamespace(stop_training=False)
    >>> es = EarlyStopping(monitor="val_accuracy", patience=2)
    >>> es.set_model(model)
    >>> es.on_train_begin()
    >>> for epoch, acc in enumerate([0.6, 0.8, 0.79, 0.8]):
    ...     es.on_epoch_end(epoch, {"val_accuracy": acc})
    >>> es.mode, model.stop_training, es.stopped_epoch, es.best, es.best_epoch
    ('max', True, 3, 0.8, 1)
    """

    _monitor_purpose = "Early stopping"

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0.0, patience: int = 0,
                 mode: str = "auto", baseline: float | None = None,
                 restore_best_weights: bool = False, start_from_epoch: int = 0,
                 verbose: int = 0):
        super().__init__(monitor, mode, min_delta, baseline)
        self.patience = check_int(patience, "patience", 0)
        self.restore_best_weights = bool(restore_best_weights)
        self.start_from_epoch = check_int(start_from_epoch, "start_from_epoch", 0)
        self.verbose = check_int(verbose, "verbose", 0)
        self._reset()

    def _reset(self) -> None:
        self._reset_best()
        self.wait = 0
        self.stopped_epoch = 0
        self.best_epoch = 0
        self.best_weights: list[np.ndarray] | None = None

    def _copy_weights(self) -> list[np.ndarray]:
        return [np.array(w, copy=True) for w in self.model.get_weights()]

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._reset()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        current = self.get_monitor_value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            # until something improves, the first monitored weights are the best
            self.best_weights = self._copy_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self._copy_weights()
            # the counter restarts only if the epoch also beats the baseline
            if self._beats_baseline(current):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self.stopped_epoch > 0 and self.verbose > 0:
            print_line(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print_line("Restoring model weights from the end of the best epoch: "
                           f"{self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)

    def __repr__(self) -> str:
        return (f"EarlyStopping(monitor={self.monitor!r}, min_delta={self.min_delta}, "
                f"patience={self.patience}, mode={self.mode!r})")
