"""``LambdaCallback``: a callback made of plain functions.

Examples
--------
>>> LambdaCallback(on_train_begin=lambda logs: None).on_train_begin({})
"""
from __future__ import annotations

from typing import Callable

from .callback import Callback

__all__ = ["LambdaCallback"]

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
    >>> from fastdnn.callbacks import CallbackList
    >>> losses = []
    >>> cb = LambdaCallback(on_epoch_end=lambda epoch, logs: losses.append(logs["loss"]))
    >>> CallbackList([cb], verbose=0).needs_batch_hooks
    False
    >>> cb.on_epoch_end(0, {"loss": 0.5})
    >>> losses
    [0.5]
    """

    def __init__(self, on_epoch_begin: Callable[..., object] | None = None,
                 on_epoch_end: Callable[..., object] | None = None,
                 on_train_begin: Callable[..., object] | None = None,
                 on_train_end: Callable[..., object] | None = None,
                 on_train_batch_begin: Callable[..., object] | None = None,
                 on_train_batch_end: Callable[..., object] | None = None,
                 on_test_begin: Callable[..., object] | None = None,
                 on_test_end: Callable[..., object] | None = None,
                 on_predict_begin: Callable[..., object] | None = None,
                 on_predict_end: Callable[..., object] | None = None,
                 **other_hooks: Callable[..., object]):
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
