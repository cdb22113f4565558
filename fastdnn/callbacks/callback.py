"""``Callback``: the base class, whose hooks all do nothing.

Examples
--------
>>> class Printer(Callback):
...     def on_epoch_end(self, epoch, logs=None):
...         print(f"epoch {epoch + 1}: loss {logs['loss']:.2f}")
>>> Printer().on_epoch_end(0, {"loss": 0.25})
epoch 1: loss 0.25
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from typing import TypeVar

    _F = TypeVar("_F", bound=Callable[..., Any])

__all__ = ["Callback"]


def _default(fn: _F) -> _F:
    """Mark a base-class hook as a no-op, so overriding it can be detected."""
    fn._fastdnn_default_hook = True  # type: ignore[attr-defined]  # a function attribute
    return fn


def _is_default(method: Any) -> bool:
    return getattr(method, "_fastdnn_default_hook", False)


class Callback:
    """Base class of callbacks; every hook is a no-op.

    Subclasses override the hooks they need. ``model`` is the model being
    trained (set by :meth:`set_model`); ``params`` holds ``epochs``, ``steps``
    (mini-batches per epoch), ``samples`` and ``verbose`` (set by
    :meth:`set_params`). ``logs`` passed to the epoch hooks hold the epoch's
    metrics (``loss``, ``accuracy``, ``val_loss``...); a callback may add entries
    in ``on_epoch_end`` and the callbacks after it (the :class:`History`) see them.

    Epochs and batches are numbered from 0 in the hooks (``on_epoch_end(0, logs)``
    is the first epoch); printed messages and file names count from 1, as in Keras.

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
