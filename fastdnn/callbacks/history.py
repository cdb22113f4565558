"""``History``: the record of a training run that ``fit`` returns.

Examples
--------
>>> h = History()
>>> h.on_epoch_end(0, {"loss": 0.5})
>>> h.history
{'loss': [0.5]}
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ._utils import as_scalar
from .callback import Callback

__all__ = ["History"]


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
    engine : {"compiled", "python"} or None
        The trainer ``fit`` chose (``fit(engine=...)``); None outside ``fit``.

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
        self.history: dict[str, list[Any]] = {}
        self.epoch: list[int] = []
        self.engine: str | None = None
        self._chunks: list[np.ndarray] = []
        self._batch_loss: np.ndarray | None = np.empty(0)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Append ``epoch`` and every entry of ``logs`` (numbers become floats)."""
        self.epoch.append(int(epoch))
        for key, value in (logs or {}).items():
            x = as_scalar(value)
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
        """The cost of every mini-batch so far, in order (float64)."""
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
