"""The callbacks of a data-parallel ``fit``, as every rank sees them.

Rank 0 holds the user's callbacks (progress output, ``ModelCheckpoint``,
``CSVLogger``, ``EarlyStopping``, schedules, ...); every other rank holds only its
``History``. :class:`Shared` wraps each rank's ``CallbackList`` so that, around
each hook, the ranks meet: the epoch's metrics and validation logs are reduced
before ``on_epoch_end`` (every rank logs the same numbers), and after each hook rank
0's decisions (``stop_training`` and the learning rate) are broadcast. A callback
that stops training during an epoch stops it at that epoch's end, on every rank.

Examples
--------
>>> Shared.__name__
'Shared'
"""
from __future__ import annotations

from typing import Any

__all__ = ["Shared"]


class Shared:
    """A ``CallbackList`` whose epoch hooks keep the ranks in step (see the module)."""

    def __init__(self, callbacks: Any, session: Any, model: Any):
        self.inner, self.session, self.model = callbacks, session, model
        self.stop_requested = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.inner.on_train_begin(logs)
        self._follow()

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.session.reseed(epoch)
        self.inner.on_epoch_begin(epoch, logs)
        self._follow()

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self.inner.on_train_batch_end(batch, logs)
        if self.model.stop_training:   # rank 0 alone runs per-batch hooks: stop at the end
            self.stop_requested, self.model.stop_training = True, False

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = {} if logs is None else logs
        self.session.heartbeat()
        self.session.average_statistics(self.model)
        self.session.reduce_logs(self.model, logs)
        self.inner.on_epoch_end(epoch, logs)
        if self.stop_requested:
            self.model.stop_training = True
        self._follow()
        if self.session.check_weights:
            self.session.compare_weights(self.model, epoch)

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self.inner.on_train_end(logs)
        self.session.heartbeat()

    def _follow(self) -> None:
        self.session.follow_root(self.model)
