"""``TerminateOnNaN``: stop training as soon as the loss is NaN or infinite.

Examples
--------
>>> TerminateOnNaN()
TerminateOnNaN()
"""
from __future__ import annotations

import math
from typing import Any, Mapping

from ._utils import as_scalar, print_line
from .callback import Callback

__all__ = ["TerminateOnNaN"]


class TerminateOnNaN(Callback):
    """Stop training as soon as the loss is NaN or infinite.

    Checks ``logs["loss"]`` at every epoch end, and after every mini-batch when
    the model calls the batch hooks (this callback alone does not make it).
    ``Sequential.fit`` itself stops at the first mini-batch whose loss is not finite,
    before its update (``on_nan="warn"``, the default, or ``"raise"``); this callback
    is Keras' way of saying so, and matters with ``on_nan="continue"``.

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
        loss = as_scalar((logs or {}).get("loss", 0.0))
        if loss is not None and not math.isfinite(loss):
            print_line(f"{where}: invalid loss {loss}, terminating training")
            self.model.stop_training = True

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._check(logs, f"Batch {batch}")

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._check(logs, f"Epoch {epoch + 1}")

    def _implements_train_batch_hooks(self) -> bool:
        return False  # the epoch check suffices; the batch check is a bonus
