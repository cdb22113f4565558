"""``ModelCheckpoint``: save the model every epoch, every N batches, or when it improves.

Examples
--------
>>> ModelCheckpoint("model-{epoch:02d}.npz").save_freq
'epoch'
"""
from __future__ import annotations

import math
import os
import string
from typing import Any, Mapping

from .._validation import check_int, check_real
from ._utils import print_line
from .monitor_callback import MonitorCallback

__all__ = ["ModelCheckpoint"]


class ModelCheckpoint(MonitorCallback):
    """Save the model (``model.save(path)``) every epoch or when it improves.

    Parameters
    ----------
    filepath : str or os.PathLike
        Where to save; may hold ``str.format`` fields filled from the epoch
        logs and ``epoch`` (1-based), e.g. ``"ckpt/model-{epoch:02d}-{val_loss:.3f}.npz"``.
        Missing folders are created.
    monitor : str, default "val_loss"
        Metric compared when ``save_best_only``.
    save_best_only : bool, default False
        Save only when ``monitor`` improves on the best value so far.
    mode : {"auto", "min", "max"}, default "auto"
        As in :class:`EarlyStopping`.
    save_freq : "epoch" or int, default "epoch"
        Save at the end of every epoch, or every ``save_freq`` mini-batches
        (then the model must call the batch hooks: ``needs_batch_hooks`` is True,
        and ``filepath`` may also use ``{batch}``, 1-based).
    verbose : int, default 0
        1 prints a message for every save.
    initial_value_threshold : float, optional
        With ``save_best_only``, save only once ``monitor`` beats this value
        (it is the :attr:`baseline` of :class:`MonitorCallback`).

    Attributes
    ----------
    best : float
        Best monitored value so far; before the first save ``initial_value_threshold``,
        else ``inf`` (mode "min") or ``-inf`` (mode "max"), as in Keras.
    last_path : str or None
        Path of the last save.

    Examples
    --------
    >>> import os, tempfile
    >>> from types import SimpleNamespace
    >>> folder = tempfile.mkdtemp()
    >>> model = SimpleNamespace(save=lambda path: open(path, "w").close())
    >>> ckpt = ModelCheckpoint(os.path.join(folder, "m-{epoch:02d}-{val_loss:.2f}.npz"),
    ...                        save_best_only=True)
    >>> ckpt.set_model(model)
    >>> for epoch, val_loss in enumerate([0.5, 0.6, 0.25]):
    ...     ckpt.on_epoch_end(epoch, {"val_loss": val_loss})
    >>> sorted(os.listdir(folder))
    ['m-01-0.50.npz', 'm-03-0.25.npz']
    """

    _monitor_purpose = "ModelCheckpoint(save_best_only=True)"

    def __init__(self, filepath: str | os.PathLike[str], monitor: str = "val_loss",
                 save_best_only: bool = False, mode: str = "auto",
                 save_freq: str | int = "epoch", verbose: int = 0,
                 initial_value_threshold: float | None = None):
        if not isinstance(filepath, (str, os.PathLike)):
            raise TypeError(f"filepath must be a str or os.PathLike, got {type(filepath).__name__}")
        initial_value_threshold = check_real(initial_value_threshold, "initial_value_threshold",
                                             allow_none=True)
        super().__init__(monitor, mode, baseline=initial_value_threshold)
        self.filepath = os.fspath(filepath)
        try:
            list(string.Formatter().parse(self.filepath))
        except ValueError as exc:
            raise ValueError(f"filepath {self.filepath!r} is not a valid format string: "
                             f"{exc}") from None
        self.save_best_only = bool(save_best_only)
        if save_freq != "epoch":
            if isinstance(save_freq, str):
                raise ValueError(f"save_freq must be 'epoch' or a positive int, got {save_freq!r}")
            save_freq = check_int(save_freq, "save_freq", 1)
        self.save_freq = save_freq
        self.verbose = check_int(verbose, "verbose", 0)
        self.initial_value_threshold = self.baseline
        self.best = self._reference()     # Keras': the threshold, else +-inf
        self.last_path: str | None = None
        self._epoch = 0
        self._batches_since_save = 0

    def _implements_train_batch_hooks(self) -> bool:
        return self.save_freq != "epoch"

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._batches_since_save = 0

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._epoch = epoch

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self.save_freq == "epoch":
            return
        self._batches_since_save += 1
        if self._batches_since_save >= self.save_freq:  # type: ignore[operator]  # an int here
            self._batches_since_save = 0
            self._save(self._epoch, batch, logs or {})

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.save_freq == "epoch":
            self._save(epoch, None, logs or {})

    def _path(self, epoch: int, batch: int | None, logs: Mapping[str, Any]) -> str:
        fields = dict(logs)
        fields["epoch"] = epoch + 1
        if batch is not None:
            fields.setdefault("batch", batch + 1)
        try:
            return self.filepath.format(**fields)
        except (KeyError, IndexError) as exc:
            raise ValueError(f"filepath {self.filepath!r} uses the field {exc}, which is not "
                             f"in the logs; available: epoch, {', '.join(logs) or '(none)'}"
                             ) from None

    def _reference(self) -> float:
        """The value to beat: the best so far, else the threshold, else +-inf."""
        if self.best is not None:
            return self.best
        if self.baseline is not None:
            return self.baseline
        return math.inf if self.mode == "min" else -math.inf

    def _save(self, epoch: int, batch: int | None, logs: Mapping[str, Any]) -> None:
        if self.save_best_only:
            current = self.get_monitor_value(logs)
            if current is None:
                return
            reference = self._reference()
            if not self._is_improvement(current, reference):
                if self.verbose > 0:
                    print_line(f"Epoch {epoch + 1}: {self.monitor} did not improve from "
                               f"{reference:.5f}")
                return
            path = self._path(epoch, batch, logs)
            if self.verbose > 0:
                print_line(f"Epoch {epoch + 1}: {self.monitor} improved from {reference:.5f} "
                           f"to {current:.5f}, saving model to {path}")
            self.best = current
        else:
            path = self._path(epoch, batch, logs)
            if self.verbose > 0:
                print_line(f"Epoch {epoch + 1}: saving model to {path}")
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        self.model.save(path)
        self.last_path = path

