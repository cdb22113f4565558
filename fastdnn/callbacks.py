"""Training callbacks: hooks a model calls around epochs and mini-batches.

The API follows Keras: a :class:`Callback` has ``on_*`` hooks and the
attributes ``model`` and ``params``; ``Sequential.fit`` wraps the user's
callbacks in a :class:`CallbackList`, which adds a :class:`History` (returned
by ``fit``) and, when ``verbose`` is not 0, a :class:`ProgbarLogger`.

Epochs and batches are numbered from 0 in the hooks (``on_epoch_end(0, logs)``
is the first epoch); printed messages and file names count from 1, as in Keras.

Per-batch Python calls cost time next to a compiled training step, so a model
asks :attr:`CallbackList.needs_batch_hooks` and calls the ``on_train_batch_*``
hooks only when some callback listens. The progress bar does not need them: the
model calls :meth:`ProgbarLogger.update` itself, and updates are throttled.

Examples
--------
>>> from types import SimpleNamespace
>>> from fastdnn.callbacks import CallbackList, EarlyStopping
>>> model = SimpleNamespace(stop_training=False)
>>> cbs = CallbackList([EarlyStopping(monitor="loss", patience=2)], model=model,
...                    verbose=0, epochs=10, steps=5)
>>> cbs.on_train_begin()
>>> for epoch, loss in enumerate([0.9, 0.5, 0.6, 0.7, 0.4]):
...     cbs.on_epoch_begin(epoch)
...     cbs.on_epoch_end(epoch, {"loss": loss})
...     if model.stop_training:
...         break
>>> cbs.on_train_end()
>>> cbs.history.history["loss"]
[0.9, 0.5, 0.6, 0.7]
>>> cbs.needs_batch_hooks
False
"""
from __future__ import annotations

import csv
import inspect
import math
import numbers
import os
import string
import sys
import time
import warnings
from typing import Any, Callable, Iterable, Mapping, TextIO

import numpy as np

__all__ = ["Callback", "CallbackList", "History", "Progbar", "ProgbarLogger",
           "EarlyStopping", "LearningRateScheduler", "ModelCheckpoint", "CSVLogger",
           "TerminateOnNaN", "LambdaCallback"]

def _default(fn: Callable) -> Callable:
    """Mark a base-class hook as a no-op, so overriding it can be detected."""
    fn._fastdnn_default_hook = True
    return fn


def _is_default(method: Any) -> bool:
    return getattr(method, "_fastdnn_default_hook", False)


def _print(msg: str) -> None:
    # sys.stdout looked up at call time, so redirections and pytest capture work
    sys.stdout.write(msg + "\n")
    sys.stdout.flush()


