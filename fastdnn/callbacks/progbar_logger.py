"""``ProgbarLogger``: prints a progress bar (or a line) per epoch during ``fit``.

Examples
--------
>>> check_verbose("auto")
1
"""
from __future__ import annotations

import sys
import time
from typing import Any, Mapping, TextIO

import numpy as np

from .._validation import check_real
from .callback import Callback
from .progbar import Progbar, _format_duration, _format_logs

__all__ = ["ProgbarLogger"]


def check_verbose(verbose: Any, name: str = "verbose") -> int:
    """``verbose`` of ``fit``: 0 silent, 1 a bar per epoch, 2 a line per epoch ('auto' is 1)."""
    if verbose == "auto":
        return 1
    if not isinstance(verbose, (int, np.integer)):
        raise TypeError(f"{name} must be 0, 1, 2 or 'auto', got {type(verbose).__name__}")
    if int(verbose) not in (0, 1, 2):
        raise ValueError(f"{name} must be 0, 1, 2 or 'auto', got {verbose!r}")
    return int(verbose)


class ProgbarLogger(Callback):
    """Prints training progress: a bar per epoch (verbose 1) or a line per epoch (2).

    ``CallbackList`` adds one when ``verbose`` is not 0. During an epoch the
    model calls :meth:`update` with the running loss (throttled, cheap to call
    every mini-batch); ``on_epoch_end`` writes the epoch's final line with
    every log, ``val_*`` included::

        Epoch 3/100
        47/47 [==============================] - 0.12s 3ms/step - loss: 0.2314 - val_loss: 0.2501

    and with ``verbose=2``::

        Epoch 3/100 - 0.12s - loss: 0.2314 - val_loss: 0.2501

    Parameters
    ----------
    verbose : {0, 1, 2}, optional
        Default: ``params["verbose"]`` (1 if unset).
    stream : text stream, optional
        Where to write; ``sys.stdout`` by default.
    interval : float, default 0.05
        Minimum seconds between two redraws of the bar.
    dynamic : bool, optional
        Redraw the bar in place; by default only when ``stream`` is a
        terminal. Otherwise only the epoch header and final line are written.

    Examples
    --------
    >>> logger = ProgbarLogger(verbose=2)
    >>> logger.set_params({"epochs": 3, "steps": 10})
    >>> logger.on_epoch_begin(0)
    >>> logger.on_epoch_end(0, {"loss": 0.25, "val_loss": 0.3})  # doctest: +ELLIPSIS
    Epoch 1/3 - 0.0...s - loss: 0.2500 - val_loss: 0.3000
    """

    def __init__(self, verbose: int | None = None, stream: TextIO | None = None,
                 interval: float = 0.05, dynamic: bool | None = None):
        super().__init__()
        self.verbose = None if verbose is None else check_verbose(verbose)
        self.stream = stream
        self.interval = check_real(interval, "interval", 0.0)
        self.dynamic = dynamic
        self._bar: Progbar | None = None
        self._epoch_start = 0.0
        self._epoch_verbose = 0

    def _stream(self) -> TextIO:
        return sys.stdout if self.stream is None else self.stream

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        verbose = self.verbose
        if verbose is None:
            verbose = check_verbose(self.params.get("verbose", 1), 'params["verbose"]')
        self._epoch_verbose = verbose
        self._epoch_start = time.perf_counter()
        self._bar = None
        if verbose == 1:
            stream = self._stream()
            stream.write(self._epoch_name(epoch) + "\n")
            self._bar = Progbar(self.params.get("steps"), interval=self.interval,
                                stream=stream, dynamic=self.dynamic)

    def _epoch_name(self, epoch: int) -> str:
        epochs = self.params.get("epochs")
        return f"Epoch {epoch + 1}/{epochs}" if epochs is not None else f"Epoch {epoch + 1}"

    @property
    def live(self) -> bool:
        """True while a bar is redrawn in place (verbose 1 on a terminal): only then
        are updates within an epoch shown."""
        return self._bar is not None and self._bar.dynamic

    def update(self, step: int, logs: Mapping[str, Any] | None = None) -> None:
        """Show ``step`` mini-batches done with ``logs`` (e.g. the running loss).

        Cheap enough to call after every mini-batch: the bar is redrawn at
        most every ``interval`` seconds and never outside a terminal. This is
        the only per-batch input of the logger (it has no batch hooks, so it
        never makes the model call them).

        Examples
        --------
        >>> logger = ProgbarLogger(verbose=0)
        >>> logger.update(3, {"loss": 0.5})  # no bar shown: nothing happens
        >>> logger.live
        False
        """
        bar = self._bar
        if bar is not None:
            bar.update(step, logs, finalize=False)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = {} if logs is None else logs
        if self._epoch_verbose == 1 and self._bar is not None:
            bar = self._bar
            target = bar.target if bar.target is not None else bar._current
            bar.update(target, logs, finalize=True)
        elif self._epoch_verbose == 2:
            elapsed = time.perf_counter() - self._epoch_start
            stream = self._stream()
            stream.write(f"{self._epoch_name(epoch)} - {_format_duration(elapsed)}"
                         f"{_format_logs(logs)}\n")
            flush = getattr(stream, "flush", None)
            if flush is not None:
                flush()
        self._bar = None
