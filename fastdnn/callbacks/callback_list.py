"""``CallbackList``: what a model talks to; calls every callback's hooks in order.

Examples
--------
>>> cbs = CallbackList(None, verbose=0)
>>> cbs.callbacks
[History(epochs=0, keys=[])]
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable

from .callback import Callback
from .history import History
from .progbar_logger import ProgbarLogger, check_verbose

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["CallbackList"]


class CallbackList(Callback):
    """Calls every callback's hooks in order; what a model talks to.

    Per-batch Python calls cost time next to a compiled training step, so a
    model asks :attr:`needs_batch_hooks` and calls the ``on_train_batch_*``
    hooks only when some callback listens. The progress bar does not need
    them: the model calls :meth:`ProgbarLogger.update` itself.

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
        verbose = check_verbose(verbose)
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
    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_train_begin(logs)

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_train_end(logs)

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_epoch_begin(epoch, logs)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_epoch_end(epoch, logs)

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_train_batch_begin(batch, logs)

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_train_batch_end(batch, logs)

    def on_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self.on_train_batch_begin(batch, logs)

    def on_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self.on_train_batch_end(batch, logs)

    def on_test_begin(self, logs: dict[str, Any] | None = None) -> None:
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_test_begin(logs)

    def on_test_end(self, logs: dict[str, Any] | None = None) -> None:
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_test_end(logs)

    def on_test_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_test_batch_begin(batch, logs)

    def on_test_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_test_batch_end(batch, logs)

    def on_predict_begin(self, logs: dict[str, Any] | None = None) -> None:
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_predict_begin(logs)

    def on_predict_end(self, logs: dict[str, Any] | None = None) -> None:
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_predict_end(logs)

    def on_predict_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_predict_batch_begin(batch, logs)

    def on_predict_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_predict_batch_end(batch, logs)

    def __iter__(self) -> Iterator[Callback]:
        return iter(self.callbacks)

    def __len__(self) -> int:
        return len(self.callbacks)

    def __repr__(self) -> str:
        return f"CallbackList({self.callbacks!r})"