class Callback:
    """Base class of callbacks; every hook is a no-op.

    Subclasses override the hooks they need. ``model`` is the model being
    trained (set by :meth:`set_model`); ``params`` holds ``epochs``, ``steps``
    (mini-batches per epoch), ``samples`` and ``verbose`` (set by
    :meth:`set_params`). ``logs`` passed to the epoch hooks hold the epoch's
    metrics (``loss``, ``accuracy``, ``val_loss``...); a callback may add entries
    in ``on_epoch_end`` and the callbacks after it (the :class:`History`) see them.

    Examples
    --------
    >>> class Printer(Callback):
    ...     def on_epoch_end(self, epoch, logs=None):
    ...         print(f"epoch {epoch + 1}: loss {logs['loss']:.2f}")
    >>> Printer().on_epoch_end(0, {"loss": 0.25})
    epoch 1: loss 0.25
    """

    def __init__(self) -> None:
        self.model: Any = None
        self.params: dict[str, Any] = {}

    def set_model(self, model: Any) -> None:
        """Attach the model the hooks act on."""
        self.model = model

    def set_params(self, params: dict[str, Any]) -> None:
        """Store the training parameters (``epochs``, ``steps``, ``samples``, ``verbose``)."""
        self.params = params

    @_default
    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        """Called once at the start of ``fit``."""

    @_default
    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        """Called once at the end of ``fit`` (also after an early stop)."""

    @_default
    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Called at the start of epoch ``epoch`` (0-based)."""

    @_default
    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Called at the end of epoch ``epoch`` with the epoch's metrics in ``logs``."""

    @_default
    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        """Called before mini-batch ``batch`` (0-based in the epoch); calls ``on_batch_begin``."""
        self.on_batch_begin(batch, logs)

    @_default
    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        """Called after mini-batch ``batch`` with ``logs["loss"]``; calls ``on_batch_end``."""
        self.on_batch_end(batch, logs)

    @_default
    def on_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        """Older Keras name of ``on_train_batch_begin``."""

    @_default
    def on_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        """Older Keras name of ``on_train_batch_end``."""

    @_default
    def on_test_begin(self, logs: dict[str, Any] | None = None) -> None:
        """Called at the start of ``evaluate``."""

    @_default
    def on_test_end(self, logs: dict[str, Any] | None = None) -> None:
        """Called at the end of ``evaluate`` with its metrics."""

    @_default
    def on_test_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        """Called before an evaluation batch."""

    @_default
    def on_test_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        """Called after an evaluation batch."""

    @_default
    def on_predict_begin(self, logs: dict[str, Any] | None = None) -> None:
        """Called at the start of ``predict``."""

    @_default
    def on_predict_end(self, logs: dict[str, Any] | None = None) -> None:
        """Called at the end of ``predict``."""

    @_default
    def on_predict_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        """Called before a prediction batch."""

    @_default
    def on_predict_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        """Called after a prediction batch."""

    def _implements_train_batch_hooks(self) -> bool:
        """Whether the model must call ``on_train_batch_*`` for this callback to work."""
        return not all(_is_default(getattr(self, name)) for name in (
            "on_train_batch_begin", "on_train_batch_end", "on_batch_begin", "on_batch_end"))

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _check_verbose(verbose: Any, name: str = "verbose") -> int:
    if verbose == "auto":
        return 1
    if not isinstance(verbose, (int, np.integer)):
        raise TypeError(f"{name} must be 0, 1, 2 or 'auto', got {type(verbose).__name__}")
    if int(verbose) not in (0, 1, 2):
        raise ValueError(f"{name} must be 0, 1, 2 or 'auto', got {verbose!r}")
    return int(verbose)


def _check_int(value: Any, name: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def _check_real(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def _check_mode(mode: Any, monitor: str) -> str:
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode == "auto":
        # accuracy-like metrics grow; losses and errors shrink
        return "max" if "acc" in monitor.lower() else "min"
    return mode


def _check_monitor(monitor: Any) -> str:
    if not isinstance(monitor, str) or not monitor:
        raise TypeError(f"monitor must be a metric name (non-empty str), got {monitor!r}")
    return monitor


def _scalar(value: Any) -> float | None:
    """``value`` as a float, or None if it is not a real scalar."""
    if isinstance(value, (float, int)) and not isinstance(value, bool):
        return float(value)
    arr = np.asarray(value)
    if arr.ndim == 0 and arr.dtype.kind in "fiu":
        return float(arr)
    return None


class CallbackList(Callback):
    """Calls every callback's hooks in order; what a model talks to.

    Parameters
    ----------
    callbacks : Callback, iterable of Callback or None
        The user's callbacks, called in the given order.
    add_history : bool, default True
        Append a :class:`History` unless ``callbacks`` holds one already.
    add_progbar : bool, default True
        Append a :class:`ProgbarLogger` when ``verbose`` is not 0, unless
        ``callbacks`` holds one already. It comes after the History, so it
        prints the logs the other callbacks added.
    model : object, optional
        Passed to every callback's ``set_model``.
    verbose : {0, 1, 2, 'auto'}, default 1
        0 silent, 1 progress bar, 2 one line per epoch ('auto' is 1).
    **params
        ``epochs``, ``steps`` (mini-batches per epoch), ``samples``...; with
        ``verbose`` they form the ``params`` dict given to every callback.

    Attributes
    ----------
    callbacks : list of Callback
        All callbacks, the added ones last.
    history : History or None
        The History that ``fit`` returns.
    progbar : ProgbarLogger or None
        The model calls ``progbar.update(seen_batches, {"loss": running_mean})``
        during an epoch when it is not None.

    Examples
    --------
    >>> cbs = CallbackList(None, verbose=0, epochs=2, steps=10)
    >>> [type(cb).__name__ for cb in cbs.callbacks]
    ['History']
    >>> cbs.on_epoch_end(0, {"loss": 0.5})
    >>> cbs.history.history
    {'loss': [0.5]}
    """

    def __init__(self, callbacks: Callback | Iterable[Callback] | None = None,
                 add_history: bool = True, add_progbar: bool = True, model: Any = None,
                 verbose: int | str = 1, **params: Any):
        super().__init__()
        if callbacks is None:
            callbacks = []
        elif isinstance(callbacks, Callback):
            callbacks = [callbacks]
        try:
            callbacks = list(callbacks)
        except TypeError:
            raise TypeError("callbacks must be a Callback, a list of Callback or None, "
                            f"got {type(callbacks).__name__}") from None
        for i, cb in enumerate(callbacks):
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks[{i}] must be a Callback instance, "
                                f"got {type(cb).__name__}")
        verbose = _check_verbose(verbose)
        self.callbacks: list[Callback] = callbacks
        self.history: History | None = None
        self.progbar: ProgbarLogger | None = None
        for cb in callbacks:
            if isinstance(cb, History) and self.history is None:
                self.history = cb
            elif isinstance(cb, ProgbarLogger) and self.progbar is None:
                self.progbar = cb
        if self.history is None and add_history:
            self.history = History()
            self.callbacks.append(self.history)
        if self.progbar is None and add_progbar and verbose:
            self.progbar = ProgbarLogger()
            self.callbacks.append(self.progbar)
        self.set_params({"verbose": verbose, **params})
        if model is not None:
            self.set_model(model)

    def append(self, callback: Callback) -> None:
        """Add a callback at the end (it gets the list's model and params)."""
        if not isinstance(callback, Callback):
            raise TypeError(f"callback must be a Callback instance, got {type(callback).__name__}")
        callback.set_params(self.params)
        if self.model is not None:
            callback.set_model(self.model)
        self.callbacks.append(callback)

    def set_model(self, model: Any) -> None:
        """Set ``model`` on the list and on every callback."""
        self.model = model
        for cb in self.callbacks:
            cb.set_model(model)

    def set_params(self, params: dict[str, Any]) -> None:
        """Set ``params`` on the list and on every callback."""
        self.params = params
        for cb in self.callbacks:
            cb.set_params(params)

    @property
    def needs_batch_hooks(self) -> bool:
        """True when some callback acts in ``on_train_batch_begin``/``_end``.

        When False the model may skip the per-batch calls. The progress bar
        does not count: the model feeds it through ``progbar.update``.
        """
        return any(cb._implements_train_batch_hooks() for cb in self.callbacks)

    def _implements_train_batch_hooks(self) -> bool:
        return self.needs_batch_hooks

    # one explicit method per hook: the same ``logs`` dict goes to every callback,
    # so entries a callback adds (e.g. ``learning_rate``) reach the ones after it
    def on_train_begin(self, logs=None):
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_train_begin(logs)

    def on_train_end(self, logs=None):
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_train_end(logs)

    def on_epoch_begin(self, epoch, logs=None):
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_epoch_begin(epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_epoch_end(epoch, logs)

    def on_train_batch_begin(self, batch, logs=None):
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_train_batch_begin(batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_train_batch_end(batch, logs)

    def on_batch_begin(self, batch, logs=None):
        self.on_train_batch_begin(batch, logs)

    def on_batch_end(self, batch, logs=None):
        self.on_train_batch_end(batch, logs)

    def on_test_begin(self, logs=None):
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_test_begin(logs)

    def on_test_end(self, logs=None):
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_test_end(logs)

    def on_test_batch_begin(self, batch, logs=None):
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_test_batch_begin(batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_test_batch_end(batch, logs)

    def on_predict_begin(self, logs=None):
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_predict_begin(logs)

    def on_predict_end(self, logs=None):
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_predict_end(logs)

    def on_predict_batch_begin(self, batch, logs=None):
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_predict_batch_begin(batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_predict_batch_end(batch, logs)

    def __iter__(self):
        return iter(self.callbacks)

    def __len__(self) -> int:
        return len(self.callbacks)

    def __repr__(self) -> str:
        return f"CallbackList({self.callbacks!r})"


class History(Callback):
    """Record of a training run; ``fit`` returns it.

    Attributes
    ----------
    history : dict of str to list of float
        Per-epoch value of every log entry (``loss``, ``accuracy``,
        ``val_loss``, ``learning_rate``...), in epoch order.
    epoch : list of int
        The (0-based) index of each recorded epoch.
    batch_loss : ndarray of float64, shape (n_batches,)
        The cost of every mini-batch of the run, in order.

    Examples
    --------
    >>> import numpy as np
    >>> h = History()
    >>> h.on_epoch_end(0, {"loss": 0.7, "val_loss": np.float32(0.75)})
    >>> h.add_batch_losses(np.array([0.9, 0.5]))
    >>> h.on_epoch_end(1, {"loss": 0.4, "val_loss": 0.5})
    >>> h.add_batch_losses([0.45, 0.35])
    >>> h.history
    {'loss': [0.7, 0.4], 'val_loss': [0.75, 0.5]}
    >>> h.epoch
    [0, 1]
    >>> h.batch_loss
    array([0.9 , 0.5 , 0.45, 0.35])
    """

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list] = {}
        self.epoch: list[int] = []
        self._chunks: list[np.ndarray] = []
        self._batch_loss: np.ndarray | None = np.empty(0)

    def on_epoch_end(self, epoch, logs=None):
        """Append ``epoch`` and every entry of ``logs`` (numbers become floats)."""
        self.epoch.append(int(epoch))
        for key, value in (logs or {}).items():
            x = _scalar(value)
            self.history.setdefault(key, []).append(value if x is None else x)
        if self.model is not None:
            try:
                self.model.history = self  # as Keras: the model knows its last History
            except AttributeError:
                pass

    def add_batch_losses(self, losses: Any) -> None:
        """Append the costs of one epoch's mini-batches (copied, as float64).

        Parameters
        ----------
        losses : array_like
            A scalar or 1-D sequence of per-batch costs.

        Examples
        --------
        >>> h = History()
        >>> h.add_batch_losses([1.0, 0.5])
        >>> h.add_batch_losses(0.25)
        >>> h.batch_loss
        array([1.  , 0.5 , 0.25])
        """
        try:
            arr = np.array(losses, dtype=np.float64, copy=True)
        except (TypeError, ValueError):
            raise TypeError("losses must be a 1-D array of numbers, "
                            f"got {type(losses).__name__}") from None
        if arr.ndim > 1:
            raise ValueError(f"losses must be 1-D, got shape {arr.shape}")
        self._chunks.append(arr.reshape(-1))
        self._batch_loss = None

    @property
    def batch_loss(self) -> np.ndarray:
        if self._batch_loss is None:
            self._batch_loss = np.concatenate(self._chunks) if self._chunks else np.empty(0)
            self._chunks = [self._batch_loss]
        return self._batch_loss

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able copy: ``{"epoch": [...], "history": {...}, "batch_loss": [...]}``.

        Examples
        --------
        >>> h = History()
        >>> h.on_epoch_end(0, {"loss": 0.5})
        >>> h.to_dict()
        {'epoch': [0], 'history': {'loss': [0.5]}, 'batch_loss': []}
        """
        return {"epoch": list(self.epoch),
                "history": {k: list(v) for k, v in self.history.items()},
                "batch_loss": self.batch_loss.tolist()}

    def __repr__(self) -> str:
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"


def _format_value(value: Any) -> str:
    x = _scalar(value)
    if x is None:
        return str(value)
    if x == 0 or not math.isfinite(x) or abs(x) >= 1e-3:
        return f"{x:.4f}"
    return f"{x:.4e}"


def _format_logs(logs: Mapping[str, Any]) -> str:
    return "".join(f" - {k}: {_format_value(v)}" for k, v in logs.items())


def _format_duration(seconds: float) -> str:
    """Elapsed time: ``0.12s``, ``12.3s``, ``2m 05s``, ``1h 02m 03s``."""
    if seconds < 10:
        return f"{seconds:.2f}s"
    if seconds < 60:
        return f"{seconds:.1f}s"
    s = int(round(seconds))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h {m:02d}m {s:02d}s" if h else f"{m}m {s:02d}s"


def _format_eta(seconds: float) -> str:
    s = int(seconds)
    if s >= 3600:
        return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"
    if s >= 60:
        return f"{s // 60}:{s % 60:02d}"
    return f"{s}s"


def _format_per_unit(seconds: float, unit: str) -> str:
    if seconds >= 1:
        return f"{seconds:.1f}s/{unit}"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/{unit}"
    return f"{seconds * 1e6:.0f}us/{unit}"


def _is_interactive(stream: Any) -> bool:
    """Whether ``stream`` renders carriage returns (a terminal or a notebook)."""
    try:
        if stream.isatty():
            return True
    except (AttributeError, ValueError):
        return False
    return stream is sys.stdout and "ipykernel" in sys.modules


class Progbar:
    """A Keras-style text progress bar.

    In a terminal (or notebook) the bar is redrawn in place with ``\\r`` at
    most every ``interval`` seconds; elsewhere (files, CI logs) only the final
    line is written. Values given to :meth:`update` are shown as they are
    (pass running means, not per-batch values).

    Parameters
    ----------
    target : int or None
        Total number of steps; None if unknown.
    width : int, default 30
        Characters of the bar itself.
    interval : float, default 0.05
        Minimum seconds between two redraws.
    stream : text stream, optional
        Where to write; ``sys.stdout`` by default.
    dynamic : bool, optional
        Redraw in place; by default True when ``stream`` is a terminal.
    unit_name : str, default "step"
        Unit of the time per step in the final line.

    Examples
    --------
    >>> import io
    >>> out = io.StringIO()
    >>> bar = Progbar(4, width=10, stream=out)
    >>> for step in range(1, 5):
    ...     bar.update(step, {"loss": 1.0 / step})
    >>> print(out.getvalue(), end="")  # doctest: +ELLIPSIS
    4/4 [==========] - ...s/step - loss: 0.2500
    """

    def __init__(self, target: int | None, width: int = 30, interval: float = 0.05,
                 stream: TextIO | None = None, dynamic: bool | None = None,
                 unit_name: str = "step"):
        self.target = None if target is None else _check_int(target, "target")
        self.width = _check_int(width, "width", 1)
        self.interval = _check_real(interval, "interval")
        if self.interval < 0:
            raise ValueError(f"interval must be >= 0, got {interval}")
        self.stream = sys.stdout if stream is None else stream
        self.dynamic = _is_interactive(self.stream) if dynamic is None else bool(dynamic)
        self.unit_name = unit_name
        self._start = time.perf_counter()
        self._last_draw = -math.inf
        self._current = 0
        self._values: Mapping[str, Any] = {}
        self._prev_width = 0
        self._finalized = False

    def update(self, current: int, values: Mapping[str, Any] | Iterable | None = None,
               finalize: bool | None = None) -> None:
        """Set the progress to ``current`` steps and the shown ``values``.

        Parameters
        ----------
        current : int
            Steps done so far.
        values : dict or list of (name, value) pairs, optional
            Metrics to show; kept until the next call that passes some.
        finalize : bool, optional
            Write the final line (with a newline). Default: ``current >= target``.
        """
        self._current = current
        if values is not None:
            self._values = values
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        if not finalize:
            if not self.dynamic:
                return
            now = time.perf_counter()
            if now - self._last_draw < self.interval:
                return
            self._last_draw = now
            self._draw(self._line(now, final=False), end="")
        elif not self._finalized:
            self._finalized = True
            self._draw(self._line(time.perf_counter(), final=True), end="\n")

    def _line(self, now: float, final: bool) -> str:
        values = self._values
        if not isinstance(values, Mapping):
            values = dict(values)
        current, target = self._current, self.target
        elapsed = now - self._start
        if target is None and final:
            target = current
        if target is None:
            head = f"{current:7d}/Unknown"
        else:
            digits = len(str(target))
            prog = 1.0 if target == 0 else min(current / target, 1.0)
            filled = int(self.width * prog)
            bar = "=" * max(filled - 1, 0)
            if filled > 0:
                bar += "=" if current >= target else ">"
            bar += "." * (self.width - filled)
            head = f"{current:{digits}d}/{target} [{bar}]"
        per_unit = elapsed / current if current else 0.0
        if final:
            info = f" - {_format_duration(elapsed)}"
            if current:
                info += " " + _format_per_unit(per_unit, self.unit_name)
        elif target is not None:
            info = f" - ETA: {_format_eta(per_unit * max(target - current, 0))}"
        else:
            info = f" - {_format_duration(elapsed)}"
        return head + info + _format_logs(values)

    def _draw(self, line: str, end: str) -> None:
        if self.dynamic:
            pad = max(self._prev_width - len(line), 0)
            self._prev_width = len(line)
            text = "\r" + line + " " * pad + end
        else:
            text = line + end
        self.stream.write(text)
        flush = getattr(self.stream, "flush", None)
        if flush is not None:
            flush()


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
        self.verbose = None if verbose is None else _check_verbose(verbose)
        self.stream = stream
        self.interval = _check_real(interval, "interval")
        self.dynamic = dynamic
        self._bar: Progbar | None = None
        self._epoch_start = 0.0
        self._epoch_verbose = 0

    def _stream(self) -> TextIO:
        return sys.stdout if self.stream is None else self.stream

    def on_epoch_begin(self, epoch, logs=None):
        verbose = self.verbose
        if verbose is None:
            verbose = _check_verbose(self.params.get("verbose", 1), 'params["verbose"]')
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
        """
        bar = self._bar
        if bar is not None:
            bar.update(step, logs, finalize=False)

    def on_epoch_end(self, epoch, logs=None):
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


class EarlyStopping(Callback):
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
        the name contains "acc" (accuracy), "min" otherwise.
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

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0.0, patience: int = 0,
                 mode: str = "auto", baseline: float | None = None,
                 restore_best_weights: bool = False, start_from_epoch: int = 0,
                 verbose: int = 0):
        super().__init__()
        self.monitor = _check_monitor(monitor)
        self.min_delta = abs(_check_real(min_delta, "min_delta"))
        self.patience = _check_int(patience, "patience")
        self.mode = _check_mode(mode, self.monitor)
        self.baseline = None if baseline is None else _check_real(baseline, "baseline")
        self.restore_best_weights = bool(restore_best_weights)
        self.start_from_epoch = _check_int(start_from_epoch, "start_from_epoch")
        self.verbose = _check_int(verbose, "verbose")
        self._reset()

    def _reset(self) -> None:
        self.wait = 0
        self.stopped_epoch = 0
        self.best: float | None = None
        self.best_epoch = 0
        self.best_weights: list[np.ndarray] | None = None

    def _is_improvement(self, value: float, reference: float | None) -> bool:
        if math.isnan(value):
            return False
        if reference is None:
            return True
        if self.mode == "min":
            return value + self.min_delta < reference
        return value - self.min_delta > reference

    def _copy_weights(self) -> list[np.ndarray]:
        return [np.array(w, copy=True) for w in self.model.get_weights()]

    def on_train_begin(self, logs=None):
        self._reset()

    def on_epoch_end(self, epoch, logs=None):
        current = _monitor_value(logs, self.monitor, "Early stopping")
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
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            _print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                _print("Restoring model weights from the end of the best epoch: "
                       f"{self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)

    def __repr__(self) -> str:
        return (f"EarlyStopping(monitor={self.monitor!r}, min_delta={self.min_delta}, "
                f"patience={self.patience}, mode={self.mode!r})")


def _monitor_value(logs: Mapping[str, Any] | None, monitor: str, who: str) -> float | None:
    logs = logs or {}
    if monitor not in logs:
        warnings.warn(f"{who} is conditioned on metric {monitor!r}, which is not in the "
                      f"logs; available metrics: {', '.join(logs) or '(none)'}",
                      RuntimeWarning, stacklevel=3)
        return None
    value = _scalar(logs[monitor])
    if value is None:
        warnings.warn(f"{who}: logs[{monitor!r}] is not a number ({logs[monitor]!r}); ignored",
                      RuntimeWarning, stacklevel=3)
    return value


def _n_positional(fn: Callable) -> int | None:
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
        self.verbose = _check_int(verbose, "verbose")
        n = _n_positional(schedule)
        self._two_args = n is None or n >= 2

    def _optimizer(self) -> Any:
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is None or not hasattr(optimizer, "learning_rate"):
            raise ValueError("LearningRateScheduler needs model.optimizer.learning_rate; "
                             "compile the model with an optimizer first")
        return optimizer

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self._optimizer()
        if self._two_args:
            new = self.schedule(epoch, float(optimizer.learning_rate))
        else:
            new = self.schedule(epoch)
        lr = _scalar(new) if not isinstance(new, bool) else None
        if lr is None or not math.isfinite(lr) or lr <= 0:
            raise ValueError("schedule must return a finite positive learning rate, "
                             f"got {new!r} at epoch {epoch}")
        optimizer.learning_rate = lr
        if self.verbose > 0:
            _print(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to {lr}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(self._optimizer().learning_rate)


class ModelCheckpoint(Callback):
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
        With ``save_best_only``, save only once ``monitor`` beats this value.

    Attributes
    ----------
    best : float
        Best monitored value so far.
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

    def __init__(self, filepath: str | os.PathLike, monitor: str = "val_loss",
                 save_best_only: bool = False, mode: str = "auto",
                 save_freq: str | int = "epoch", verbose: int = 0,
                 initial_value_threshold: float | None = None):
        super().__init__()
        if not isinstance(filepath, (str, os.PathLike)):
            raise TypeError(f"filepath must be a str or os.PathLike, got {type(filepath).__name__}")
        self.filepath = os.fspath(filepath)
        try:
            list(string.Formatter().parse(self.filepath))
        except ValueError as exc:
            raise ValueError(f"filepath {self.filepath!r} is not a valid format string: "
                             f"{exc}") from None
        self.monitor = _check_monitor(monitor)
        self.save_best_only = bool(save_best_only)
        self.mode = _check_mode(mode, self.monitor)
        if save_freq != "epoch":
            if isinstance(save_freq, str):
                raise ValueError(f"save_freq must be 'epoch' or a positive int, got {save_freq!r}")
            save_freq = _check_int(save_freq, "save_freq", 1)
        self.save_freq = save_freq
        self.verbose = _check_int(verbose, "verbose")
        self.initial_value_threshold = (None if initial_value_threshold is None else
                                        _check_real(initial_value_threshold,
                                                    "initial_value_threshold"))
        self.best = self._initial_best()
        self.last_path: str | None = None
        self._epoch = 0
        self._batches_since_save = 0

    def _initial_best(self) -> float:
        if self.initial_value_threshold is not None:
            return self.initial_value_threshold
        return math.inf if self.mode == "min" else -math.inf

    def _implements_train_batch_hooks(self) -> bool:
        return self.save_freq != "epoch"

    def on_train_begin(self, logs=None):
        self._batches_since_save = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self._batches_since_save += 1
        if self._batches_since_save >= self.save_freq:
            self._batches_since_save = 0
            self._save(self._epoch, batch, logs or {})

    def on_epoch_end(self, epoch, logs=None):
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

    def _save(self, epoch: int, batch: int | None, logs: Mapping[str, Any]) -> None:
        if self.save_best_only:
            current = _monitor_value(logs, self.monitor, "ModelCheckpoint(save_best_only=True)")
            if current is None:
                return
            better = current < self.best if self.mode == "min" else current > self.best
            if not better:
                if self.verbose > 0:
                    _print(f"Epoch {epoch + 1}: {self.monitor} did not improve from "
                           f"{self.best:.5f}")
                return
            path = self._path(epoch, batch, logs)
            if self.verbose > 0:
                _print(f"Epoch {epoch + 1}: {self.monitor} improved from {self.best:.5f} to "
                       f"{current:.5f}, saving model to {path}")
            self.best = current
        else:
            path = self._path(epoch, batch, logs)
            if self.verbose > 0:
                _print(f"Epoch {epoch + 1}: saving model to {path}")
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        self.model.save(path)
        self.last_path = path


class CSVLogger(Callback):
    """Write the epoch logs to a CSV file, one row per epoch.

    The header is ``epoch`` then the log keys of the first epoch, sorted; a key
    missing in a later epoch is written ``NA``. The file is flushed every epoch
    and closed at the end of training.

    Parameters
    ----------
    filename : str or os.PathLike
        The CSV file.
    separator : str, default ","
        One-character field separator.
    append : bool, default False
        Append to an existing file (no second header) instead of overwriting it.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "log.csv")
    >>> logger = CSVLogger(path)
    >>> logger.on_train_begin()
    >>> logger.on_epoch_end(0, {"loss": 0.5, "accuracy": 0.75})
    >>> logger.on_epoch_end(1, {"loss": 0.25, "accuracy": 0.875})
    >>> logger.on_train_end()
    >>> print(open(path).read(), end="")
    epoch,accuracy,loss
    0,0.75,0.5
    1,0.875,0.25
    """

    def __init__(self, filename: str | os.PathLike, separator: str = ",", append: bool = False):
        super().__init__()
        if not isinstance(filename, (str, os.PathLike)):
            raise TypeError(f"filename must be a str or os.PathLike, got {type(filename).__name__}")
        if not isinstance(separator, str) or len(separator) != 1:
            raise ValueError(f"separator must be a single character, got {separator!r}")
        self.filename = os.fspath(filename)
        self.separator = separator
        self.append = bool(append)
        self.keys: list[str] | None = None
        self._file: TextIO | None = None
        self._writer: Any = None
        self._write_header = True
        self._ignored: set[str] = set()

    def on_train_begin(self, logs=None):
        self.close()
        self._write_header = not (self.append and os.path.isfile(self.filename)
                                  and os.path.getsize(self.filename) > 0)
        self._file = open(self.filename, "a" if self.append else "w", newline="")
        self._writer = csv.writer(self._file, delimiter=self.separator, lineterminator="\n")
        self.keys = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self._file is None:  # used without on_train_begin
            self.on_train_begin()
        if self.keys is None:
            self.keys = sorted(logs)
            if self._write_header:
                self._writer.writerow(["epoch", *self.keys])
        extra = set(logs).difference(self.keys, self._ignored)
        if extra:
            self._ignored |= extra
            warnings.warn(f"CSVLogger: keys {sorted(extra)} were not in the first epoch's logs "
                          "and are not written", RuntimeWarning, stacklevel=2)
        self._writer.writerow([epoch, *(_csv_value(logs.get(k, "NA")) for k in self.keys)])
        self._file.flush()

    def on_train_end(self, logs=None):
        self.close()

    def close(self) -> None:
        """Close the file (done at the end of training)."""
        if self._file is not None:
            self._file.close()
        self._file = None
        self._writer = None


def _csv_value(value: Any) -> Any:
    if isinstance(value, str):
        return value
    arr = np.asarray(value)
    if arr.ndim == 0:
        return value if np.isscalar(value) else arr[()]
    return "[" + ", ".join(str(v) for v in arr.ravel().tolist()) + "]"


class TerminateOnNaN(Callback):
    """Stop training as soon as the loss is NaN or infinite.

    Checks ``logs["loss"]`` at every epoch end, and after every mini-batch when
    the model calls the batch hooks (this callback alone does not make it).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> model = SimpleNamespace(stop_training=False)
    >>> cb = TerminateOnNaN()
    >>> cb.set_model(model)
    >>> cb.on_epoch_end(4, {"loss": float("nan")})
    Epoch 5: invalid loss nan, terminating training
    >>> model.stop_training
    True
    """

    def _check(self, logs: Mapping[str, Any] | None, where: str) -> None:
        loss = _scalar((logs or {}).get("loss", 0.0))
        if loss is not None and not math.isfinite(loss):
            _print(f"{where}: invalid loss {loss}, terminating training")
            self.model.stop_training = True

    def on_train_batch_end(self, batch, logs=None):
        self._check(logs, f"Batch {batch}")

    def on_epoch_end(self, epoch, logs=None):
        self._check(logs, f"Epoch {epoch + 1}")

    def _implements_train_batch_hooks(self) -> bool:
        return False  # the epoch check suffices; the batch check is a bonus


_LAMBDA_HOOKS = ("on_epoch_begin", "on_epoch_end", "on_train_begin", "on_train_end",
                 "on_train_batch_begin", "on_train_batch_end", "on_test_begin", "on_test_end",
                 "on_test_batch_begin", "on_test_batch_end", "on_predict_begin",
                 "on_predict_end", "on_predict_batch_begin", "on_predict_batch_end")


class LambdaCallback(Callback):
    """A callback made of plain functions.

    Each argument replaces the hook of the same name and is called with the
    same positional arguments: ``on_epoch_end(epoch, logs)``,
    ``on_train_begin(logs)``, ``on_train_batch_end(batch, logs)``... Other
    hooks (``on_test_batch_end``...) can be given as keywords too.

    Examples
    --------
    >>> losses = []
    >>> cb = LambdaCallback(on_epoch_end=lambda epoch, logs: losses.append(logs["loss"]))
    >>> CallbackList([cb], verbose=0).needs_batch_hooks
    False
    >>> cb.on_epoch_end(0, {"loss": 0.5})
    >>> losses
    [0.5]
    """

    def __init__(self, on_epoch_begin: Callable | None = None,
                 on_epoch_end: Callable | None = None,
                 on_train_begin: Callable | None = None,
                 on_train_end: Callable | None = None,
                 on_train_batch_begin: Callable | None = None,
                 on_train_batch_end: Callable | None = None,
                 on_test_begin: Callable | None = None,
                 on_test_end: Callable | None = None,
                 on_predict_begin: Callable | None = None,
                 on_predict_end: Callable | None = None,
                 **other_hooks: Callable):
        super().__init__()
        hooks = dict(on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end,
                     on_train_begin=on_train_begin, on_train_end=on_train_end,
                     on_train_batch_begin=on_train_batch_begin,
                     on_train_batch_end=on_train_batch_end,
                     on_test_begin=on_test_begin, on_test_end=on_test_end,
                     on_predict_begin=on_predict_begin, on_predict_end=on_predict_end)
        for name in other_hooks:
            if name not in _LAMBDA_HOOKS:
                raise TypeError(f"LambdaCallback got an unknown hook {name!r}; "
                                f"known: {', '.join(_LAMBDA_HOOKS)}")
        hooks.update(other_hooks)
        for name, fn in hooks.items():
            if fn is None:
                continue
            if not callable(fn):
                raise TypeError(f"{name} must be callable, got {type(fn).__name__}")
            setattr(self, name, fn)  # instance attribute: not marked default
